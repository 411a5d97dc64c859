// hypervisor/ against the real libvirtd + QEMU (TCG here): a containerVM defined through the
// layer boots the bootstrap image with tether, and its lifecycle, metadata, hot-plug and
// disks behave as the port layer needs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/process.h"
#include "hypervisor/datastore.h"
#include "hypervisor/libvirt_hypervisor.h"
#include "hypervisor/resource_pool.h"
#include "common/files.h"

namespace vic::hv {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string sh(const std::string& cmd) {
  auto r = runChecked({"sh", "-c", cmd}, cmd);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  return r ? *r : "";
}

class HypervisorIT : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = "/var/tmp/vic-hv-it-" + std::to_string(::getpid());
    auto ds = Datastore::open(root_);
    ASSERT_TRUE(ds);
    ds_.emplace(std::move(*ds));
    ::chmod(root_.c_str(), 0777);
    auto h = LibvirtHypervisor::connect();
    ASSERT_TRUE(h) << h.error().message();
    hv_ = std::move(*h);
    events_ = hv_->subscribe([this](const VmEvent& e) {
      std::lock_guard lock(mu_);
      if (e.vm == vm_) seen_.push_back(vmEventName(e.kind) + (e.detail.empty() ? "" : ":" + e.detail));
      cv_.notify_all();
    });
    // the bootstrap image and a busybox image, as the VCH keeps them in its datastore
    fs::copy_file(VIC_VMLINUZ, root_ + "/vmlinuz", fs::copy_options::overwrite_existing);
    fs::copy_file(VIC_BOOTSTRAP, root_ + "/bootstrap.img", fs::copy_options::overwrite_existing);
    sh("set -e; r=" + root_ + "/rootfs; mkdir -p $r/bin $r/etc $r/tmp $r/proc $r/sys $r/dev;"
       "cp $(command -v busybox) $r/bin/busybox; for a in $($r/bin/busybox --list); do [ $a = busybox ] || ln -sf busybox $r/bin/$a; done;"
       "echo root:x:0:0:root:/root:/bin/sh > $r/etc/passwd; echo root:x:0: > $r/etc/group;"
       "mke2fs -q -t ext4 -L containerfs -d $r " + root_ + "/busybox.raw 64M;"
       "mkdir -p " + root_ + "/images; qemu-img convert -q -O qcow2 " + root_ + "/busybox.raw " + root_ + "/images/busybox.qcow2");
  }
  void TearDown() override {
    if (hv_) {
      (void)hv_->destroy(vm_);
      hv_->unsubscribe(events_);
    }
    fs::remove_all(root_);
  }

  VmSpec containerVm(const std::string& argvJson) {
    std::string dir = root_ + "/containers/c1";
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0777);
    EXPECT_TRUE(ds_->createChild("containers/c1/rw.qcow2", "images/busybox.qcow2"));
    std::ofstream(dir + "/config.json") << R"({"id":"c1","name":"c1","hostname":"c1","main":{"id":"main","argv":)"
                                       << argvJson << "}}";
    VmSpec s;
    s.name = vm_;
    s.memoryMiB = 256;
    s.kernel = root_ + "/vmlinuz";
    s.initrd = root_ + "/bootstrap.img";
    s.cmdline = "console=ttyS0 quiet panic=-1";
    s.disks.push_back({dir + "/rw.qcow2", "containerfs", "qcow2", false});
    s.tetherSocket = dir + "/tether.sock";
    s.outputLog = dir + "/output.log";
    s.consoleLog = dir + "/console.log";
    s.fwCfg["opt/org.vic/config"] = dir + "/config.json";
    s.metadata["config"] = R"({"id":"c1"})";
    return s;
  }

  bool waitEvent(const std::string& want, std::chrono::seconds timeout = 120s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return std::find(seen_.begin(), seen_.end(), want) != seen_.end(); });
  }

  std::string ctl(const std::string& args, const std::string& socket = "") {
    std::string at = socket.empty() ? root_ + "/containers/c1/tether.sock" : socket;
    auto r = runProcess({"sh", "-c", std::string(VIC_TETHER_CTL) + " --connect unix:" + at + " " + args});
    return r && r->exitCode == 0 ? r->out : "ERROR(" + (r ? r->err : r.error().message()) + ")";
  }

  bool tetherReady(const std::string& socket = "") {
    for (int i = 0; i < 300; ++i) {
      if (ctl("ping", socket).rfind("protocol 1", 0) == 0) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  std::string root_;
  std::string vm_ = "vic-hv-it-" + std::to_string(::getpid());
  std::optional<Datastore> ds_;
  std::unique_ptr<LibvirtHypervisor> hv_;
  int events_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> seen_;
};

TEST_F(HypervisorIT, ContainerVmLifecycleMetadataAndHotplug) {
  auto spec = containerVm(R"(["sleep","1000"])");
  ASSERT_TRUE(hv_->defineVm(spec));
  auto again = hv_->defineVm(spec);  // defined anew (docker update, connect): the same VM, its uuid kept
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(*hv_->powerState(vm_), PowerState::kOff);
  auto on = hv_->powerOn(vm_);
  ASSERT_TRUE(on) << on.error().message();
  ASSERT_TRUE(waitEvent("started"));
  ASSERT_TRUE(tetherReady()) << sh("cat " + root_ + "/containers/c1/console.log; ls -la " + root_ + "/containers/c1");

  // hot-add a disk to the running VM; the guest sees a second virtio disk
  ASSERT_TRUE(ds_->createDisk("volumes/v1.qcow2", 16 << 20, "hot1"));
  auto hot = hv_->attachDisk(vm_, {root_ + "/volumes/v1.qcow2", "hot1", "qcow2", false});
  ASSERT_TRUE(hot) << hot.error().message();
  std::string blocks;
  for (int i = 0; i < 50 && blocks.find("vdb") == std::string::npos; ++i) {
    blocks = ctl("exec --id l" + std::to_string(i) + " -- ls /sys/block");
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(blocks.find("vdb"), std::string::npos) << blocks;
  EXPECT_EQ(hv_->detachDisk(vm_, "/nonexistent.qcow2").error().code(), Errc::kNotFound);

  // metadata written while running survives a reconnect and the power cycle
  ASSERT_TRUE(hv_->setMetadata(vm_, {{"config", R"({"id":"c1"})"}, {"state", "running"}}));
  hv_->dropConnectionForTest();
  EXPECT_EQ(hv_->metadata(vm_)->at("state"), "running");

  // the container's end is the VM's end: tether powers it off, libvirt reports a shutdown
  EXPECT_EQ(ctl("kill main 15"), "");
  ASSERT_TRUE(waitEvent("stopped:shutdown"));
  EXPECT_EQ(*hv_->powerState(vm_), PowerState::kOff);
  EXPECT_EQ(hv_->metadata(vm_)->at("state"), "running");
  auto log = runProcess({std::string(VIC_TETHER_CTL), "log", root_ + "/containers/c1/output.log"});
  ASSERT_TRUE(log);
  EXPECT_NE(log->err.find("exit 143"), std::string::npos) << log->err;

  // restart (the hot-added disk is part of the definition now), then a hard power-off
  ASSERT_TRUE(hv_->powerOn(vm_));
  ASSERT_TRUE(tetherReady());
  EXPECT_NE(ctl("exec --id again -- ls /sys/block").find("vdb"), std::string::npos);
  ASSERT_TRUE(hv_->powerOff(vm_));
  ASSERT_TRUE(waitEvent("stopped:destroyed"));
  ASSERT_TRUE(hv_->destroy(vm_));
  ASSERT_TRUE(waitEvent("removed"));
  auto vms = hv_->listVms();
  ASSERT_TRUE(vms);
  EXPECT_EQ(std::find(vms->begin(), vms->end(), vm_), vms->end());
}

TEST_F(HypervisorIT, QmpAndHostInfo) {
  auto info = hv_->hostInfo();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->accelerator, kvmUsable() ? "kvm" : "tcg");
  EXPECT_FALSE(info->hypervisorVersion.empty());
  ASSERT_TRUE(hv_->defineVm(containerVm(R"(["sleep","1000"])")));
  ASSERT_TRUE(hv_->powerOn(vm_));
  auto status = hv_->qmp(vm_, R"({"execute":"query-status"})");
  ASSERT_TRUE(status) << status.error().message();
  EXPECT_NE(status->find("\"running\""), std::string::npos) << *status;
  auto bad = hv_->qmp(vm_, R"({"execute":"no-such-command"})");
  EXPECT_FALSE(bad);
  auto stats = hv_->vmStats(vm_);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_GT(stats->cpuTimeNs, 0u);
  EXPECT_EQ(stats->memoryLimitBytes, 256u << 20);
  EXPECT_GT(stats->memoryBytes, 1u << 20);  // QEMU's resident set
  ASSERT_TRUE(hv_->powerOff(vm_));
  EXPECT_EQ(hv_->vmStats(vm_).error().code(), Errc::kConflict);
}

TEST_F(HypervisorIT, ResourcePoolLimitsHoldItsVms) {
  ResourcePools pools;
  std::string pool = "vicit" + std::to_string(::getpid());
  ASSERT_TRUE(pools.create(pool, {1.0, uint64_t{512} << 20}));
  auto lim = pools.limits(pool);
  ASSERT_TRUE(lim) << lim.error().message();
  EXPECT_DOUBLE_EQ(*lim->cpus, 1.0);
  EXPECT_EQ(*lim->memoryBytes, uint64_t{512} << 20);
  std::string memFile = pools.unifiedOnly() ? "/sys/fs/cgroup/" + ResourcePools::cgroupPath(pool) + "/memory.max"
                                            : "/sys/fs/cgroup/memory/" + ResourcePools::cgroupPath(pool) + "/memory.limit_in_bytes";
  EXPECT_EQ(readFile(memFile), "536870912\n");

  VmSpec s = containerVm(R"(["sleep","1000"])");
  s.partition = ResourcePools::partition(pool);
  ASSERT_TRUE(hv_->defineVm(s));
  auto on = hv_->powerOn(vm_);
  ASSERT_TRUE(on) << on.error().message();
  std::string pid = readFile("/run/libvirt/qemu/" + vm_ + ".pid");
  EXPECT_NE(readFile("/proc/" + pid + "/cgroup").find(ResourcePools::cgroupPath(pool)), std::string::npos)
      << readFile("/proc/" + pid + "/cgroup");
  std::this_thread::sleep_for(1s);
  auto use = pools.usage(pool);
  ASSERT_TRUE(use);
  EXPECT_GT(use->memoryBytes, uint64_t{1} << 20);
  EXPECT_GT(use->cpuNanos, 0u);
  auto busy = pools.remove(pool);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), Errc::kConflict);
  ASSERT_TRUE(pools.update(pool, {2.0, uint64_t{1} << 30}));
  EXPECT_EQ(*pools.limits(pool)->memoryBytes, uint64_t{1} << 30);
  ASSERT_TRUE(hv_->powerOff(vm_));
  ASSERT_TRUE(hv_->destroy(vm_));
  auto removed = pools.remove(pool);
  EXPECT_TRUE(removed) << removed.error().message();
  EXPECT_FALSE(pools.limits(pool));
}

