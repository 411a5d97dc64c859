#include "hypervisor/datastore.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/process.h"

namespace vic::hv {

Status shareWithQemu(const std::string& path, unsigned mode) {
  gid_t gid = 0;
  for (const char* name : {"libvirt-qemu", "qemu"}) {
    if (const group* g = ::getgrnam(name)) {
      gid = g->gr_gid;
      break;
    }
  }
  // QEMU's group can write where these live: a symlink put in the path's place is not followed
  // (root would otherwise hand its target to that group).
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Error::fromErrno("giving QEMU access to " + path);
  bool done = ::fchown(fd, 0, gid) == 0 && ::fchmod(fd, gid == 0 ? (mode & 0700) : (mode & 0770)) == 0;
  int err = errno;
  ::close(fd);
  if (!done) return Error::fromErrno("giving QEMU access to " + path, err);
  return ok();
}
namespace fs = std::filesystem;

namespace {

uint64_t be(const std::string& h, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(h[at + i]);
  return v;
}

std::string readHeader(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string h(n, '\0');
  in.read(h.data(), static_cast<long>(n));
  h.resize(static_cast<size_t>(in.gcount()));
  return h;
}

}  // namespace

Result<std::string> qcow2BackingFile(const std::string& h) {
  if (h.size() < 24 || h.compare(0, 4, "QFI\xfb") != 0) return Error(Errc::kInvalidArgument, "not a qcow2 image");
  uint64_t off = be(h, 8, 8);
  uint64_t len = be(h, 16, 4);
  if (off == 0 || len == 0) return std::string();
  if (len > 1023 || off + len > h.size()) return Error(Errc::kInvalidArgument, "qcow2 backing file name out of range");
  return h.substr(off, len);
}

Result<Datastore> Datastore::open(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Error(Errc::kIo, "creating datastore " + root + ": " + ec.message());
  return Datastore(fs::canonical(root).string());
}

Result<std::string> Datastore::resolve(const std::string& rel) const {
  fs::path p(rel);
  bool bad = rel.empty() || p.is_absolute();
  for (const auto& part : p) bad = bad || part == "..";
  if (bad) return Error(Errc::kInvalidArgument, "disk path '" + rel + "' must be relative and stay inside the datastore");
  return (fs::path(root_) / p).lexically_normal().string();
}

Status Datastore::createDisk(const std::string& rel, uint64_t sizeBytes, std::optional<std::string> ext4Label) {
  auto path = resolve(rel);
  if (!path) return std::move(path).error();
  if (fs::exists(*path)) return Error(Errc::kConflict, "disk " + rel + " already exists");
  if (sizeBytes < (1 << 20)) return Error(Errc::kInvalidArgument, "disk size must be at least 1 MiB");
  fs::create_directories(fs::path(*path).parent_path());
  std::string what = "creating disk " + rel;
  std::string size = std::to_string(sizeBytes);
  if (!ext4Label) {
    auto r = runChecked({"qemu-img", "create", "-q", "-f", "qcow2", *path, size}, what);
    return r ? ok() : Status(std::move(r).error());
  }
  // mke2fs writes a sparse raw image; convert keeps only the blocks it wrote. The file has its
  // size first, so that mke2fs's discard of it succeeds and it marks the inode tables zeroed:
  // otherwise every containerVM's kernel would zero them again in a thread (ext4lazyinit).
  std::string raw = *path + ".raw.tmp";
  std::error_code ec;
  { std::ofstream(raw, std::ios::trunc); }
  fs::resize_file(raw, sizeBytes, ec);
  if (ec) return Error(Errc::kIo, what + ": sizing " + raw + ": " + ec.message());
  auto mk = runChecked({"mke2fs", "-q", "-F", "-t", "ext4", "-L", *ext4Label, "-E", "root_owner=0:0,lazy_itable_init=0", raw,
                        std::to_string(sizeBytes / 1024) + "k"}, what);
  if (mk) mk = runChecked({"qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, *path}, what);
  fs::remove(raw);
  return mk ? ok() : Status(std::move(mk).error());
}

Status Datastore::createChild(const std::string& rel, const std::string& parentRel) {
  auto path = resolve(rel);
  auto parent = resolve(parentRel);
  if (!path) return std::move(path).error();
  if (!parent) return std::move(parent).error();
  if (!fs::exists(*parent)) return Error(Errc::kNotFound, "parent disk " + parentRel + " does not exist");
  if (fs::exists(*path)) return Error(Errc::kConflict, "disk " + rel + " already exists");
  fs::create_directories(fs::path(*path).parent_path());
  std::string backing = fs::relative(*parent, fs::path(*path).parent_path()).string();
  auto r = runChecked({"qemu-img", "create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", *path},
                      "creating disk " + rel + " on " + parentRel);
  return r ? ok() : Status(std::move(r).error());
}

Result<std::vector<std::string>> Datastore::children(const std::string& rel) {
  auto target = resolve(rel);
  if (!target) return std::move(target).error();
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_, ec); it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file() || it->path().extension() != ".qcow2") continue;
    auto backing = qcow2BackingFile(readHeader(it->path().string(), 4096));
    if (!backing || backing->empty()) continue;
    fs::path b(*backing);
    fs::path abs = b.is_absolute() ? b : (it->path().parent_path() / b);
    if (abs.lexically_normal() == fs::path(*target).lexically_normal()) {
      out.push_back(fs::relative(it->path(), root_).string());
    }
  }
  return out;
}

Status Datastore::deleteDisk(const std::string& rel) {
  auto path = resolve(rel);
  if (!path) return std::move(path).error();
  if (!fs::exists(*path)) return Error(Errc::kNotFound, "disk " + rel + " does not exist");
  auto kids = children(rel);
  if (!kids) return std::move(kids).error();
  if (!kids->empty()) {
    return Error(Errc::kConflict, "disk " + rel + " is the parent of " + kids->front() +
                                      (kids->size() > 1 ? " and " + std::to_string(kids->size() - 1) + " more" : ""));
  }
  fs::remove(*path);
  return ok();
}

Result<DiskInfo> Datastore::info(const std::string& rel) {
  auto path = resolve(rel);
  if (!path) return std::move(path).error();
  auto out = runChecked({"qemu-img", "info", "-U", "--output=json", "--backing-chain", *path}, "inspecting disk " + rel);
  if (!out) return std::move(out).error();
  auto j = nlohmann::json::parse(*out, nullptr, false);
  if (!j.is_array() || j.empty()) return Error(Errc::kProtocol, "inspecting disk " + rel + ": unexpected qemu-img output");
  DiskInfo info;
  info.path = rel;
  info.virtualSize = j[0].value("virtual-size", uint64_t{0});
  info.actualSize = j[0].value("actual-size", uint64_t{0});
  for (const auto& layer : j) {
    fs::path f(layer.value("filename", ""));
    info.chain.push_back(fs::relative(fs::weakly_canonical(f), root_).string());
  }
  return info;
}

Status Datastore::resize(const std::string& rel, uint64_t sizeBytes) {
  auto path = resolve(rel);
  if (!path) return std::move(path).error();
  auto r = runChecked({"qemu-img", "resize", "-q", *path, std::to_string(sizeBytes)}, "resizing disk " + rel);
  return r ? ok() : Status(std::move(r).error());
}

}  // namespace vic::hv
