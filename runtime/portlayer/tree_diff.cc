#include "runtime/portlayer/tree_diff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "common/files.h"
#include "common/guest_root.h"
#include "common/unique_fd.h"
#include "vsock/archive.h"
#include "vsock/tar.h"

namespace vic::pl {
namespace {

bool changed(const struct stat& a, const struct stat& b) {
  if (a.st_mode != b.st_mode || a.st_uid != b.st_uid || a.st_gid != b.st_gid || a.st_rdev != b.st_rdev) return true;
  if (S_ISDIR(a.st_mode)) return false;  // a directory's size and mtime say nothing: its entries do
  return a.st_size != b.st_size || a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec;
}

// A directory of a guest tree, read through the resolver: each name with its lstat.
using Listing = std::map<std::string, struct stat>;
Listing listAt(const GuestRoot& root, const std::string& rel) {
  Listing out;
  auto dir = root.openPath(rel.empty() ? "." : rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!dir) return out;
  auto names = listDirFd(dir->get());
  if (!names) return out;
  for (const auto& n : *names) {
    struct stat st{};
    if (::fstatat(dir->get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) out.emplace(n, st);
  }
  return out;
}

void addAll(const GuestRoot& root, const std::string& rel, std::vector<Change>& out) {
  for (const auto& [n, st] : listAt(root, rel)) {
    std::string child = rel + "/" + n;
    out.push_back({child, ChangeKind::kAdded});
    if (S_ISDIR(st.st_mode)) addAll(root, child, out);
  }
}

// Compares the directory `rel` ("" for the root) of both trees.
void compareDir(const GuestRoot& base, const GuestRoot& next, const std::string& rel, std::vector<Change>& out,
                const std::vector<std::string>& ignore) {
  Listing before = listAt(base, rel), after = listAt(next, rel);
  auto ignored = [&](const std::string& child) { return std::find(ignore.begin(), ignore.end(), child) != ignore.end(); };
  for (const auto& [n, ns] : after) {
    if (rel.empty() && n == "lost+found") continue;
    std::string child = rel + "/" + n;
    if (ignored(child)) continue;
    auto old = before.find(n);
    if (old == before.end()) {
      out.push_back({child, ChangeKind::kAdded});
      if (S_ISDIR(ns.st_mode)) addAll(next, child, out);
      continue;
    }
    const struct stat& os = old->second;
    size_t mark = out.size();
    bool self = changed(os, ns);
    if (self) out.push_back({child, ChangeKind::kModified});
    if (S_ISDIR(ns.st_mode) && S_ISDIR(os.st_mode)) {
      compareDir(base, next, child, out, ignore);
      if (!self && out.size() > mark) out.push_back({child, ChangeKind::kModified});  // sorted at the end
    } else if (S_ISDIR(ns.st_mode)) {
      addAll(next, child, out);
    }
  }
  for (const auto& [n, os] : before) {
    std::string child = rel + "/" + n;
    if (!after.count(n) && !ignored(child)) out.push_back({child, ChangeKind::kDeleted});
  }
}

class TarFile {
 public:
  explicit TarFile(const std::string& path) : out_(path, std::ios::binary | std::ios::trunc) {}
  bool good() const { return out_.good(); }
  void put(const std::vector<uint8_t>& bytes) { out_.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())); }
  Status file(int dir, const std::string& base, const std::string& path, uint64_t size) {
    UniqueFd fd(::openat(dir, base.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return Error::fromErrno("reading " + path + " for the layer");
    std::vector<char> buf(1 << 16);
    uint64_t left = size;
    while (left > 0) {
      ssize_t n = ::read(fd.get(), buf.data(), std::min<uint64_t>(buf.size(), left));
      if (n <= 0) return Error(Errc::kIo, path + " changed while it was being read");
      out_.write(buf.data(), n);
      left -= static_cast<uint64_t>(n);
    }
    put(std::vector<uint8_t>(vsock::tarPadding(size), 0));
    return ok();
  }
  Status close() {
    put(std::vector<uint8_t>(vsock::kTarTrailer, 0));
    out_.close();
    return out_ ? ok() : Error(Errc::kIo, "writing the layer tar");
  }

 private:
  std::ofstream out_;
};

}  // namespace

Result<std::vector<Change>> diffTrees(const std::string& baseRoot, const std::string& newRoot,
                                      const std::vector<std::string>& ignore) {
  auto base = GuestRoot::open(baseRoot);
  auto next = GuestRoot::open(newRoot);
  if (!base || !next) return (base ? next.error() : base.error()).wrap("comparing " + baseRoot + " with " + newRoot);
  std::vector<Change> out;
  compareDir(*base, *next, "", out, ignore);
  std::sort(out.begin(), out.end(), [](const Change& a, const Change& b) { return a.path < b.path; });
  return out;
}

Status writeLayerTar(const std::string& newRoot, const std::vector<Change>& changes, const std::string& tarFile) {
  auto root = GuestRoot::open(newRoot);
  if (!root) return std::move(root).error();
  TarFile tar(tarFile);
  if (!tar.good()) return Error::fromErrno("creating " + tarFile);
  std::map<std::pair<dev_t, ino_t>, std::string> linked;
  for (const auto& c : changes) {
    std::string name = c.path.substr(1);
    vsock::TarEntry e;
    if (c.kind == ChangeKind::kDeleted) {
      auto slash = name.find_last_of('/');
      e.name = slash == std::string::npos ? ".wh." + name : name.substr(0, slash + 1) + ".wh." + name.substr(slash + 1);
      tar.put(vsock::tarHeader(e));
      continue;
    }
    auto slot = root->slot(c.path);  // the parent inside the root, the name itself never followed
    if (!slot) return std::move(slot).error().wrap("reading " + c.path + " for the layer");
    struct stat st{};
    if (::fstatat(slot->dir.get(), slot->base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Error::fromErrno("reading " + c.path + " for the layer");
    auto entry = vsock::tarEntryOf(name, slot->procPath(), st);
    if (!entry) continue;  // sockets and devices
    e = *entry;
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {  // hard links: the first name carries the data
      auto key = std::make_pair(st.st_dev, st.st_ino);
      if (linked.count(key)) {
        e.type = '1';
        e.linkname = linked[key];
        e.size = 0;
      } else {
        linked[key] = name;
      }
    }
    tar.put(vsock::tarHeader(e));
    if (e.type == '0' && e.size > 0) {
      if (auto s = tar.file(slot->dir.get(), slot->base, c.path, e.size); !s) return s;
    }
  }
  return tar.close();
}

}  // namespace vic::pl