// Instant clone: a template boots the bootstrap image without a container (tether waits for
// its identity), is frozen, and a containerVM defined with its own disk resumes from it.
TEST_F(HypervisorIT, FrozenTemplateClonesResumeWithTheirOwnIdentity) {
  std::string dir = root_ + "/templates/t1";
  fs::create_directories(dir);
  ::chmod((root_ + "/templates").c_str(), 0777);
  ::chmod(dir.c_str(), 0777);
  VmSpec t;
  t.name = vm_ + "-tmpl";
  t.memoryMiB = 256;
  t.kernel = root_ + "/vmlinuz";
  t.initrd = root_ + "/bootstrap.img";
  t.cmdline = "console=ttyS0 quiet panic=-1";
  t.tetherSocket = dir + "/tether.sock";
  t.outputLog = dir + "/output.log";
  t.consoleLog = dir + "/console.log";
  t.templateMemoryFile = dir + "/memory";
  ASSERT_TRUE(hv_->defineVm(t));
  ASSERT_TRUE(hv_->powerOn(t.name));
  ASSERT_TRUE(tetherReady(t.tetherSocket)) << sh("cat " + t.consoleLog);
  auto frozen = hv_->freezeTemplate(t.name, dir + "/state");
  ASSERT_TRUE(frozen) << frozen.error().message();
  EXPECT_EQ(*hv_->powerState(t.name), PowerState::kOff);
  ASSERT_TRUE(hv_->destroy(t.name));
  EXPECT_LT(fs::file_size(dir + "/state"), 4u << 20);  // device state only: RAM stays in the file
  std::string ramSum = sh("sha256sum < " + dir + "/memory");

  CloneSource src{dir + "/memory", dir + "/state", 256};
  ASSERT_TRUE(hv_->defineVm(containerVm(R"(["sleep","1000"])")));
  auto cloned = hv_->instantClone(vm_, src);
  ASSERT_TRUE(cloned) << cloned.error().message();
  EXPECT_EQ(*hv_->powerState(vm_), PowerState::kRunning);
  ASSERT_TRUE(waitEvent("started"));
  ASSERT_TRUE(tetherReady());  // the template's tether, resumed, answers on the clone's channel
  EXPECT_EQ(*hv_->metadata(vm_), (std::map<std::string, std::string>{{"config", R"({"id":"c1"})"}}));
  EXPECT_EQ(hv_->instantClone(vm_, src).error().code(), Errc::kConflict);
  ASSERT_TRUE(hv_->powerOff(vm_));
  // the definition is the container's own again; clones never write the template's memory
  EXPECT_EQ(sh("virsh dumpxml " + vm_ + " | grep -c 'vic.ram\\|incoming' || true"), "0\n");  // the log port's args stay
  EXPECT_EQ(sh("sha256sum < " + dir + "/memory"), ramSum);

  // a damaged state file: the clone fails and nothing is left running
  sh("head -c 1000 /dev/urandom > " + root_ + "/bad.state");
  CloneSource bad{dir + "/memory", root_ + "/bad.state", 256};
  EXPECT_FALSE(hv_->instantClone(vm_, bad));
  EXPECT_EQ(*hv_->powerState(vm_), PowerState::kOff);
  ASSERT_TRUE(hv_->powerOn(vm_));  // and a cold boot still works
  ASSERT_TRUE(hv_->powerOff(vm_));
}

