#include "common/guest_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sstream>
#include <vector>

namespace vic {
namespace {

int openat2InRoot(int root, const std::string& rel, uint64_t flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
}

// "a//b/./c/" -> {"a", "b", "c"}; ".." stays (the kernel resolves it inside the root).
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> parts;
  std::istringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (!part.empty() && part != ".") parts.push_back(part);
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "/" : "") + parts[i];
  return out.empty() ? "." : out;
}

Error resolveError(const std::string& what, const std::string& path) {
  if (errno == ENOENT || errno == ENOTDIR) return Error(Errc::kNotFound, what + " " + path + ": no such file or directory");
  if (errno == EXDEV || errno == ELOOP) return Error(Errc::kInvalidArgument, what + " " + path + ": refused (" + std::strerror(errno) + ")");
  return Error::fromErrno(what + " " + path);
}

// Unlinks every non-directory in `dirFd` and returns the subdirectories' names.
Result<std::vector<std::string>> unlinkFilesIn(int dirFd) {
  auto names = listDirFd(dirFd);
  if (!names) return names;
  std::vector<std::string> dirs;
  for (auto& n : *names) {
    struct stat st{};
    if (::fstatat(dirFd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      dirs.push_back(std::move(n));
    } else if (::unlinkat(dirFd, n.c_str(), 0) != 0 && errno != ENOENT) {
      return Error::fromErrno("removing " + n);
    }
  }
  return dirs;
}

}  // namespace

Result<std::vector<std::string>> listDirFd(int dirFd) {
  UniqueFd copy(::dup(dirFd));
  DIR* d = copy ? ::fdopendir(copy.get()) : nullptr;
  if (!d) return Error::fromErrno("listing a directory");
  copy.release();
  ::rewinddir(d);
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

Status removeTreeAt(int dirFd, const std::string& name) {
  struct stat st{};
  if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? ok() : Error::fromErrno("removing " + name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirFd, name.c_str(), 0) != 0 && errno != ENOENT) return Error::fromErrno("removing " + name);
    return ok();
  }
  // Depth-first with one open directory at a time: each level keeps only the names of its
  // subdirectories still to visit, and ".." of the directory we are in leads back up.
  struct Level {
    std::string name;
    std::vector<std::string> subdirs;
  };
  UniqueFd cur(::openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!cur) return Error::fromErrno("opening " + name + " to remove it");
  auto first = unlinkFilesIn(cur.get());
  if (!first) return std::move(first).error().wrap("removing " + name);
  std::vector<Level> stack{{name, std::move(*first)}};
  while (!stack.empty()) {
    Level& top = stack.back();
    if (!top.subdirs.empty()) {
      std::string sub = std::move(top.subdirs.back());
      top.subdirs.pop_back();
      UniqueFd next(::openat(cur.get(), sub.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next) {  // not a directory after all: remove whatever it is
        if (::unlinkat(cur.get(), sub.c_str(), 0) != 0 && errno != ENOENT) return Error::fromErrno("removing " + sub);
        continue;
      }
      auto dirs = unlinkFilesIn(next.get());
      if (!dirs) return std::move(dirs).error().wrap("removing " + sub);
      cur = std::move(next);
      stack.push_back({std::move(sub), std::move(*dirs)});
      continue;
    }
    std::string done = std::move(top.name);
    stack.pop_back();
    UniqueFd up(stack.empty() ? ::dup(dirFd) : ::openat(cur.get(), "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!up) return Error::fromErrno("going back up from " + done);
    if (::unlinkat(up.get(), done.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) return Error::fromErrno("removing directory " + done);
    cur = std::move(up);
  }
  return ok();
}

Result<GuestRoot> GuestRoot::open(const std::string& hostDir) {
  UniqueFd fd(::open(hostDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("opening the guest filesystem at " + hostDir);
  return GuestRoot(std::move(fd));
}

Result<UniqueFd> GuestRoot::openPath(const std::string& path, int flags) const {
  UniqueFd fd(openat2InRoot(root_.get(), path, static_cast<uint64_t>(flags)));
  if (!fd) return resolveError("opening", path);
  return fd;
}

std::string GuestRoot::Slot::procPath() const { return "/proc/self/fd/" + std::to_string(dir.get()) + "/" + base; }

Result<GuestRoot::Slot> GuestRoot::slot(const std::string& path, bool createParents) const {
  auto parts = components(path);
  Slot s;
  if (parts.empty()) {
    s.dir.reset(::dup(root_.get()));
    s.base = ".";
    return s;
  }
  s.base = parts.back();
  if (s.base == "..") return Error(Errc::kInvalidArgument, "the name " + path + " ends in ..");
  std::string parent = join(parts, parts.size() - 1);
  s.dir.reset(openat2InRoot(root_.get(), parent, O_RDONLY | O_DIRECTORY));
  if (s.dir || !createParents || errno != ENOENT) {
    if (!s.dir) return resolveError("resolving the directory of", path);
    return s;
  }
  // Make the missing parents one at a time, each in the directory resolved before it.
  UniqueFd cur(::dup(root_.get()));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    UniqueFd next(openat2InRoot(root_.get(), join(parts, i + 1), O_RDONLY | O_DIRECTORY));
    if (!next && errno == ENOENT) {
      if (::mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) return Error::fromErrno("creating " + join(parts, i + 1));
      next.reset(openat2InRoot(root_.get(), join(parts, i + 1), O_RDONLY | O_DIRECTORY));
    }
    if (!next) return resolveError("creating the directory", join(parts, i + 1));
    cur = std::move(next);
  }
  s.dir = std::move(cur);
  return s;
}

Status GuestRoot::removeAll(const std::string& path) const {
  auto s = slot(path);
  if (!s) return s.error().code() == Errc::kNotFound ? ok() : std::move(s).error();
  if (s->base == ".") return Error(Errc::kInvalidArgument, "refusing to remove the root of a guest filesystem");
  return removeTreeAt(s->dir.get(), s->base);
}

Status GuestRoot::clearDir(const std::string& path, const std::function<bool(const std::string&)>& keep) const {
  auto dir = openPath(path, O_RDONLY | O_DIRECTORY);
  if (!dir) return dir.error().code() == Errc::kNotFound ? ok() : std::move(dir).error();
  auto names = listDirFd(dir->get());
  if (!names) return std::move(names).error().wrap("clearing " + path);
  for (const auto& n : *names) {
    if (keep(n)) continue;
    if (auto st = removeTreeAt(dir->get(), n); !st) return std::move(st).error().wrap("clearing " + path);
  }
  return ok();
}

}  // namespace vic
