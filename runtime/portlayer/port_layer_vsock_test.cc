// The tether transport over the FakeHypervisor: on a host with vhost-vsock every containerVM and
// template gets a guest CID no VM on the host has (released when it is removed), the host reaches
// a VM with one at that CID; without vhost-vsock nothing gets one and virtio-serial is used. The
// fake guest's "AF_VSOCK" is a unix socket per CID (TestVch::vsockEndpoint): this host has no
// /dev/vhost-vsock, so the real data path is not exercised here.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "hypervisor/domain_xml.h"
#include "runtime/portlayer/test_vch.h"
#include "runtime/portlayer/vsock_cid.h"

namespace vic::pl {
namespace {

using namespace std::chrono_literals;

uint32_t cidOf(TestVch& t, const std::string& id) {
  auto spec = t.hv.spec(t.vm(id));
  return spec && spec->vsockCid ? *spec->vsockCid : 0;
}

// ---- the pure parts ----

TEST(VsockCid, TheLowestFreeCidAndNeverAReservedOne) {
  EXPECT_EQ(*allocateVsockCid({}), 3u);
  EXPECT_EQ(*allocateVsockCid({0, 1, 2}), 3u);                 // reserved ones count for nothing
  EXPECT_EQ(*allocateVsockCid({3, 4, 6}), 5u);                 // a gap is reused
  EXPECT_EQ(*allocateVsockCid({3, 4, 5}), 6u);
  EXPECT_EQ(*allocateVsockCid({0xFFFFFFFFu}), 3u);             // VMADDR_CID_ANY is no CID
  EXPECT_EQ(*allocateVsockCid({3, 0xFFFFFFFEu}), 4u);
}

TEST(VsockCid, TheHostLockExcludesAnotherHolder) {
  testing::TempDir dir("vic-cid");
  std::string path = dir.str() + "/locks/cid.lock";
  std::atomic<bool> second{false};
  std::thread other;
  {
    auto first = HostLock::acquire(path);  // creates the directory and the file
    ASSERT_TRUE(first) << first.error().message();
    other = std::thread([&] {
      auto lock = HostLock::acquire(path);  // another open file: flock excludes it as another process
      second = lock.hasValue();
    });
    std::this_thread::sleep_for(200ms);
    EXPECT_FALSE(second);  // waits while the first is held
  }
  other.join();
  EXPECT_TRUE(second);
}

TEST(VsockCid, DefinedWithACidNoVmOnTheHostHas) {
  testing::TempDir dir("vic-cid");
  hv::FakeHypervisor hv;
  hv::VmSpec other;  // another VCH's container and a VM that is not vic's
  other.name = "u-0123456789ab";
  other.vsockCid = 3;
  hv::VmSpec foreign;
  foreign.name = "someones-vm";
  foreign.vsockCid = 4;
  ASSERT_TRUE(hv.defineVm(other));
  ASSERT_TRUE(hv.defineVm(foreign));
  hv::VmSpec mine;
  mine.name = "t-mine";
  auto defineMine = [&](uint32_t cid) {
    mine.vsockCid = cid;
    return hv.defineVm(mine);
  };
  std::string lock = dir.str() + "/cid.lock";
  auto cid = defineWithFreeCid(hv, lock, defineMine);
  ASSERT_TRUE(cid) << cid.error().message();
  EXPECT_EQ(*cid, 5u);
  EXPECT_EQ(hv.spec("t-mine")->vsockCid, std::optional<uint32_t>(5));
  hv.failNext("defineVm", Error(Errc::kUnavailable, "libvirt is gone"));
  mine.name = "t-other";
  EXPECT_FALSE(defineWithFreeCid(hv, lock, defineMine));
  EXPECT_EQ(*hv.vsockCids(), (std::set<uint32_t>{3, 4, 5}));  // the failed one holds nothing
  ASSERT_TRUE(hv.destroy("u-0123456789ab"));                   // released with its VM
  EXPECT_EQ(*defineWithFreeCid(hv, lock, defineMine), 3u);     // and given again
  hv.failNext("vsockCids", Error(Errc::kUnavailable, "libvirt is gone"));
  auto unread = defineWithFreeCid(hv, lock, defineMine);
  ASSERT_FALSE(unread);
  EXPECT_NE(unread.error().message().find("reading the host's vsock guest CIDs"), std::string::npos);
}

TEST(VsockCid, TheHostDecidesUnlessVirtioSerialIsForced) {
  auto vsock = chooseTetherTransport(true, "");
  ASSERT_TRUE(vsock);
  EXPECT_TRUE(vsock->vsock);
  EXPECT_EQ(vsock->description, "AF_VSOCK (vhost-vsock)");
  EXPECT_TRUE(chooseTetherTransport(true, "auto")->vsock);
  auto none = chooseTetherTransport(false, "");
  EXPECT_FALSE(none->vsock);
  EXPECT_EQ(none->description, "virtio-serial (no /dev/vhost-vsock on this host)");
  auto forced = chooseTetherTransport(true, "virtio-serial");
  EXPECT_FALSE(forced->vsock);
  EXPECT_EQ(forced->description, "virtio-serial (VIC_TETHER_TRANSPORT=virtio-serial)");
  EXPECT_EQ(chooseTetherTransport(true, "vsock").error().code(), Errc::kInvalidArgument);
}

// ---- the port layer ----

TEST(VsockTransport, ContainersAndClonesHaveCidsOfTheirOwnAndAreReachedThere) {
  TestVch t(true, true);
  std::optional<uint32_t> templateCid;
  t.hv.duringNext("freezeTemplate", [&] {
    auto vms = t.hv.listVms();
    for (const auto& vm : *vms) {
      if (vm.rfind("t-template-", 0) == 0) templateCid = t.hv.spec(vm)->vsockCid;
    }
  });
  std::vector<ContainerSpec> cs;
  for (int i = 0; i < 3; ++i) cs.push_back(t.created({"sleep"}));
  std::set<uint32_t> cids;
  for (const auto& c : cs) {
    ASSERT_TRUE(t.run(t.pl->start(c.id)));
    EXPECT_TRUE(called(t, "instantClone " + t.vm(c.id)));  // a clone, with its own CID
    uint32_t cid = cidOf(t, c.id);
    EXPECT_GE(cid, 3u);
    cids.insert(cid);
    EXPECT_EQ(t.pl->find(c.id)->spec.vsockCid, cid);  // the spec (VM metadata) knows it too
    // reached at its CID: its fake guest serves nothing on the virtio-serial socket
    EXPECT_FALSE(std::filesystem::exists(t.dir.str() + "/run/" + shortId(c.id) + ".sock"));
    EXPECT_TRUE(std::filesystem::exists(t.vsockEndpoint(cid).path));
  }
  EXPECT_EQ(cids.size(), 3u);  // all running at once, each its own
  ASSERT_TRUE(templateCid.has_value());  // the template had one while it ran
  EXPECT_GE(*templateCid, 3u);
  EXPECT_EQ(t.identities().size(), 3u);  // each clone's tether was told who it is, over its CID
  vsock::SessionSpec e;
  e.id = "e1";
  e.argv = {"echo", "over", "vsock"};
  auto exec = t.run(t.pl->exec(cs[1].id, e));
  ASSERT_TRUE(exec) << exec.error().message();
  auto done = t.run(t.pl->waitSession(cs[1].id, "e1"));
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_EQ(done->exitCode, 0);
  for (const auto& c : cs) ASSERT_TRUE(t.run(t.pl->remove(c.id, true)));
}

TEST(VsockTransport, TheDomainXmlCarriesTheCid) {
  TestVch t(false, true);
  auto c = t.created({"echo", "hi"});
  uint32_t cid = cidOf(t, c.id);
  ASSERT_GE(cid, 3u);
  std::string xml = hv::domainXml(*t.hv.spec(t.vm(c.id)), "kvm");
  EXPECT_NE(xml.find("<cid auto='no' address='" + std::to_string(cid) + "'/>"), std::string::npos) << xml;
  EXPECT_EQ(hv::vsockCidOf(xml), std::optional<uint32_t>(cid));
  ASSERT_TRUE(t.run(t.pl->start(c.id)));  // a cold boot, reached at its CID
  ASSERT_TRUE(t.run(t.pl->wait(c.id, WaitCondition::kNotRunning)));
  EXPECT_EQ(stdoutOf(t, c.id), "hi\n");
}

TEST(VsockTransport, ACidIsReleasedWithItsContainerAndGivenAgain) {
  TestVch t(false, true);
  auto a = t.created({"sleep"});
  auto b = t.created({"sleep"});
  uint32_t ca = cidOf(t, a.id), cb = cidOf(t, b.id);
  EXPECT_NE(ca, cb);
  ASSERT_TRUE(t.run(t.pl->start(a.id)));
  ASSERT_TRUE(t.run(t.pl->remove(a.id, true)));
  EXPECT_EQ(t.hv.vsockCids()->count(ca), 0u);  // released with its VM
  auto again = t.run(t.pl->create(t.spec({"sleep"})));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->vsockCid, ca);  // the lowest free one: the removed container's
  EXPECT_EQ(*t.hv.vsockCids(), (std::set<uint32_t>{ca, cb}));
}

TEST(VsockTransport, CidsAreUniqueAcrossTheHostsVchsAndConcurrentCreates) {
  TestVch t(false, true);
  hv::VmSpec other;  // another VCH's container and a VM that is not vic's hold 3 and 5
  other.name = "u-0123456789ab";
  other.vsockCid = 3;
  ASSERT_TRUE(t.hv.defineVm(other));
  hv::VmSpec foreign;
  foreign.name = "someones-vm";
  foreign.vsockCid = 5;
  ASSERT_TRUE(t.hv.defineVm(foreign));
  constexpr int kCreates = 6;
  std::vector<std::optional<Result<ContainerSpec>>> made(kCreates);
  auto all = [&]() -> asio::awaitable<void> {
    for (int i = 0; i < kCreates; ++i) {
      auto one = [&, i]() -> asio::awaitable<void> {
        ContainerSpec spec = t.spec({"sleep"});  // no braced list inside co_await (GCC 12)
        made[i] = co_await t.pl->create(spec);
      };
      asio::co_spawn(t.io(), one, asio::detached);  // all under way at once, on the pool's threads
    }
    co_return;
  };
  t.run(all());
  for (int i = 0; i < 100; ++i) {
    bool done = true;
    for (const auto& m : made) done = done && m.has_value();
    if (done) break;
    t.pump(50ms);
  }
  std::set<uint32_t> cids;
  for (const auto& m : made) {
    ASSERT_TRUE(m.has_value() && *m) << (m && !*m ? (*m).error().message() : "not done");
    uint32_t cid = (*m)->vsockCid;
    EXPECT_NE(cid, 3u);
    EXPECT_NE(cid, 5u);
    EXPECT_GE(cid, 3u);
    cids.insert(cid);
  }
  EXPECT_EQ(cids.size(), size_t{kCreates});
  EXPECT_EQ(cids, (std::set<uint32_t>{4, 6, 7, 8, 9, 10}));
}

TEST(VsockTransport, WithoutVhostVsockNothingGetsACidAndVirtioSerialIsUsed) {
  TestVch t(true, false);
  auto c = t.created({"echo", "serial"});
  EXPECT_EQ(c.vsockCid, 0u);
  EXPECT_FALSE(t.hv.spec(t.vm(c.id))->vsockCid);
  EXPECT_EQ(hv::domainXml(*t.hv.spec(t.vm(c.id)), "qemu").find("<vsock"), std::string::npos);
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  ASSERT_TRUE(t.run(t.pl->wait(c.id, WaitCondition::kNotRunning)));
  EXPECT_EQ(stdoutOf(t, c.id), "serial\n");  // over its unix socket
  EXPECT_EQ(countCalls(t, "vsockCids"), 0u);  // no CID was ever chosen, not even the template's
}

// Whether the port layer reaches the container's tether: an exec runs and exits 0.
bool reachable(TestVch& t, const std::string& id, const std::string& session) {
  vsock::SessionSpec e;
  e.id = session;
  e.argv = {"echo", "here"};
  auto exec = t.run(t.pl->exec(id, e));
  if (!exec) return false;
  auto done = t.run(t.pl->waitSession(id, session));
  return done && done->exitCode == 0;
}

// An endpoint restarted under the other transport (vhost-vsock loaded or gone, or the forcing
// variable changed): a container's VM takes the VCH's transport at its next start, and a running
// one is reached as its VM was made.
TEST(VsockTransport, AContainerTakesTheVchsTransportAtItsNextStart) {
  TestVch t(false, false);
  auto c = t.created({"sleep"});
  EXPECT_EQ(c.vsockCid, 0u);
  t.useVsock = true;
  t.restartPortLayer();
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  uint32_t cid = cidOf(t, c.id);
  EXPECT_GE(cid, 3u);
  EXPECT_EQ(t.pl->find(c.id)->spec.vsockCid, cid);
  EXPECT_TRUE(reachable(t, c.id, "e1"));
  t.restartPortLayer();  // recovery reads the CID from the VM's metadata and reconnects there
  EXPECT_TRUE(reachable(t, c.id, "e2"));
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 1)));
  t.useVsock = false;
  t.restartPortLayer();
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  EXPECT_EQ(cidOf(t, c.id), 0u);  // dropped: virtio-serial again
  EXPECT_EQ(t.pl->find(c.id)->spec.vsockCid, 0u);
  EXPECT_TRUE(reachable(t, c.id, "e3"));
  EXPECT_EQ(t.hv.vsockCids()->size(), 0u);  // its old CID is free
}

}  // namespace
}  // namespace vic::pl
