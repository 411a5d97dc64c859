// Datastore: a directory of qcow2 disks (VIC's datastore of VMDKs). Disks are named by paths
// relative to the root; nothing escapes it. Children point at parents with relative backing
// paths, so a datastore can move and `qemu-img info --backing-chain` still opens every chain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::hv {

// Gives QEMU (which libvirt runs as the "libvirt-qemu" or "qemu" group) access to `path` with
// `mode` (0770 for a directory it creates sockets in, 0660 for a disk), owner root; never
// world-writable. Where no such group exists QEMU runs as root and the file stays root-only.
Status shareWithQemu(const std::string& path, unsigned mode);

struct DiskInfo {
  std::string path;               // relative to the datastore
  uint64_t virtualSize = 0;
  uint64_t actualSize = 0;
  std::vector<std::string> chain;  // this disk first, then its parents (datastore-relative)
};

class Datastore {
 public:
  static Result<Datastore> open(const std::string& root);  // creates the directory

  const std::string& root() const { return root_; }
  // The absolute path of a disk, or an error if `rel` is absolute or leaves the datastore.
  Result<std::string> resolve(const std::string& rel) const;

  // A new disk; with `ext4Label`, formatted as an empty ext4 filesystem with that label.
  Status createDisk(const std::string& rel, uint64_t sizeBytes, std::optional<std::string> ext4Label = {});
  Status createChild(const std::string& rel, const std::string& parentRel);
  Status deleteDisk(const std::string& rel);  // refuses a disk that is another disk's parent
  Result<DiskInfo> info(const std::string& rel);
  Status resize(const std::string& rel, uint64_t sizeBytes);
  // Datastore-relative paths of every disk whose backing file is `rel`.
  Result<std::vector<std::string>> children(const std::string& rel);

 private:
  explicit Datastore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// The backing file name recorded in a qcow2 header (pure; "" when none). `header` is the
// start of the file, at least 512 bytes if available.
Result<std::string> qcow2BackingFile(const std::string& header);

}  // namespace vic::hv
