#include "common/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "common/unique_fd.h"

#include <algorithm>
#include <climits>

namespace vic {

Status writeFileAtomically(const std::string& path, const std::string& content, unsigned mode) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 16 && !fd; ++attempt) {
    tmp = path + ".tmp-" + std::to_string(rng());
    fd.reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd && errno != EEXIST) return Error::fromErrno("creating " + tmp);
  }
  if (!fd) return Error(Errc::kIo, "creating a temporary file beside " + path);
  auto fail = [&](const std::string& what) {
    Error e = Error::fromErrno(what + " " + tmp);
    ::unlink(tmp.c_str());
    return e;
  };
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("writing (disk full?)");
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) return fail("setting the mode of");
  if (::close(fd.release()) != 0) return fail("closing");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("renaming");
  return ok();
}

std::vector<std::string> dirEntries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(std::move(n));
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string linkTarget(const std::string& path) {
  char target[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), target, sizeof target);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
}

}  // namespace vic
