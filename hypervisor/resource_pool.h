// Resource pools (VIC's vApp / resource pool): cgroup partitions that libvirt places VMs in
// (`<resource><partition>/machine/<pool></partition>`), with CPU and memory limits on the
// partition, so a VCH's containerVMs together never exceed its share. cgroup v1 (with or
// without a unified hierarchy beside it) and v2; made by vic, or as systemd slices.
#pragma once

#include <cstdint>
#include <functional>
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

// Where pools live. Without systemd, vic makes cgroup directories ("partitions") itself; under
// systemd, libvirt puts a partition's VMs in a slice that must exist, so vic installs a slice
// unit per pool (it survives reboots: systemd starts it when a VM is placed in it).
enum class PoolLayout { kPartitions, kSystemdSlices };

// How the systemd layout runs systemctl (a fake in tests).
using CommandRunner = std::function<Status(const std::vector<std::string>& argv)>;

class ResourcePools : public PoolManager {
 public:
  // The layout is systemd's when the host runs systemd (/run/systemd/system exists).
  explicit ResourcePools(std::string cgroupRoot = "/sys/fs/cgroup");
  ResourcePools(std::string cgroupRoot, PoolLayout layout, std::string unitDir, CommandRunner run);

  // "vch1" or nested "vch1/team-a"; names are [a-z0-9][a-z0-9_-]*.
  static Status validate(const std::string& pool);
  // What a VM's <partition> says: "/machine/vch1/team-a".
  static std::string partition(const std::string& pool);
  // Where it lives below each hierarchy: "machine/vch1.partition/team-a.partition", or under
  // systemd "machine.slice/machine-vch1.slice/machine-vch1-team\x2da.slice" (libvirt's names).
  static std::string cgroupPath(const std::string& pool, PoolLayout layout = PoolLayout::kPartitions);
  // The systemd slice of a pool: "machine-vch1-team\x2da.slice".
  static std::string sliceName(const std::string& pool);
  // The slice unit file vic installs for a pool, limits included (none: no line).
  static std::string sliceUnitText(const std::string& pool, const PoolLimits& limits);
  // systemd's properties for limits, unset ones reset: {"CPUQuota=150%", "MemoryMax=infinity"}.
  static std::vector<std::string> sliceProperties(const PoolLimits& limits);

  bool unifiedOnly() const { return v2_; }
  PoolLayout layout() const { return layout_; }
  Status create(const std::string& pool, const PoolLimits& limits) override;
  Status update(const std::string& pool, const PoolLimits& limits) override;
  Result<PoolLimits> limits(const std::string& pool);
  Result<PoolUsage> usage(const std::string& pool);
  Status remove(const std::string& pool) override;

 private:
  std::vector<std::string> hierarchies() const;  // absolute dirs the partition exists under
  std::string dir(const std::string& hierarchy, const std::string& pool) const;
  Status createPartition(const std::string& pool, const PoolLimits& limits);
  Status writeLimits(const std::string& pool, const PoolLimits& limits);
  Status installSlice(const std::string& pool, const PoolLimits& limits);
  Status removeSlice(const std::string& pool);

  std::string root_;
  bool v2_ = false;
  PoolLayout layout_ = PoolLayout::kPartitions;
  std::string unitDir_ = "/etc/systemd/system";
  CommandRunner run_;
};

}  // namespace vic::hv
