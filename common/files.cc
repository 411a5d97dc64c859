#include "common/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include <algorithm>
#include <climits>

namespace vic {

Result<std::pair<UniqueFd, std::string>> createUniqueFile(const std::string& prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 16; ++attempt) {
    char suffix[17];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(rng()));
    std::string path = prefix + suffix;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd) return std::make_pair(std::move(fd), std::move(path));
    if (errno != EEXIST) return Error::fromErrno("creating " + path);
  }
  return Error(Errc::kIo, "creating a new file named " + prefix + "...: every name tried exists");
}

Status writeAll(int fd, const char* data, size_t size, const std::string& what) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::fromErrno("writing " + what + " (disk full?)");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return ok();
}

Status writeFileAtomically(const std::string& path, const std::string& content, unsigned mode) {
  auto made = createUniqueFile(path + ".tmp-");
  if (!made) return std::move(made).error();
  UniqueFd fd = std::move(made->first);
  const std::string tmp = std::move(made->second);
  auto fail = [&](Error e) {
    ::unlink(tmp.c_str());
    return e;
  };
  if (auto st = writeAll(fd.get(), content.data(), content.size(), tmp); !st) return fail(std::move(st).error());
  if (::fchmod(fd.get(), mode) != 0) return fail(Error::fromErrno("setting the mode of " + tmp));
  if (::close(fd.release()) != 0) return fail(Error::fromErrno("closing " + tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(Error::fromErrno("renaming " + tmp));
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
