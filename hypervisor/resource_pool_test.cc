#include "hypervisor/resource_pool.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "common/testing/temp_dir.h"

namespace vic::hv {
namespace {

TEST(ResourcePool, NamesMapToLibvirtPartitionsAndCgroupDirs) {
  EXPECT_EQ(ResourcePools::partition("vch1"), "/machine/vch1");
  EXPECT_EQ(ResourcePools::partition("vch1/team-a"), "/machine/vch1/team-a");
  EXPECT_EQ(ResourcePools::cgroupPath("vch1"), "machine/vch1.partition");
  EXPECT_EQ(ResourcePools::cgroupPath("vch1/team-a"), "machine/vch1.partition/team-a.partition");
}

TEST(ResourcePool, RejectsBadNames) {
  EXPECT_TRUE(ResourcePools::validate("vch1"));
  EXPECT_TRUE(ResourcePools::validate("vch1/a_b-2"));
  for (std::string bad : {"", "/vch", "vch/", "../x", "VCH", "a//b", "a b", "-x"}) {
    auto st = ResourcePools::validate(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code(), Errc::kInvalidArgument);
  }
}

TEST(ResourcePool, UnderSystemdPoolsAreLibvirtsSliceNames) {
  EXPECT_EQ(ResourcePools::cgroupPath("vch1", PoolLayout::kSystemdSlices), "machine.slice/machine-vch1.slice");
  EXPECT_EQ(ResourcePools::cgroupPath("e2e-basic/team_a", PoolLayout::kSystemdSlices),
            "machine.slice/machine-e2e\\x2dbasic.slice/machine-e2e\\x2dbasic-team_a.slice");
  EXPECT_EQ(ResourcePools::sliceName("e2e-basic/team_a"), "machine-e2e\\x2dbasic-team_a.slice");
  // the partition in the domain XML is the same on both layouts: libvirt translates it
  EXPECT_EQ(ResourcePools::partition("e2e-basic"), "/machine/e2e-basic");
}

TEST(ResourcePool, SliceUnitsCarryTheLimitsAndResetWhatIsUnset) {
  PoolLimits l{1.5, uint64_t{512} << 20};
  EXPECT_EQ(ResourcePools::sliceUnitText("vch1", l),
            "[Unit]\nDescription=vic resource pool vch1\nBefore=slices.target\nWants=machine.slice\n\n"
            "[Slice]\nCPUQuota=150%\nMemoryMax=536870912\n");
  EXPECT_EQ(ResourcePools::sliceUnitText("vch1", {}),
            "[Unit]\nDescription=vic resource pool vch1\nBefore=slices.target\nWants=machine.slice\n\n[Slice]\n");
  EXPECT_EQ(ResourcePools::sliceProperties(l), (std::vector<std::string>{"CPUQuota=150%", "MemoryMax=536870912"}));
  EXPECT_EQ(ResourcePools::sliceProperties({}), (std::vector<std::string>{"CPUQuota=", "MemoryMax=infinity"}));
  EXPECT_EQ(ResourcePools::sliceProperties({0.25, std::nullopt}), (std::vector<std::string>{"CPUQuota=25%", "MemoryMax=infinity"}));
}

// A fake cgroup tree: each hierarchy a directory (v1), or the root with cgroup.controllers (v2).
class PoolTree : public ::testing::Test {
 protected:
  void hierarchy(const std::string& name, bool cpuset = false) {
    std::filesystem::create_directories(root_.path() / name);
    std::ofstream(root_.path() / name / "cgroup.procs") << "";
    if (cpuset) {
      std::ofstream(root_.path() / name / "cpuset.cpus") << "0-1\n";
      std::ofstream(root_.path() / name / "cpuset.mems") << "0\n";
    }
  }
  std::string file(const std::string& rel) { return readFile((root_.path() / rel).string()); }
  ResourcePools pools(PoolLayout layout) {
    return ResourcePools(root_.str(), layout, units_.str(), [this](const std::vector<std::string>& argv) {
      std::string line;
      for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
      calls_.push_back(line);
      return ok();
    });
  }
  vic::testing::TempDir root_{"cgroup-root"}, units_{"units"};
  std::vector<std::string> calls_;
};

TEST_F(PoolTree, CgroupV1PartitionsGetTheMachineRootCpusetsAndLimits) {
  hierarchy("cpu");
  hierarchy("memory");
  hierarchy("cpuset", true);
  auto p = pools(PoolLayout::kPartitions);
  ASSERT_FALSE(p.unifiedOnly());
  ASSERT_TRUE(p.create("vch1", {1.5, uint64_t{256} << 20}));
  EXPECT_EQ(file("cpu/machine/vch1.partition/cpu.cfs_quota_us"), "150000");
  EXPECT_EQ(file("cpu/machine/vch1.partition/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(file("memory/machine/vch1.partition/memory.limit_in_bytes"), "268435456");
  // after a reboot the machine root is gone too: it is made, with the cpusets VMs need
  EXPECT_EQ(file("cpuset/machine/cpuset.cpus"), "0-1\n");
  EXPECT_EQ(file("cpuset/machine/vch1.partition/cpuset.mems"), "0\n");
  // creating again (an endpoint start) keeps it and applies the limits it is given
  ASSERT_TRUE(p.create("vch1", {}));
  EXPECT_EQ(file("cpu/machine/vch1.partition/cpu.cfs_quota_us"), "-1");
  auto l = p.limits("vch1");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_FALSE(l->cpus);
  EXPECT_TRUE(calls_.empty());  // no systemctl without systemd
  EXPECT_EQ(p.create("vch1/a", {std::nullopt, uint64_t{1} << 20}).error().code(), Errc::kInvalidArgument);
}

// A VM's QEMU killed while libvirtd was down leaves its cgroups behind, empty: removal takes
// them along. One that still holds a process keeps the pool.
TEST_F(PoolTree, RemovalTakesTheEmptyCgroupsOfDeadVmsAlong) {
  hierarchy("cpu");
  hierarchy("memory");
  auto p = pools(PoolLayout::kPartitions);
  ASSERT_TRUE(p.create("vch1", {}));
  for (const auto& h : {"cpu", "memory"}) {  // empty dirs (a real cgroupfs shows its files, none with a pid)
    std::filesystem::remove(root_.path() / h / "machine/vch1.partition/cpu.cfs_quota_us");
    std::filesystem::remove(root_.path() / h / "machine/vch1.partition/cpu.cfs_period_us");
    std::filesystem::remove(root_.path() / h / "machine/vch1.partition/memory.limit_in_bytes");
    std::filesystem::create_directories(root_.path() / h / "machine/vch1.partition/qemu-8-vm.libvirt-qemu/vcpu0");
  }
  std::ofstream(root_.path() / "cpu/machine/vch1.partition/qemu-8-vm.libvirt-qemu/vcpu0/cgroup.procs") << "4242\n";
  EXPECT_EQ(p.remove("vch1").error().code(), Errc::kConflict);
  std::filesystem::remove(root_.path() / "cpu/machine/vch1.partition/qemu-8-vm.libvirt-qemu/vcpu0/cgroup.procs");
  ASSERT_TRUE(p.remove("vch1"));
  EXPECT_FALSE(std::filesystem::exists(root_.path() / "cpu/machine/vch1.partition"));
  EXPECT_FALSE(std::filesystem::exists(root_.path() / "memory/machine/vch1.partition"));
}

TEST_F(PoolTree, CgroupV2PartitionsEnableTheControllersAndWriteMaxFiles) {
  std::ofstream(root_.path() / "cgroup.controllers") << "cpu memory\n";
  auto p = pools(PoolLayout::kPartitions);
  ASSERT_TRUE(p.unifiedOnly());
  std::filesystem::create_directories(root_.path() / "machine");
  ASSERT_TRUE(p.create("vch1", {2.0, std::nullopt}));
  EXPECT_EQ(file("machine/cgroup.subtree_control"), "+cpu +memory");
  EXPECT_EQ(file("machine/vch1.partition/cpu.max"), "200000 100000");
  EXPECT_EQ(file("machine/vch1.partition/memory.max"), "max");
  ASSERT_TRUE(p.create("vch1/team-a", {std::nullopt, uint64_t{128} << 20}));
  EXPECT_EQ(file("machine/vch1.partition/team-a.partition/memory.max"), "134217728");
  auto l = p.limits("vch1");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->cpus, 2.0);
  EXPECT_FALSE(l->memoryBytes);
}

TEST_F(PoolTree, UnderSystemdAPoolIsASliceUnitStartedWithItsLimits) {
  std::ofstream(root_.path() / "cgroup.controllers") << "cpu memory\n";
  auto p = pools(PoolLayout::kSystemdSlices);
  ASSERT_TRUE(p.create("e2e-a", {1.0, uint64_t{1} << 30}));
  EXPECT_EQ(readFile(units_.str() + "/machine-e2e\\x2da.slice"), ResourcePools::sliceUnitText("e2e-a", {1.0, uint64_t{1} << 30}));
  EXPECT_EQ(calls_, (std::vector<std::string>{"systemctl daemon-reload", "systemctl start machine-e2e\\x2da.slice",
                                              "systemctl set-property --runtime machine-e2e\\x2da.slice CPUQuota=100% MemoryMax=1073741824"}));
  calls_.clear();
  ASSERT_TRUE(p.create("e2e-a", {1.0, uint64_t{1} << 30}));  // the endpoint's start at boot: the file is as it was
  EXPECT_EQ(calls_, (std::vector<std::string>{"systemctl start machine-e2e\\x2da.slice",
                                              "systemctl set-property --runtime machine-e2e\\x2da.slice CPUQuota=100% MemoryMax=1073741824"}));
  calls_.clear();
  ASSERT_TRUE(p.update("e2e-a", {}));
  EXPECT_EQ(calls_.front(), "systemctl daemon-reload");
  EXPECT_EQ(calls_.back(), "systemctl set-property --runtime machine-e2e\\x2da.slice CPUQuota= MemoryMax=infinity");
  EXPECT_EQ(p.update("nope", {}).error().code(), Errc::kNotFound);
  // systemd made the slice's cgroup (faked here): limits are read from it
  std::filesystem::create_directories(root_.path() / "machine.slice/machine-e2e\\x2da.slice");
  std::ofstream(root_.path() / "machine.slice/machine-e2e\\x2da.slice/cpu.max") << "100000 100000\n";
  std::ofstream(root_.path() / "machine.slice/machine-e2e\\x2da.slice/memory.max") << "max\n";
  auto l = p.limits("e2e-a");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->cpus, 1.0);
  // a VM's scope in it: not removed
  std::filesystem::create_directories(root_.path() / "machine.slice/machine-e2e\\x2da.slice/machine-qemu\\x2d1\\x2dvm.scope");
  EXPECT_EQ(p.remove("e2e-a").error().code(), Errc::kConflict);
  std::filesystem::remove(root_.path() / "machine.slice/machine-e2e\\x2da.slice/machine-qemu\\x2d1\\x2dvm.scope");
  calls_.clear();
  ASSERT_TRUE(p.remove("e2e-a"));
  EXPECT_FALSE(std::filesystem::exists(units_.str() + "/machine-e2e\\x2da.slice"));
  EXPECT_EQ(calls_, (std::vector<std::string>{"systemctl stop machine-e2e\\x2da.slice", "systemctl daemon-reload"}));
}

}  // namespace
}  // namespace vic::hv
