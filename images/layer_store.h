// LayerStore: image layers as qcow2 disks in the datastore, one per chain id (VIC's layer
// VMDK delta chain). The root is an empty ext4 "scratch" disk labelled for tether; each
// layer is a child of its parent layer's disk holding only that layer's changes, so images
// that share layers share disks. Past `maxDepth` a layer's disk is a flattened copy of its
// parent instead of a child, so 120-layer images still open quickly.
//
// Files (relative to the datastore): images/layers/<chain hex>.qcow2 is the disk and also
// its completion marker (renamed into place last), <chain hex>.json its record, <chain
// hex>.blob the layer's tar as it came (for docker save).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "hypervisor/datastore.h"

namespace vic::images {

inline constexpr std::string_view kScratch = "scratch";  // the empty root of every chain

struct LayerRecord {
  std::string chainId;     // "sha256:..."
  std::string parent;      // chain id, or "" for a bottom layer (child of scratch)
  std::string diffId;
  int depth = 0;           // disks in this layer's backing chain, scratch excluded
  uint64_t size = 0;       // uncompressed tar bytes
};

// chain id of layer n: diff_id[0] for the first, sha256("<chain n-1> <diff n>") after.
std::vector<std::string> chainIds(const std::vector<std::string>& diffIds);

struct LayerStoreOptions {
  uint64_t diskSize = 8ull << 30;  // virtual size of every layer disk (sparse)
  int maxDepth = 24;               // backing-chain depth before flattening
  std::string rootLabel = "containerfs";
};

class LayerStore {
 public:
  // Removes anything a killed writer left behind (mount dirs, *.tmp disks, orphan records)
  // and creates the scratch disk if missing.
  static Result<std::unique_ptr<LayerStore>> open(hv::Datastore ds, LayerStoreOptions opts = {});

  bool has(const std::string& chainId) const;
  Result<LayerRecord> record(const std::string& chainId) const;
  // Datastore-relative disk of a layer ("" or kScratch: the scratch disk).
  std::string diskOf(const std::string& chainId) const;
  const hv::Datastore& datastore() const { return ds_; }

  // Writes `tarFile` (whose diff id must be `diffId`, already verified) into a new disk on
  // top of `parent`. Atomic: on any failure nothing new is left in the store.
  Result<LayerRecord> add(const std::string& parent, const std::string& diffId, const std::string& tarFile);
  // The layer's tar as pulled, loaded or committed (its diff id holds), or "" for a layer
  // stored before tars were kept. add() moves `tarFile` there.
  std::string blobOf(const std::string& chainId) const;
  // Deletes a layer's disk; refuses while another layer (or a container) is its child.
  Status remove(const std::string& chainId);
  std::vector<LayerRecord> list() const;
  // What one layer may expand to: the size of the disk it is written into.
  uint64_t maxLayerBytes() const { return opts_.diskSize; }

 private:
  LayerStore(hv::Datastore ds, LayerStoreOptions opts) : ds_(std::move(ds)), opts_(std::move(opts)) {}
  Status cleanup();
  Status createBase(const std::string& parent, int parentDepth, const std::string& tmpRel, int* depth);
  Status writeInto(const std::string& tmpRel, const std::string& tarFile, uint64_t* bytes);
  Status keepBlob(const std::string& tarFile, const std::string& chainId);
  std::string dir() const { return ds_.root() + "/images/layers"; }

  hv::Datastore ds_;
  LayerStoreOptions opts_;
  mutable std::mutex mu_;
  std::mutex addMu_;
  int mounts_ = 0;
};

std::string hexOf(const std::string& digest);  // "sha256:ab.." -> "ab.."

}  // namespace vic::images
