#include "common/testing/test_ca.h"
#include "runtime/vic_machine/vch_manager.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/files.h"
#include "common/testing/temp_dir.h"
#include "runtime/vic_machine/vch_internal.h"

namespace vic::machine {
namespace {

namespace fs = std::filesystem;
using Calls = std::vector<std::string>;

Error notHere() { return Error(Errc::kNotImplemented, "not in this fake"); }

// Port groups only: all building a VCH asks of the hypervisor. Each call lands in `calls`.
class PortGroupHypervisor : public hv::Hypervisor {
 public:
  explicit PortGroupHypervisor(Calls& calls) : calls_(calls) {}
  Status createPortGroup(const hv::PortGroupSpec& pg) override {
    calls_.push_back("createPortGroup " + pg.name + " " + pg.gateway);
    return failCreate ? Status(Error(Errc::kIo, "bridge busy")) : ok();
  }
  Status deletePortGroup(const std::string& name) override {
    calls_.push_back("deletePortGroup " + name);
    return ok();
  }
  bool failCreate = false;

  Result<hv::HostInfo> hostInfo() override { return notHere(); }
  Status defineVm(const hv::VmSpec&) override { return notHere(); }
  Status powerOn(const std::string&) override { return notHere(); }
  Status powerOff(const std::string&) override { return notHere(); }
  Status shutdown(const std::string&) override { return notHere(); }
  Result<bool> pausedForIoError(const std::string&) override { return notHere(); }
  Status pause(const std::string&) override { return notHere(); }
  Status resume(const std::string&) override { return notHere(); }
  Status destroy(const std::string&) override { return notHere(); }
  Result<hv::PowerState> powerState(const std::string&) override { return notHere(); }
  Result<int64_t> runId(const std::string&) override { return notHere(); }
  Result<std::vector<std::string>> listVms() override { return notHere(); }
  Result<hv::VmStats> vmStats(const std::string&) override { return notHere(); }
  Result<std::map<std::string, std::string>> metadata(const std::string&) override { return notHere(); }
  Status setMetadata(const std::string&, const std::map<std::string, std::string>&) override { return notHere(); }
  Status attachDisk(const std::string&, const hv::DiskSpec&) override { return notHere(); }
  Status detachDisk(const std::string&, const std::string&) override { return notHere(); }
  Status attachNic(const std::string&, const hv::NicSpec&) override { return notHere(); }
  Status detachNic(const std::string&, const std::string&) override { return notHere(); }
  Result<std::string> qmp(const std::string&, const std::string&) override { return notHere(); }
  Status freezeTemplate(const std::string&, const std::string&) override { return notHere(); }
  Status instantClone(const std::string&, const hv::CloneSource&) override { return notHere(); }
  Result<std::vector<std::string>> listPortGroups() override { return notHere(); }
  Status setHostEntry(const std::string&, const hv::HostEntry&) override { return notHere(); }
  Status removeHostEntry(const std::string&, const hv::HostEntry&) override { return notHere(); }
  int subscribe(EventHandler) override { return 0; }
  void unsubscribe(int) override {}

 private:
  Calls& calls_;
};

class RecordingPools : public hv::PoolManager {
 public:
  explicit RecordingPools(Calls& calls) : calls_(calls) {}
  Status create(const std::string& pool, const hv::PoolLimits&) override { return record("create " + pool); }
  Status update(const std::string& pool, const hv::PoolLimits&) override { return record("update " + pool); }
  Status remove(const std::string& pool) override { return record("remove " + pool); }

 private:
  Status record(std::string call) {
    calls_.push_back("pool " + std::move(call));
    return ok();
  }
  Calls& calls_;
};

class RecordingEndpoint : public EndpointDaemon {
 public:
  explicit RecordingEndpoint(Calls& calls) : calls_(calls) {}
  Status start(const vch::VchConfig& cfg, int, const Progress&) override {
    calls_.push_back("endpoint start " + cfg.name);
    return failStart ? Status(Error(Errc::kUnavailable, "the endpoint did not come up")) : ok();
  }
  Status stop(const vch::VchConfig& cfg) override {
    calls_.push_back("endpoint stop " + cfg.name);
    return ok();
  }
  bool failStart = false;