TEST_F(HypervisorIT, PortGroupBridgeConnectsAContainerVm) {
  std::string pg = "vicit-pg-" + std::to_string(::getpid());
  std::string bridge = "vicbr" + std::to_string(::getpid() % 100000);
  (void)hv_->deletePortGroup(pg);
  auto made = hv_->createPortGroup({pg, bridge, "10.231.0.1/24", "10.231.0.100", "10.231.0.200", true});
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_NE(sh("ip -o link show " + bridge), "");
  EXPECT_NE(hv_->listPortGroups()->size(), 0u);
  ASSERT_TRUE(hv_->setHostEntry(pg, {"52:54:00:aa:00:05", "10.231.0.5", {"c1"}}));
  ASSERT_TRUE(hv_->setHostEntry(pg, {"52:54:00:aa:00:05", "10.231.0.5", {"c1"}}));  // replace, not duplicate
  auto xml = hv_->portGroupXml(pg);
  ASSERT_TRUE(xml);
  EXPECT_NE(xml->find("<host mac='52:54:00:aa:00:05' name='c1' ip='10.231.0.5'/>"), std::string::npos) << *xml;
  EXPECT_EQ(xml->find("52:54:00:aa:00:05"), xml->rfind("52:54:00:aa:00:05"));

  // a containerVM on the bridge, its address set by tether, reaches the gateway
  VmSpec s = containerVm(R"(["sleep","1000"])");
  std::ofstream(root_ + "/containers/c1/config.json")
      << R"({"id":"c1","name":"c1","hostname":"c1","networks":[{"mac":"52:54:00:aa:00:05","name":"eth0",)"
      << R"("addresses":["10.231.0.5/24"],"gateway":"10.231.0.1"}],"main":{"id":"main","argv":["sleep","1000"]}})";
  s.nics.push_back({pg, "52:54:00:aa:00:05"});
  ASSERT_TRUE(hv_->defineVm(s));
  ASSERT_TRUE(hv_->powerOn(vm_));
  ASSERT_TRUE(tetherReady());
  EXPECT_NE(ctl("exec --id p1 -- ping -c1 -W5 10.231.0.1").find("1 packets received"), std::string::npos);
  EXPECT_EQ(sh("busybox ping -c1 -W5 10.231.0.5 >/dev/null && echo up"), "up\n");  // and the host reaches it
  // hot-add a second NIC and remove it again
  ASSERT_TRUE(hv_->attachNic(vm_, {pg, "52:54:00:aa:00:06"}));
  std::string nets;
  for (int i = 0; i < 50 && nets.find("eth1") == std::string::npos; ++i) {
    nets = ctl("exec --id n" + std::to_string(i) + " -- ls /sys/class/net");
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(nets.find("eth1"), std::string::npos) << nets;
  auto unplugged = hv_->detachNic(vm_, "52:54:00:aa:00:06");
  EXPECT_TRUE(unplugged) << unplugged.error().message();
  EXPECT_EQ(hv_->detachNic(vm_, "52:54:00:ff:ff:ff").error().code(), Errc::kNotFound);
  ASSERT_TRUE(hv_->powerOff(vm_));
  ASSERT_TRUE(hv_->removeHostEntry(pg, {"52:54:00:aa:00:05", "10.231.0.5", {"c1"}}));
  EXPECT_EQ(hv_->portGroupXml(pg)->find("52:54:00:aa:00:05"), std::string::npos);
  ASSERT_TRUE(hv_->deletePortGroup(pg));
  EXPECT_NE(runProcess({"ip", "link", "show", bridge})->exitCode, 0);  // bridge gone
  auto bad = hv_->createPortGroup({pg, bridge, "10.231.0.1", "", "", true});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kInvalidArgument);
}

