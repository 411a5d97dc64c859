#include "runtime/portlayer/tree_diff.h"

#include <dirent.h>
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

void addAll(const std::string& root, const std::string& rel, std::vector<Change>& out) {
  for (const auto& n : dirEntries(root + rel)) {
    std::string child = rel + "/" + n;
    out.push_back({child, ChangeKind::kAdded});
    struct stat st{};
    if (::lstat((root + child).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) addAll(root, child, out);
  }
}

// Compares the directory `rel` ("" for the root) of both trees.
void compareDir(const std::string& base, const std::string& next, const std::string& rel, std::vector<Change>& out,
                const std::vector<std::string>& ignore) {
  auto before = dirEntries(base + (rel.empty() ? "/" : rel));
  auto after = dirEntries(next + (rel.empty() ? "/" : rel));
  std::set<std::string> old(before.begin(), before.end());
  for (const auto& n : after) {
    if (rel.empty() && n == "lost+found") continue;
    std::string child = rel + "/" + n;
    if (std::find(ignore.begin(), ignore.end(), child) != ignore.end()) continue;
    struct stat ns{}, os{};
    if (::lstat((next + child).c_str(), &ns) != 0) continue;
    if (!old.count(n) || ::lstat((base + child).c_str(), &os) != 0) {
      out.push_back({child, ChangeKind::kAdded});
      if (S_ISDIR(ns.st_mode)) addAll(next, child, out);
      continue;
    }
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
  std::set<std::string> now(after.begin(), after.end());
  for (const auto& n : before) {
    std::string child = rel + "/" + n;
    if (!now.count(n) && std::find(ignore.begin(), ignore.end(), child) == ignore.end()) out.push_back({child, ChangeKind::kDeleted});
  }
}

class TarFile {
 public:
  explicit TarFile(const std::string& path) : out_(path, std::ios::binary | std::ios::trunc) {}
  bool good() const { return out_.good(); }
  void put(const std::vector<uint8_t>& bytes) { out_.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())); }
  Status file(const std::string& path, uint64_t size) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
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
  struct stat st{};
  if (::stat(baseRoot.c_str(), &st) != 0 || ::stat(newRoot.c_str(), &st) != 0) {
    return Error::fromErrno("comparing " + baseRoot + " with " + newRoot);
  }
  std::vector<Change> out;
  compareDir(baseRoot, newRoot, "", out, ignore);
  std::sort(out.begin(), out.end(), [](const Change& a, const Change& b) { return a.path < b.path; });
  return out;
}

Status writeLayerTar(const std::string& newRoot, const std::vector<Change>& changes, const std::string& tarFile) {
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
    std::string full = newRoot + c.path;
    struct stat st{};
    if (::lstat(full.c_str(), &st) != 0) return Error::fromErrno("reading " + c.path + " for the layer");
    auto entry = vsock::tarEntryOf(name, full, st);
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
      if (auto s = tar.file(full, e.size); !s) return s;
    }
  }
  return tar.close();
}

}  // namespace vic::pl