 private:
  Calls& calls_;
};

// A state directory and the parts a VCH is made from, all in a temporary directory.
class BuildVch : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("VIC_STATE_DIR", dir_.str().c_str(), 1);
    for (auto f : {"vmlinuz", "bootstrap.img", "vic-endpoint", "vic-admin"}) std::ofstream(dir_ / f) << f;
  }
  void TearDown() override { ::unsetenv("VIC_STATE_DIR"); }

  VchPlan plan() {
    CreateOptions o;
    o.name = "vch-test";
    o.tls = false;
    o.apiPort = 0;
    o.kernel = (dir_ / "vmlinuz").string();
    o.bootstrap = (dir_ / "bootstrap.img").string();
    o.endpoint = (dir_ / "vic-endpoint").string();
    o.imageStore = (dir_ / "store").string();
    auto p = planVch(o);
    EXPECT_TRUE(p) << p.error().message();
    return p.valueOr(VchPlan{});
  }

  // Builds with the hypervisor, pools and endpoint kept in a scope that ends before the
  // caller looks at the calls: a rollback step that outlived them would touch freed memory.
  Result<vch::VchConfig> build(const VchPlan& p, bool failPortGroup, bool failEndpoint) {
    auto hypervisor = std::make_unique<PortGroupHypervisor>(calls_);
    auto pools = std::make_unique<RecordingPools>(calls_);
    auto endpoint = std::make_unique<RecordingEndpoint>(calls_);
    hypervisor->failCreate = failPortGroup;
    endpoint->failStart = failEndpoint;
    VchHost host{*pools, *hypervisor, *endpoint};
    return buildVch(p, host, [](const std::string&) {});
  }

  vic::testing::TempDir dir_{"vic-machine"};
  Calls calls_;
};

TEST_F(BuildVch, BuildsEveryPartAndKeepsThem) {
  auto p = plan();
  auto c = build(p, false, false);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(calls_, (Calls{"pool create vch-test", "createPortGroup vch-test-bridge " + p.bridgeGateway, "endpoint start vch-test"}));
  EXPECT_EQ(c->bridgeRange, p.config.bridgeRange);
  EXPECT_TRUE(fs::exists(c->endpoint));
  EXPECT_TRUE(fs::exists(dir_ / "store/vch.json"));
  EXPECT_TRUE(fs::exists(dir_ / "vchs/vch-test"));
  EXPECT_TRUE(findVch("vch-test"));
}

// vicadmin: its binary beside the endpoint, a port of its own on the API's address, and a
// login token only root reads, kept until rotated.
TEST_F(BuildVch, VicadminGetsItsBinaryAPortAndAToken) {
  auto p = plan();
  EXPECT_EQ(p.parts.admin, (dir_ / "vic-admin").string());
  auto c = build(p, false, false);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(readFile(adminBinary(*c)), "vic-admin");
  EXPECT_EQ(adminBinary(*c), (dir_ / "store/bin/vic-admin").string());
  // the API's address (the address rule is the API's), another port
  EXPECT_EQ(c->adminAddress.substr(0, c->adminAddress.rfind(':')), c->tcpAddress.substr(0, c->tcpAddress.rfind(':')));
  EXPECT_NE(c->adminAddress, c->tcpAddress);
  EXPECT_EQ(adminUrl(*c), "http://127.0.0.1:" + c->adminAddress.substr(c->adminAddress.rfind(':') + 1) + "/");  // 0.0.0.0: loopback
  EXPECT_EQ(c->adminLogFile, (dir_ / "store/vicadmin.log").string());
  EXPECT_EQ(fs::status(c->adminTokenFile).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  auto token = adminToken(*c, false);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->size(), 64u);
  EXPECT_EQ(token->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(*adminToken(*c, false), *token);  // kept
  auto rotated = adminToken(*c, true);
  ASSERT_TRUE(rotated);
  EXPECT_NE(*rotated, *token);
  EXPECT_EQ(*adminToken(*c, false), *rotated);
  EXPECT_EQ(findVch("vch-test")->adminAddress, c->adminAddress);
}

// vicadmin's port: never the API's, nor one another VCH uses; an asked-for port that is taken
// is refused with the flag named.
TEST(AdminPort, SkipsTheApiPortAndOtherVchsPorts) {
  vch::VchConfig other;
  other.tcpAddress = "127.0.0.1:2380";
  other.adminAddress = "127.0.0.1:2381";
  auto port = pickAdminPort("127.0.0.1", 0, 2378, {other});
  ASSERT_TRUE(port);
  EXPECT_NE(*port, 2378);
  EXPECT_NE(*port, 2380);
  EXPECT_NE(*port, 2381);
  EXPECT_GT(*port, 2378);
  auto taken = pickAdminPort("127.0.0.1", 2381, 2376, {other});
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().message(), "port 2381 on 127.0.0.1 is in use (--admin-port)");
  EXPECT_FALSE(pickAdminPort("127.0.0.1", 2376, 2376, {}));
}

