#include "vsock/archive.h"

#include "common/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <sstream>

namespace vic::vsock {
namespace {

std::string baseName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.find_last_of('/');
  std::string b = slash == std::string::npos ? p : p.substr(slash + 1);
  return b.empty() ? "." : b;
}

}  // namespace

std::string pathBase(const std::string& path) {
  std::string p = path.empty() ? "/" : path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto slash = p.find_last_of('/');
  return p == "/" || slash == std::string::npos ? p : p.substr(slash + 1);
}

Result<FileStat> statPath(const std::string& path, const std::string& name, const std::string& notFound) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return Error(Errc::kNotFound, notFound);
  FileStat out;
  out.name = name;
  out.size = st.st_size;
  out.mode = st.st_mode;
  out.mtimeNs = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  if (S_ISLNK(st.st_mode)) out.linkTarget = linkTarget(path);
  return out;
}

Result<std::unique_ptr<ArchiveSource>> ArchiveSource::open(const std::string& path, const std::string& notFound,
                                                         SourceOptions opts) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return Error(Errc::kNotFound, notFound);
  auto src = std::unique_ptr<ArchiveSource>(new ArchiveSource());
  src->opts_ = opts;
  src->device_ = st.st_dev;
  std::string name = opts.rootName.empty() ? baseName(path) : opts.rootName;
  src->stack_.push_back({path, opts.contentOnly ? "" : name});
  return src;
}

std::optional<TarEntry> tarEntryOf(const std::string& name, const std::string& fsPath, const struct stat& st) {
  TarEntry e;
  e.name = name;
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.mtime = st.st_mtim.tv_sec;
  if (S_ISDIR(st.st_mode)) {
    e.type = '5';
  } else if (S_ISLNK(st.st_mode)) {
    e.type = '2';
    e.linkname = linkTarget(fsPath);
  } else if (S_ISREG(st.st_mode)) {
    e.size = static_cast<uint64_t>(st.st_size);
  } else {
    return std::nullopt;
  }
  return e;
}

Status ArchiveSource::next() {
  Item item = stack_.back();
  stack_.pop_back();
  struct stat st{};
  if (::lstat(item.fsPath.c_str(), &st) != 0) return ok();  // vanished meanwhile: skip
  auto entry = tarEntryOf(item.name, item.fsPath, st);
  if (!entry) return ok();  // devices, sockets, fifos are not copied
  TarEntry& e = *entry;
  if (S_ISDIR(st.st_mode)) {
    bool enter = !opts_.oneFilesystem || st.st_dev == device_;
    auto kids = enter ? dirEntries(item.fsPath) : std::vector<std::string>{};
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) {
      stack_.push_back({item.fsPath + "/" + *it, item.name.empty() ? *it : item.name + "/" + *it});
    }
    if (item.name.empty()) return ok();  // the root of a content-only archive has no entry
  } else if (S_ISREG(st.st_mode)) {
    file_.reset(::open(item.fsPath.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!file_) return Error::fromErrno("opening " + item.fsPath);
    fileLeft_ = e.size;
    filePad_ = tarPadding(e.size);
  }
  pending_ = tarHeader(e);
  pendingPos_ = 0;
  return ok();
}

Result<size_t> ArchiveSource::read(uint8_t* out, size_t cap) {
  while (true) {
    if (pendingPos_ < pending_.size()) {
      size_t n = std::min(cap, pending_.size() - pendingPos_);
      std::memcpy(out, pending_.data() + pendingPos_, n);
      pendingPos_ += n;
      return n;
    }
    if (file_) {
      if (fileLeft_ > 0) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(cap, fileLeft_));
        ssize_t n = ::read(file_.get(), out, want);
        if (n < 0) return Error::fromErrno("reading a file for the archive");
        if (n == 0) {  // the file shrank: pad to the size the header promised
          std::memset(out, 0, want);
          n = static_cast<ssize_t>(want);
        }
        fileLeft_ -= static_cast<uint64_t>(n);
        return static_cast<size_t>(n);
      }
      file_.reset();
      pending_.assign(filePad_, 0);
      pendingPos_ = 0;
      continue;
    }
    if (!stack_.empty()) {
      if (auto st = next(); !st) return std::move(st).error();
      continue;
    }
    if (trailerQueued_) return size_t{0};
    trailerQueued_ = true;
    pending_.assign(kTarTrailer, 0);
    pendingPos_ = 0;
  }
}

