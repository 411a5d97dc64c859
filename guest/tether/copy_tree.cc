#include "guest/tether/copy_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <vector>

#include "common/files.h"
#include "common/unique_fd.h"

namespace vic::tether {

namespace {
Status copyFile(const std::string& src, const std::string& dst, const struct stat& st) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in) return Error::fromErrno("opening " + src);
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 07777));
  if (!out) return Error::fromErrno("creating " + dst);
  char buf[65536];
  for (ssize_t n; (n = ::read(in.get(), buf, sizeof buf)) != 0;) {
    if (n < 0) return Error::fromErrno("reading " + src);
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out.get(), buf + off, static_cast<size_t>(n - off));
      if (w < 0) return Error::fromErrno("writing " + dst);
      off += w;
    }
  }
  return ok();
}

// Owner, mode (not for links) and times, after the content is in place.
Status finish(const std::string& path, const struct stat& st) {
  if (::lchown(path.c_str(), st.st_uid, st.st_gid) != 0) return Error::fromErrno("chown " + path);
  if (!S_ISLNK(st.st_mode) && ::chmod(path.c_str(), st.st_mode & 07777) != 0) return Error::fromErrno("chmod " + path);
  timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return Error::fromErrno("times of " + path);
  return ok();
}

Status copyEntry(const std::string& src, const std::string& dst) {
  struct stat st{};
  if (::lstat(src.c_str(), &st) != 0) return Error::fromErrno("stat " + src);
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(dst.c_str(), 0700) != 0 && errno != EEXIST) return Error::fromErrno("mkdir " + dst);
    for (const auto& n : dirEntries(src)) {
      if (auto s = copyEntry(src + "/" + n, dst + "/" + n); !s) return s;
    }
  } else if (S_ISREG(st.st_mode)) {
    if (auto s = copyFile(src, dst, st); !s) return s;
  } else if (S_ISLNK(st.st_mode)) {
    std::vector<char> target(static_cast<size_t>(st.st_size) + 1);
    ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
    if (n < 0) return Error::fromErrno("readlink " + src);
    if (::symlink(std::string(target.data(), static_cast<size_t>(n)).c_str(), dst.c_str()) != 0) return Error::fromErrno("symlink " + dst);
  } else if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) {  // devices, fifos, sockets
    return Error::fromErrno("mknod " + dst);
  }
  return finish(dst, st);
}
}  // namespace

Status copyTree(const std::string& src, const std::string& dst) { return copyEntry(src, dst); }

bool emptyVolume(const std::string& dir) {
  for (const auto& n : dirEntries(dir)) {
    if (n != "lost+found") return false;
  }
  return true;
}

bool hasEntries(const std::string& dir) { return !dirEntries(dir).empty(); }

}  // namespace vic::tether
