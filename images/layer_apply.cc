#include "images/layer_apply.h"
#include "images/archive_ptr.h"

#include "common/guest_root.h"
#include "images/manifest.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <vector>

namespace vic::images {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

// Cleans an entry name to a root-relative path ("./a//b/" -> "a/b", "a/../b" -> "b", "/" -> "."),
// or "" when a ".." would leave the root (as docker's Clean + breakout check). Plain string
// work: fs::path is quadratic in the number of components, and a hostile layer has thousands.
std::string cleanName(const std::string& raw) {
  std::string out;
  size_t i = 0;
  while (i <= raw.size()) {
    size_t slash = raw.find('/', i);
    if (slash == std::string::npos) slash = raw.size();
    std::string_view part(raw.data() + i, slash - i);
    if (part == "..") {
      if (out.empty()) return "";
      auto last = out.rfind('/');
      out.erase(last == std::string::npos ? 0 : last);
    } else if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out.append(part);
    }
    i = slash + 1;
  }
  return out.empty() ? "." : out;
}

std::string parentOf(const std::string& name) {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? "" : name.substr(0, slash);
}

std::string baseOf(const std::string& name) {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

Error archiveError(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return Error(Errc::kInvalidArgument, what + ": " + (msg ? msg : "unknown archive error"));
}

// Writes archive entries into a guest filesystem. Every name is placed with GuestRoot::slot
// (parents resolved inside the root) and created through its parent's fd without following
// its last component; libarchive only reads.
class TreeWriter {
 public:
  TreeWriter(const GuestRoot& root, const ExtractOptions& opts) : root_(root), opts_(opts) {}

  Status write(archive* in, archive_entry* e, const std::string& name) {
    auto slot = root_.slot(name, true);
    if (!slot) return std::move(slot).error();
    int dir = slot->dir.get();
    const std::string& base = slot->base;
    if (base == ".") return ok();  // the root's own entry: its attributes stay the disk's
    mode_t type = archive_entry_filetype(e);
    const char* hardlink = archive_entry_hardlink(e);
    bool isDir = !hardlink && type == AE_IFDIR;
    if (auto st = clearWay(dir, base, isDir); !st) return st;
    if (hardlink) return link(dir, base, hardlink);
    switch (type) {
      case AE_IFDIR: return directory(e, dir, base, name);
      case AE_IFREG: return file(in, e, dir, base);
      case AE_IFLNK: return symlink(e, dir, base);
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: return special(e, dir, base, type);
      default: return Error(Errc::kInvalidArgument, "unsupported entry type for " + name);
    }
  }

  // Directory times are set last: entries written into a directory change its mtime.
  void finish() {
    for (const auto& [name, mtime] : dirTimes_) {
      auto slot = root_.slot(name);
      if (!slot) continue;
      timespec ts[2] = {mtime, mtime};
      ::utimensat(slot->dir.get(), slot->base.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    }
  }

 private:
  // Whatever is in the way goes, unless a directory meets a directory (they merge, as docker does).
  static Status clearWay(int dir, const std::string& base, bool isDir) {
    struct stat st{};
    if (::fstatat(dir, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ok();
    if (isDir && S_ISDIR(st.st_mode)) return ok();
    return removeTreeAt(dir, base);
  }

  static timespec mtimeOf(archive_entry* e) {
    return {archive_entry_mtime(e), archive_entry_mtime_is_set(e) ? archive_entry_mtime_nsec(e) : 0};
  }

  // Owner, mode, xattrs on an open fd (files, directories); chown first, as it clears setuid.
  void attributes(archive_entry* e, int fd) const {
    if (opts_.sameOwner) (void)::fchown(fd, static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e)));
    ::fchmod(fd, archive_entry_perm(e) & 07777);
    const char* xname = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
      (void)::fsetxattr(fd, xname, value, size, 0);  // a filesystem without xattrs: as docker, go on
    }
  }

  Status directory(archive_entry* e, int dir, const std::string& base, const std::string& name) {
    if (::mkdirat(dir, base.c_str(), 0700) != 0 && errno != EEXIST) return Error::fromErrno("creating directory " + name);
    UniqueFd fd(::openat(dir, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return Error::fromErrno("opening directory " + name);
    attributes(e, fd.get());
    dirTimes_.emplace_back(name, mtimeOf(e));
    return ok();
  }

  Status file(archive* in, archive_entry* e, int dir, const std::string& base) {
    UniqueFd fd(::openat(dir, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("creating " + base);
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r;
    while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK) {
      const char* p = static_cast<const char*>(buf);
      while (size > 0) {
        ssize_t n = ::pwrite(fd.get(), p, size, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Error::fromErrno("writing " + base);
        p += n;
        offset += n;
        size -= static_cast<size_t>(n);
      }
    }
    if (r != ARCHIVE_EOF) return archiveError(in, "reading " + base);
    if (::ftruncate(fd.get(), archive_entry_size(e)) != 0) return Error::fromErrno("sizing " + base);  // a sparse tail
    attributes(e, fd.get());
    timespec ts[2] = {mtimeOf(e), mtimeOf(e)};
    ::futimens(fd.get(), ts);
    return ok();
  }

  Status symlink(archive_entry* e, int dir, const std::string& base) {
    const char* target = archive_entry_symlink(e);
    if (!target) return Error(Errc::kInvalidArgument, "symlink " + base + " has no target");
    if (::symlinkat(target, dir, base.c_str()) != 0) return Error::fromErrno("creating symlink " + base);
    return finishNoFollow(e, dir, base);
  }

  Status special(archive_entry* e, int dir, const std::string& base, mode_t type) {
    if (!opts_.devices) return Error(Errc::kInvalidArgument, "refusing device or fifo " + base + " in an image archive");
    dev_t dev = type == AE_IFIFO ? 0 : ::makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    if (::mknodat(dir, base.c_str(), type | 0600, dev) != 0) return Error::fromErrno("creating node " + base);
    if (opts_.sameOwner) ::fchownat(dir, base.c_str(), static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW);
    ::fchmodat(dir, base.c_str(), archive_entry_perm(e) & 07777, 0);  // a node, never a symlink: just made
    return finishNoFollow(e, dir, base);
  }

  // Owner and time of something that cannot be opened (a symlink, a node).
  Status finishNoFollow(archive_entry* e, int dir, const std::string& base) {
    if (opts_.sameOwner && archive_entry_filetype(e) == AE_IFLNK) {
      ::fchownat(dir, base.c_str(), static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW);
    }
    timespec ts[2] = {mtimeOf(e), mtimeOf(e)};
    ::utimensat(dir, base.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    return ok();
  }

  // The target is found inside the root, its last component not followed (a hard link to a
  // symlink links the symlink, as link(2) does).
  Status link(int dir, const std::string& base, const std::string& rawTarget) {
    std::string target = cleanName(rawTarget);
    if (target.empty() || target == ".") return Error(Errc::kInvalidArgument, "hard link " + base + " points outside the image root");
    auto to = root_.slot(target);
    if (!to) return std::move(to).error().wrap("hard link " + base + " to " + rawTarget);
    if (::linkat(to->dir.get(), to->base.c_str(), dir, base.c_str(), 0) != 0) {
      return Error::fromErrno("hard link " + base + " to " + rawTarget);
    }
    return ok();
  }

  const GuestRoot& root_;
  ExtractOptions opts_;
  std::vector<std::pair<std::string, timespec>> dirTimes_;
};

ArchiveReader openArchive(const std::string& file, int& rc) {
  ArchiveReader in(archive_read_new());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  archive_read_support_filter_gzip(in.get());
  archive_read_support_filter_zstd(in.get());
  archive_read_support_filter_none(in.get());
  rc = archive_read_open_filename(in.get(), file.c_str(), 1 << 16);
  return in;
}

// A whiteout's target: the name it hides, or "" for a marker that names nothing ("x/.wh.",
// "x/.wh..", "x/.wh...": never the parent itself).
std::string whiteoutTarget(const std::string& parent, const std::string& base) {
  std::string hidden = base.substr(kWhiteoutPrefix.size());
  if (hidden.empty() || hidden == "." || hidden == "..") return "";
  return parent.empty() ? hidden : parent + "/" + hidden;
}

}  // namespace

Result<ApplyStats> extractTar(const std::string& tarFile, const std::string& rootDir, const ExtractOptions& opts) {
  int rc = ARCHIVE_OK;
  ArchiveReader in = openArchive(tarFile, rc);
  if (rc != ARCHIVE_OK) return archiveError(in.get(), "opening " + tarFile);
  auto root = GuestRoot::open(rootDir);
  if (!root) return std::move(root).error();
  TreeWriter writer(*root, opts);
  ApplyStats stats;
  std::set<std::string> fromThisLayer;
  std::vector<std::string> opaque;
  uint64_t fileBytes = 0;
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archiveError(in.get(), "reading " + tarFile);
    std::string raw = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    std::string name = cleanName(raw);
    if (name.empty()) return Error(Errc::kInvalidArgument, "entry " + raw + " leaves the image root");
    if (++stats.entries > opts.maxEntries) return Error(Errc::kInvalidArgument, tarFile + " has more than " + std::to_string(opts.maxEntries) + " entries");
    std::string base = baseOf(name);
    std::string parent = parentOf(name);
    if (opts.whiteouts && base == kOpaque) {
      opaque.push_back(parent.empty() ? "." : parent);
      ++stats.opaqueDirs;
      continue;
    }
    if (opts.whiteouts && base.rfind(kWhiteoutPrefix, 0) == 0) {
      std::string hidden = whiteoutTarget(parent, base);
      if (hidden.empty()) return Error(Errc::kInvalidArgument, "whiteout " + raw + " names no file");
      if (auto st = root->removeAll(hidden); !st) return std::move(st).error().wrap("applying whiteout " + raw);
      ++stats.whiteouts;
      continue;
    }
    if (archive_entry_filetype(entry) == AE_IFREG && !archive_entry_hardlink(entry)) {
      uint64_t size = static_cast<uint64_t>(std::max<la_int64_t>(0, archive_entry_size(entry)));
      if (size > opts.maxBytes - std::min(opts.maxBytes, fileBytes)) {
        return Error(Errc::kInvalidArgument, tarFile + " holds more than " + std::to_string(opts.maxBytes >> 20) + " MiB of files");
      }
      fileBytes += size;
    }
    if (auto st = writer.write(in.get(), entry, name); !st) return std::move(st).error().wrap("extracting " + raw);
    fromThisLayer.insert(name);
    // a parent already listed has its own parents listed too (deep trees stay linear)
    for (std::string p = parentOf(name); !p.empty() && fromThisLayer.insert(p).second; p = parentOf(p)) {
    }
  }
  // Opaque directories hide lower layers' content, not what this layer put there.
  for (const auto& dir : opaque) {
    auto keep = [&](const std::string& n) { return fromThisLayer.count(dir == "." ? n : dir + "/" + n) > 0; };
    if (auto st = root->clearDir(dir, keep); !st) return std::move(st).error().wrap("applying opaque directory " + dir);
  }
  writer.finish();
  stats.bytes = static_cast<uint64_t>(archive_filter_bytes(in.get(), 0));
  return stats;
}

Result<ApplyStats> applyLayer(const std::string& layerFile, const std::string& rootDir, bool sameOwner) {
  ExtractOptions opts;
  opts.sameOwner = sameOwner;
  return extractTar(layerFile, rootDir, opts);
}

Result<std::string> layerDiffId(const std::string& layerFile, uint64_t maxBytes) {
  ArchiveReader in(archive_read_new());
  archive_read_support_format_raw(in.get());
  archive_read_support_filter_gzip(in.get());
  archive_read_support_filter_zstd(in.get());
  archive_read_support_filter_none(in.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_filename(in.get(), layerFile.c_str(), 1 << 16) != ARCHIVE_OK ||
      archive_read_next_header(in.get(), &entry) != ARCHIVE_OK) {
    return archiveError(in.get(), "reading layer " + layerFile);
  }
  Sha256 hash;
  uint64_t total = 0;
  std::vector<char> buf(1 << 16);
  while (true) {
    la_ssize_t n = archive_read_data(in.get(), buf.data(), buf.size());
    if (n < 0) return archiveError(in.get(), "decompressing layer " + layerFile);
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > maxBytes) {
      return Error(Errc::kInvalidArgument, "layer " + layerFile + " expands to more than " + std::to_string(maxBytes >> 20) +
                                               " MiB, the size of a layer disk");
    }
    hash.update(buf.data(), static_cast<size_t>(n));
  }
  return hash.digest();
}

}  // namespace vic::images