TEST(AdminPort, AVchWithoutVicadminHasNoTokenOrUrl) {
  vch::VchConfig old;  // made before vicadmin
  old.name = "old";
  EXPECT_EQ(adminUrl(old), "");
  EXPECT_EQ(adminToken(old, false).error().message(), "VCH old has no vicadmin (vic-machine upgrade adds it)");
  EXPECT_FALSE(adminPid(old));
}

// The last step fails: every earlier one is undone, in reverse, on objects still alive.
TEST_F(BuildVch, AFailingEndpointUndoesEveryEarlierStep) {
  auto p = plan();
  auto c = build(p, false, true);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "the endpoint did not come up");
  EXPECT_EQ(calls_, (Calls{"pool create vch-test", "createPortGroup vch-test-bridge " + p.bridgeGateway, "endpoint start vch-test",
                           "endpoint stop vch-test", "deletePortGroup vch-test-bridge", "pool remove vch-test"}));
  EXPECT_FALSE(fs::exists(dir_ / "store"));
  EXPECT_FALSE(fs::exists(dir_ / "vchs/vch-test"));
  EXPECT_FALSE(findVch("vch-test"));
}

TEST_F(BuildVch, AFailingBridgeNetworkUndoesThePoolAndTheStore) {
  auto p = plan();
  auto c = build(p, true, false);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "creating bridge network vch-test-bridge: bridge busy");
  EXPECT_EQ(calls_, (Calls{"pool create vch-test", "createPortGroup vch-test-bridge " + p.bridgeGateway, "pool remove vch-test"}));
  EXPECT_FALSE(fs::exists(dir_ / "store"));
}

TEST_F(BuildVch, PlanRefusesAnExistingNameAndANonEmptyStore) {
  auto p = plan();
  ASSERT_TRUE(build(p, false, false));
  CreateOptions again;
  again.name = "vch-test";
  EXPECT_EQ(planVch(again).error().message(), "a VCH named vch-test already exists");
  again.name = "other";
  again.imageStore = (dir_ / "store").string();
  again.kernel = again.bootstrap = again.endpoint = (dir_ / "vmlinuz").string();
  EXPECT_EQ(planVch(again).error().code(), Errc::kConflict);
}

using vic::testing::kTestCa;

