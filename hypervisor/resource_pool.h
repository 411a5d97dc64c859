// Resource pools (VIC's vApp / resource pool): cgroup partitions that libvirt places VMs in
// (`<resource><partition>/machine/<pool></partition>`), with CPU and memory limits on the
// partition, so a VCH's containerVMs together never exceed its share. cgroup v1 (with or
// without a unified hierarchy beside it) and v2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::hv {

struct PoolLimits {
  std::optional<double> cpus;            // CPU time as a number of CPUs (1.5 = 150 %)
  std::optional<uint64_t> memoryBytes;
};

struct PoolUsage {
  uint64_t cpuNanos = 0;     // CPU time consumed since creation
  uint64_t memoryBytes = 0;  // current
};

// What managing a VCH does with pools: ResourcePools on the host's cgroups, or a fake in tests.
class PoolManager {
 public:
  virtual ~PoolManager() = default;
  virtual Status create(const std::string& pool, const PoolLimits& limits) = 0;  // parents must exist
  virtual Status update(const std::string& pool, const PoolLimits& limits) = 0;
  virtual Status remove(const std::string& pool) = 0;  // refuses while VMs run in it
};

class ResourcePools : public PoolManager {
 public:
  explicit ResourcePools(std::string cgroupRoot = "/sys/fs/cgroup");

  // "vch1" or nested "vch1/team-a"; names are [a-z0-9][a-z0-9_-]*.
  static Status validate(const std::string& pool);
  // What a VM's <partition> says: "/machine/vch1/team-a".
  static std::string partition(const std::string& pool);
  // Where it lives below each hierarchy: "machine/vch1.partition/team-a.partition".
  static std::string cgroupPath(const std::string& pool);

  bool unifiedOnly() const { return v2_; }
  Status create(const std::string& pool, const PoolLimits& limits) override;
  Status update(const std::string& pool, const PoolLimits& limits) override;
  Result<PoolLimits> limits(const std::string& pool);
  Result<PoolUsage> usage(const std::string& pool);
  Status remove(const std::string& pool) override;

 private:
  std::vector<std::string> hierarchies() const;  // absolute dirs the partition exists under
  std::string dir(const std::string& hierarchy, const std::string& pool) const;

  std::string root_;
  bool v2_ = false;
};

}  // namespace vic::hv
