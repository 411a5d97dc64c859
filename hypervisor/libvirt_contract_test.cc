// The libvirt implementation against libvirt's in-process test driver (test:///default):
// the API contract without a daemon or QEMU. tests/integration covers the real thing.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "hypervisor/libvirt_hypervisor.h"

namespace vic::hv {
namespace {

class Contract : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = LibvirtHypervisor::connect("test:///default");
    ASSERT_TRUE(h) << h.error().message();
    hv_ = std::move(*h);
  }
  std::unique_ptr<LibvirtHypervisor> hv_;
};

VmSpec spec(const std::string& name) {
  VmSpec s;
  s.name = name;
  s.memoryMiB = 64;
  s.metadata["config"] = R"({"id":")" + name + R"("})";
  return s;
}

TEST_F(Contract, HostInfo) {
  auto info = hv_->hostInfo();
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_GT(info->cpus, 0);
  EXPECT_GT(info->memoryBytes, 0u);
  EXPECT_FALSE(info->libvirtVersion.empty());
}

TEST_F(Contract, DefinePowerCycleMetadataDestroy) {
  ASSERT_TRUE(hv_->defineVm(spec("c1")));
  EXPECT_EQ(*hv_->powerState("c1"), PowerState::kOff);
  auto vms = hv_->listVms();
  ASSERT_TRUE(vms);
  EXPECT_NE(std::find(vms->begin(), vms->end(), "c1"), vms->end());
  EXPECT_EQ(hv_->metadata("c1")->at("config"), R"({"id":"c1"})");

  ASSERT_TRUE(hv_->powerOn("c1"));
  EXPECT_EQ(*hv_->powerState("c1"), PowerState::kRunning);
  auto set = hv_->setMetadata("c1", {{"config", "new"}, {"exit", "3"}});
  ASSERT_TRUE(set) << set.error().message();
  ASSERT_TRUE(hv_->powerOff("c1"));
  EXPECT_EQ(*hv_->powerState("c1"), PowerState::kOff);
  auto md = hv_->metadata("c1");
  ASSERT_TRUE(md);
  EXPECT_EQ(md->at("config"), "new");  // set while running, still there when off
  EXPECT_EQ(md->at("exit"), "3");
  ASSERT_TRUE(hv_->setMetadata("c1", {{"started", "1"}}));
  md = hv_->metadata("c1");
  EXPECT_EQ(md->at("config"), "new");  // other keys are kept
  EXPECT_EQ(md->at("started"), "1");

  auto destroyed = hv_->destroy("c1");
  ASSERT_TRUE(destroyed) << destroyed.error().message();
  auto gone = hv_->powerState("c1");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), Errc::kNotFound);
}

TEST_F(Contract, ErrorsNameTheOperationAndCarryLibvirtsMessage) {
  auto st = hv_->powerOn("nosuch");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Errc::kNotFound);
  EXPECT_EQ(st.error().message().rfind("powering on VM nosuch: ", 0), 0u) << st.error().message();
  EXPECT_NE(st.error().message().find("nosuch"), std::string::npos);

  ASSERT_TRUE(hv_->defineVm(spec("c2")));
  ASSERT_TRUE(hv_->powerOn("c2"));
  auto twice = hv_->powerOn("c2");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), Errc::kConflict) << twice.error().message();
  ASSERT_TRUE(hv_->destroy("c2"));

  auto bad = hv_->defineVm(spec("../etc"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kInvalidArgument);
  EXPECT_FALSE(hv_->defineVm(spec("")));
}

TEST_F(Contract, LifecycleEventsReachSubscribers) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> seen;
  int id = hv_->subscribe([&](const VmEvent& e) {
    std::lock_guard lock(mu);
    if (e.vm == "c3") seen.push_back(vmEventName(e.kind));
    cv.notify_all();
  });
  ASSERT_TRUE(hv_->defineVm(spec("c3")));
  ASSERT_TRUE(hv_->powerOn("c3"));
  ASSERT_TRUE(hv_->powerOff("c3"));
  ASSERT_TRUE(hv_->destroy("c3"));
  std::unique_lock lock(mu);
  bool all = cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= 4; });
  hv_->unsubscribe(id);
  ASSERT_TRUE(all) << "saw " << seen.size() << " events: " << ::testing::PrintToString(seen);
  EXPECT_EQ(seen, (std::vector<std::string>{"defined", "started", "stopped", "removed"}));
}

// Every domain's CID counts, whoever defined it; a VM without a vsock device holds none; an
// undefined VM holds none any more.
TEST_F(Contract, VsockCidsAreEveryDomainsDefinedCid) {
  VmSpec a = spec("cid-a");
  a.vsockCid = 42;
  VmSpec b = spec("cid-b");
  b.vsockCid = 7;
  ASSERT_TRUE(hv_->defineVm(a));
  ASSERT_TRUE(hv_->defineVm(b));
  ASSERT_TRUE(hv_->defineVm(spec("cid-none")));
  ASSERT_TRUE(hv_->powerOn("cid-b"));
  auto cids = hv_->vsockCids();
  ASSERT_TRUE(cids) << cids.error().message();
  EXPECT_EQ(cids->count(42), 1u);
  EXPECT_EQ(cids->count(7), 1u);  // running: its live definition's
  ASSERT_TRUE(hv_->destroy("cid-a"));
  ASSERT_TRUE(hv_->destroy("cid-b"));
  ASSERT_TRUE(hv_->destroy("cid-none"));
  EXPECT_EQ(hv_->vsockCids()->count(42), 0u);
}

TEST_F(Contract, ReconnectsAfterTheConnectionDrops) {
  std::atomic<bool> reconnected{false};
  int id = hv_->subscribe([&](const VmEvent& e) {
    if (e.detail == "reconnected") reconnected = true;
  });
  hv_->dropConnectionForTest();
  EXPECT_TRUE(hv_->hostInfo());
  EXPECT_TRUE(reconnected);
  hv_->unsubscribe(id);
}

}  // namespace
}  // namespace vic::hv
