// Volumes (VIC's): each volume is its own qcow2 disk holding an ext4 filesystem, kept in a
// volume store (a directory named by a label: `vic-machine create --volume-store DIR:LABEL`,
// "default" for anonymous volumes). A volume is <store>/<name>/disk.qcow2 plus volume.json,
// written last as the completion marker: a directory without it is a half-made volume and is
// removed at load. Which containers use a volume is in their specs (the VMs), not here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::pl {

struct Volume {
  std::string name;
  std::string store = "default";  // label
  uint64_t capacityMiB = 1024;
  std::map<std::string, std::string> labels;
  bool anonymous = false;          // made for `-v /path` or an image VOLUME: removed with --rm / rm -v
  int64_t createdNs = 0;
  std::map<std::string, std::string> opts;  // the driver options as asked (docker shows these, and compose compares them)
};

std::string encodeVolume(const Volume& v);
Result<Volume> decodeVolume(const std::string& json);

// What `docker volume create` (or a `-v name:/path` of a volume that does not exist) asks for.
struct VolumeRequest {
  std::string name;  // "" = a random 64-hex name
  std::map<std::string, std::string> opts;  // Capacity (default MiB; "2G", "512MB"...), VolumeStore
  std::map<std::string, std::string> labels;
  bool anonymous = false;
};

// Checks the request (docker's name rule and message, known options, a store that exists,
// a capacity between 1 MiB and 8 TiB) and fills in the volume. Pure.
Result<Volume> planVolume(const VolumeRequest& r, const std::map<std::string, std::string>& stores);
// "1024" (MiB), "512M", "512MB", "2G", "2GB", "1T": in MiB.
Result<uint64_t> parseCapacityMiB(const std::string& text);
// The virtio-blk serial tether finds the volume's disk by (at most 20 characters).
std::string volumeSerial(const std::string& name);

class Volumes {
 public:
  explicit Volumes(std::map<std::string, std::string> stores);  // label -> directory
  Status load();
  Result<Volume> create(const VolumeRequest& r);
  Result<Volume> find(const std::string& name) const;
  std::vector<Volume> list() const;
  Status remove(const std::string& name);
  std::string diskPath(const Volume& v) const;
  const std::map<std::string, std::string>& stores() const { return stores_; }

 private:
  std::string dirOf(const Volume& v) const { return stores_.at(v.store) + "/" + v.name; }
  std::map<std::string, std::string> stores_;
  std::map<std::string, Volume> volumes_;
};

}  // namespace vic::pl