TEST_F(BuildVch, RegistriesAreNormalisedAndTheCasCopiedIntoTheStore) {
  std::ofstream(dir_ / "ca.pem") << kTestCa;
  CreateOptions o;
  o.name = "vch-reg";
  o.tls = false;
  o.kernel = (dir_ / "vmlinuz").string();
  o.bootstrap = (dir_ / "bootstrap.img").string();
  o.endpoint = (dir_ / "vic-endpoint").string();
  o.imageStore = (dir_ / "store").string();
  o.insecureRegistries = {"http://10.0.0.5:5000", "10.0.0.5:5000", "10.9.9.9/8"};
  o.registryCaFiles = {(dir_ / "ca.pem").string()};
  auto p = planVch(o);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->config.insecureRegistries, (std::vector<std::string>{"10.0.0.5:5000", "10.0.0.0/8"}));
  auto c = build(*p, false, false);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->registryCa, (dir_ / "store/certs/registry-ca.pem").string());
  EXPECT_EQ(readFile(c->registryCa), kTestCa);
  auto saved = findVch("vch-reg");
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->registryCa, c->registryCa);
  EXPECT_EQ(saved->insecureRegistries, p->config.insecureRegistries);
  EXPECT_NE(inspectText(*saved, false).find("  insecure registry: 10.0.0.0/8\n"), std::string::npos);

  o.name = "vch-bad";
  o.imageStore = (dir_ / "store2").string();
  o.insecureRegistries = {"ftp://x"};
  EXPECT_EQ(planVch(o).error().message(), "insecure registry ftp://x should not contain '://'");
  o.insecureRegistries.clear();
  o.registryCaFiles = {(dir_ / "vmlinuz").string()};
  EXPECT_EQ(planVch(o).error().message(), "--registry-ca: CA file " + (dir_ / "vmlinuz").string() + " holds no PEM certificate");
}

TEST(EndpointUnit, StartsAfterLibvirtAtBootAndAgainAfterACrash) {
  vch::VchConfig c;
  c.name = "vch1";
  c.datastore = "/var/lib/vic/vch1";
  c.endpoint = "/var/lib/vic/vch1/vic-endpoint";
  c.logFile = "/var/lib/vic/vch1/endpoint.log";
  EXPECT_EQ(endpointUnitText(c),
            "[Unit]\n"
            "Description=vic VCH endpoint vch1\n"
            "Wants=libvirtd.service virtlogd.service\n"
            "After=libvirtd.service virtlogd.service network-online.target\n"
            "\n"
            "[Service]\n"
            "ExecStart=/var/lib/vic/vch1/vic-endpoint --config /var/lib/vic/vch1/vch.json\n"
            "Restart=on-failure\n"
            "StandardOutput=append:/var/lib/vic/vch1/endpoint.log\n"
            "StandardError=append:/var/lib/vic/vch1/endpoint.log\n"
            "\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n");
}

TEST(EndpointUnit, VicadminHasAUnitOfItsOwn) {
  vch::VchConfig c;
  c.name = "vch1";
  c.datastore = "/var/lib/vic/vch1";
  c.endpoint = "/var/lib/vic/vch1/bin/vic-endpoint";
  c.adminLogFile = "/var/lib/vic/vch1/vicadmin.log";
  std::string text = adminUnitText(c);
  EXPECT_NE(text.find("Description=vic VCH admin page vch1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ExecStart=/var/lib/vic/vch1/bin/vic-admin --config /var/lib/vic/vch1/vch.json\n"), std::string::npos) << text;
  EXPECT_NE(text.find("StandardError=append:/var/lib/vic/vch1/vicadmin.log\n"), std::string::npos) << text;
  EXPECT_NE(text.find("After=libvirtd.service"), std::string::npos) << text;
}

// A pid file left by a reboot names a process that is not this VCH's endpoint: it is not read as one.
TEST(EndpointPid, AStalePidFileIsNotARunningEndpoint) {
  vic::testing::TempDir dir("endpoint-pid");
  vch::VchConfig c;
  c.name = "vch1";
  c.datastore = dir.str();
  c.pidFile = dir.str() + "/endpoint.pid";
  EXPECT_FALSE(endpointPid(c));  // no file
  std::ofstream(c.pidFile) << ::getpid() << "\n";  // alive, but this test, not vic-endpoint
  EXPECT_FALSE(endpointPid(c));
  std::ofstream(c.pidFile) << "999999999\n";  // no such process
  EXPECT_FALSE(endpointPid(c));
  std::ofstream(c.pidFile) << "garbage\n";
  EXPECT_FALSE(endpointPid(c));
}

}  // namespace
}  // namespace vic::machine