Result<std::unique_ptr<ArchiveSink>> ArchiveSink::open(const std::string& dir, SinkOptions opts) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Error(Errc::kNotFound, "Could not find the file " + dir + " in container");
    if (errno == ENOTDIR) return Error(Errc::kInvalidArgument, "extraction point is not a directory");
    return Error::fromErrno("extracting to " + dir);
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || !S_ISDIR(st.st_mode)) return Error(Errc::kInvalidArgument, "extraction point is not a directory");
  auto sink = std::unique_ptr<ArchiveSink>(new ArchiveSink());
  sink->opts_ = opts;
  sink->dir_ = std::move(fd);
  return sink;
}

// Opens the directory that holds `name` (creating missing parents when `create`), never
// through a symlink.
Result<UniqueFd> ArchiveSink::parentOf(const std::string& name, std::string& base, bool create) {
  std::vector<std::string> parts;
  std::istringstream in(name);
  for (std::string part; std::getline(in, part, '/');) {
    if (!part.empty() && part != ".") parts.push_back(part);
  }
  if (parts.empty()) return Error(Errc::kInvalidArgument, "empty name in archive");
  base = parts.back();
  UniqueFd cur(::dup(dir_.get()));
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (create) ::mkdirat(cur.get(), parts[i].c_str(), 0755);
    UniqueFd nextFd(::openat(cur.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!nextFd) return Error::fromErrno("refusing to extract " + name + " through " + parts[i]);
    cur = std::move(nextFd);
  }
  return cur;
}

Status ArchiveSink::begin(const TarEntry& e) {
  if (!safeArchiveName(e.name)) {
    return Error(Errc::kInvalidArgument, "refusing to extract " + e.name + ": it leaves the destination");
  }
  std::string base;
  auto parent = parentOf(e.name, base, true);
  if (!parent) return std::move(parent).error();
  int pfd = parent->get();
  if (base == "." ) return ok();
  struct stat existing{};
  bool exists = ::fstatat(pfd, base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && opts_.noOverwriteDirNonDir && (e.type == '5') != S_ISDIR(existing.st_mode)) {
    return Error(Errc::kInvalidArgument, e.type == '5' ? "cannot overwrite non-directory \"" + e.name + "\" with directory"
                                                       : "cannot overwrite directory \"" + e.name + "\" with non-directory");
  }
  if (e.type == '5') {
    if (exists && !S_ISDIR(existing.st_mode)) ::unlinkat(pfd, base.c_str(), 0);
    if (::mkdirat(pfd, base.c_str(), e.mode) != 0 && errno != EEXIST) return Error::fromErrno("creating " + e.name);
  } else {
    if (exists && S_ISDIR(existing.st_mode)) return Error(Errc::kConflict, "cannot overwrite directory " + e.name + " with a non-directory");
    if (exists) ::unlinkat(pfd, base.c_str(), 0);
    if (e.type == '2') {
      if (::symlinkat(e.linkname.c_str(), pfd, base.c_str()) != 0) return Error::fromErrno("creating symlink " + e.name);
    } else if (e.type == '1') {
      if (!safeArchiveName(e.linkname)) return Error(Errc::kInvalidArgument, "refusing hardlink to " + e.linkname);
      std::string targetBase;
      auto targetDir = parentOf(e.linkname, targetBase, false);  // the target's path is not followed either
      if (!targetDir) return std::move(targetDir).error();
      if (::linkat(targetDir->get(), targetBase.c_str(), pfd, base.c_str(), 0) != 0) return Error::fromErrno("linking " + e.name);
    } else {
      file_.reset(::openat(pfd, base.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, e.mode & 07777));
      if (!file_) return Error::fromErrno("creating " + e.name);
    }
  }
  if (opts_.keepOwner) ::fchownat(pfd, base.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW);
  if (e.type != '2') ::fchmodat(pfd, base.c_str(), e.mode & 07777, 0);
  current_ = e;
  currentParent_ = std::move(*parent);
  currentBase_ = base;
  ++entries_;
  return ok();
}

Status ArchiveSink::data(std::span<const uint8_t> bytes) {
  while (!bytes.empty() && file_) {
    ssize_t n = ::write(file_.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::fromErrno("writing " + current_.name);
    }
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return ok();
}

Status ArchiveSink::end() {
  file_.reset();
  if (currentParent_ && !currentBase_.empty()) {
    timespec times[2] = {{current_.mtime, 0}, {current_.mtime, 0}};
    ::utimensat(currentParent_.get(), currentBase_.c_str(), times, AT_SYMLINK_NOFOLLOW);
  }
  currentParent_.reset();
  return ok();
}

}  // namespace vic::vsock
