#include "runtime/portlayer/container_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

namespace vic::pl {
namespace {

std::string trimSlashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

Result<ContainerFs> ContainerFs::open(const std::string& root, std::string who) {
  auto r = GuestRoot::open(root);
  if (!r) return std::move(r).error().wrap("opening the filesystem of container " + who);
  return ContainerFs(std::move(*r), std::move(who));
}

std::string ContainerFs::Resolved::hostPath() const {
  return "/proc/self/fd/" + std::to_string(dir.get()) + "/" + base;
}

// "/a/b/c" -> (dir /a/b, base c); "/a/b/" and "/a/b/." -> (dir /a/b, base "."): a trailing slash
// means the directory itself, reached through any symlink (as the kernel and docker do). In an
// archive "/a/b/" is still named "b", and "/a/b/." is named ".".
Result<ContainerFs::Resolved> ContainerFs::resolve(const std::string& path) const {
  Resolved r;
  std::string p = path.empty() ? "/" : path;
  bool itself = p.back() == '/' || p == "." || (p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0);
  std::string dirPath;
  if (itself) {
    dirPath = p;
    r.base = ".";
    r.name = vsock::pathBase(p) == "/" ? "." : vsock::pathBase(p);
  } else {
    p = trimSlashes(p);
    auto slash = p.find_last_of('/');
    dirPath = slash == std::string::npos ? "/" : p.substr(0, slash + 1);
    r.base = slash == std::string::npos ? p : p.substr(slash + 1);
    if (r.base == "..") return Error(Errc::kInvalidArgument, "invalid path " + path);
    r.name = r.base;
  }
  auto dir = root_.openPath(dirPath, O_RDONLY | O_DIRECTORY);
  if (!dir) return dir.error().code() == Errc::kNotFound ? Error(Errc::kNotFound, notFound(path))
                                                         : std::move(dir).error().wrap("in container " + who_);
  r.dir = std::move(*dir);
  return r;
}

Result<vsock::FileStat> ContainerFs::stat(const std::string& path) const {
  auto r = resolve(path);
  if (!r) return std::move(r).error();
  return vsock::statPath(r->hostPath(), vsock::pathBase(path), notFound(path));
}

Result<std::unique_ptr<vsock::ArchiveSource>> ContainerFs::read(const std::string& path, vsock::SourceOptions opts) const {
  auto r = resolve(path);
  if (!r) return std::move(r).error();
  if (opts.rootName.empty()) opts.rootName = r->name;
  auto src = vsock::ArchiveSource::open(r->hostPath(), notFound(path), opts);
  if (!src) return std::move(src).error();
  // The source reads by path below the directory; keep the directory open while it does.
  (*src)->keepOpen(std::move(r->dir));
  return src;
}

Result<UniqueFd> ContainerFs::openDir(const std::string& path) const {
  auto fd = root_.openPath(path, O_RDONLY);
  if (!fd) return fd.error().code() == Errc::kNotFound ? Error(Errc::kNotFound, notFound(path))
                                                       : std::move(fd).error().wrap("in container " + who_);
  struct stat st{};
  if (::fstat(fd->get(), &st) != 0 || !S_ISDIR(st.st_mode)) return Error(Errc::kInvalidArgument, "extraction point is not a directory");
  return std::move(*fd);
}

Result<std::unique_ptr<vsock::ArchiveSink>> ContainerFs::write(const std::string& path, vsock::SinkOptions opts) const {
  auto dir = openDir(path);
  if (!dir) return std::move(dir).error();
  return vsock::ArchiveSink::open("/proc/self/fd/" + std::to_string(dir->get()), opts);
}

}  // namespace vic::pl