// libvirtd itself restarts (an upgrade, a crash): the layer reconnects, tells subscribers to
// re-read state, and the running VM is still there.
TEST_F(HypervisorIT, SurvivesALibvirtdRestart) {
  ASSERT_TRUE(hv_->defineVm(containerVm(R"(["sleep","1000"])")));
  ASSERT_TRUE(hv_->powerOn(vm_));
  ASSERT_TRUE(tetherReady());
  {
    std::lock_guard lock(mu_);
    seen_.clear();
  }
  std::atomic<bool> reconnected{false};
  int id = hv_->subscribe([&](const VmEvent& e) {
    if (e.detail == "reconnected") reconnected = true;
  });
  sh("if [ -d /run/systemd/system ]; then systemctl restart libvirtd; exit; fi;"
     "kill $(cat /run/libvirtd.pid) && while [ -e /run/libvirtd.pid ] && kill -0 $(cat /run/libvirtd.pid) 2>/dev/null; do sleep 0.1; done;"
     VIC_START_LIBVIRTD " && for i in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.1; done");
  Result<PowerState> state = Error(Errc::kUnavailable, "not yet");
  for (int i = 0; i < 100 && !state; ++i) {
    state = hv_->powerState(vm_);
    if (!state) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(state) << state.error().message();
  EXPECT_EQ(*state, PowerState::kRunning);
  EXPECT_TRUE(reconnected);
  EXPECT_EQ(hv_->metadata(vm_)->at("config"), R"({"id":"c1"})");
  // events flow on the new connection
  ASSERT_TRUE(hv_->powerOff(vm_));
  EXPECT_TRUE(waitEvent("stopped:destroyed", 30s));
  hv_->unsubscribe(id);
}

}  // namespace
}  // namespace vic::hv
