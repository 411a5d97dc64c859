// The tether server in-process on a unix socket, driven by a small blocking host: template mode
// (instant clone) and its Identity request. The clone's machine-level steps (clock, RNG, PCI
// rescan) and entering the container are injected, so nothing here touches the test host.
#include "guest/tether/server.h"

#include <fcntl.h>
#include <poll.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/testing/temp_dir.h"
#include "vsock/codec.h"
#include "vsock/log_record.h"
#include "vsock/pump.h"

namespace vic::tether {
namespace {

using namespace std::chrono_literals;
using vsock::ResultBody;

// The host end, blocking: one request at a time, answered or timed out.
class TestHost : vsock::MuxHandler {
 public:
  static std::unique_ptr<TestHost> connect(const vsock::Endpoint& ep) {
    auto fd = vsock::connectEndpoint(ep);
    if (!fd || !vsock::setNonBlocking(fd->get())) return nullptr;
    std::unique_ptr<TestHost> h(new TestHost(std::move(*fd)));
    h->mux_.startHandshake(42);
    if (!h->pumpUntil([&] { return h->mux_.connected(); })) return nullptr;
    return h;
  }

  Result<ResultBody> call(const vsock::Request& req) {
    uint64_t id = next_++;
    std::string text = vsock::encode(vsock::RequestMsg{id, req});
    if (auto st = mux_.sendControl({reinterpret_cast<const uint8_t*>(text.data()), text.size()}); !st) {
      return std::move(st).error();
    }
    if (!pumpUntil([&] { return responses_.count(id) > 0; })) {
      return Error(Errc::kTimeout, "no answer to " + std::string(vsock::requestName(req)));
    }
    vsock::ResponseMsg r = std::move(responses_[id]);
    if (r.error) return *r.error;
    return r.body;
  }

 private:
  explicit TestHost(UniqueFd fd) : fd_(std::move(fd)) {}

  bool pumpUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline || !vsock::pumpOut(fd_.get(), mux_)) return false;
      pollfd p{fd_.get(), POLLIN, 0};
      ::poll(&p, 1, 20);
      auto st = vsock::pumpIn(fd_.get(), mux_, *this);
      if (!st || *st == vsock::PumpState::kPeerGone) return done();
    }
    return true;
  }
  void onControl(std::span<const uint8_t> message) override {
    auto msg = vsock::decode(message);
    if (msg && std::holds_alternative<vsock::ResponseMsg>(*msg)) {
      auto& r = std::get<vsock::ResponseMsg>(*msg);
      responses_[r.id] = r;
    }
  }
  void onData(vsock::ChannelId ch, std::span<const uint8_t> data) override { mux_.consumed(ch, data.size()); }

  UniqueFd fd_;
  vsock::Mux mux_{vsock::Role::kHost};
  uint64_t next_ = 1;
  std::map<uint64_t, vsock::ResponseMsg> responses_;
};

std::string hexSeed() {
  std::string hex;
  for (int i = 0; i < 64; ++i) hex += i % 2 ? "a5" : "0f";
  return hex;
}

vsock::ContainerConfig container(const std::string& id, bool runBlock = false) {
  vsock::ContainerConfig c;
  c.id = id;
  c.hostname = "clone";
  c.main.argv = {"true"};
  c.main.runBlock = runBlock;
  return c;
}

vsock::Identity identity(vsock::ContainerConfig c, std::string seed = hexSeed(),
                         int64_t clockNs = 1'700'000'000'000'000'000) {
  return vsock::Identity{std::move(c), clockNs, std::move(seed), "", false};
}

class TetherServer : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  // A template (awaitIdentity) or a cold boot with `cold` entered before serving.
  void start(bool awaitIdentity, std::optional<vsock::ContainerConfig> cold = std::nullopt) {
    ep_.kind = vsock::Endpoint::Kind::kUnix;
    ep_.path = (dir_ / "tether.sock").string();
    ServerOptions opts;
    opts.endpoint = ep_;
    opts.version = "test";
    opts.awaitIdentity = awaitIdentity;
    opts.logFd.reset(::open(logPath().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    opts.prepareClone = [this](const vsock::Identity& who, std::span<const uint8_t> seed) {
      std::lock_guard lock(mu_);
      calls_.push_back("prepare " + std::to_string(who.clockNs) + " " + std::to_string(seed.size()) + " bytes from " +
                       std::to_string(seed[0]));
      return prepareResult_;
    };
    opts.enter = [this](const vsock::ContainerConfig& c) {
      std::lock_guard lock(mu_);
      calls_.push_back("enter " + c.id);
      return enterResult_;
    };
    auto s = Server::create(std::move(opts));
    ASSERT_TRUE(s) << s.error().message();
    server_ = std::move(*s);
    if (cold) {
      ASSERT_TRUE(server_->boot(*cold));
    }
    thread_ = std::thread([this] {
      server_->run();
      served_ = true;
    });
  }

  std::unique_ptr<TestHost> host() {
    auto h = TestHost::connect(ep_);
    EXPECT_TRUE(h) << "connecting to the server";
    return h;
  }

  std::vector<std::string> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

  std::string logPath() const { return (dir_ / "output.log").string(); }

  std::optional<vsock::ExitStatus> exitRecord() const {
    std::ifstream in(logPath(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    std::string all = bytes.str();
    auto parsed = vsock::parseLog({reinterpret_cast<const uint8_t*>(all.data()), all.size()});
    for (const auto& r : parsed.records) {
      if (r.kind == vsock::LogKind::kExit) return *vsock::decodeExitStatus(r.data);
    }
    return std::nullopt;
  }

  bool servedWithin(std::chrono::milliseconds wait) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (!served_ && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return served_;
  }

  vic::testing::TempDir dir_{"vic-tether-server"};
  vsock::Endpoint ep_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::atomic<bool> served_{false};
  std::mutex mu_;
  std::vector<std::string> calls_;
  Status prepareResult_ = ok(), enterResult_ = ok();
};

bool awaiting(TestHost& h) {
  auto r = h.call(vsock::Ping{});
  EXPECT_TRUE(r) << r.error().message();
  return r && std::get<vsock::PingResult>(*r).awaitingIdentity;
}

TEST_F(TetherServer, TemplateAwaitsItsIdentityAndServesNothingElse) {
  start(true);
  auto h = host();
  ASSERT_TRUE(h);
  auto pong = h->call(vsock::Ping{});
  ASSERT_TRUE(pong);
  EXPECT_TRUE(std::get<vsock::PingResult>(*pong).awaitingIdentity);
  EXPECT_EQ(std::get<vsock::PingResult>(*pong).tetherVersion, "test");
  vsock::SessionSpec spec;
  spec.id = "e1";
  spec.argv = {"true"};
  for (vsock::Request refused : {vsock::Request(vsock::Exec{spec, {}}), vsock::Request(vsock::Launch{spec, {}}),
                                 vsock::Request(vsock::Stat{"/", false}), vsock::Request(vsock::Wait{"main"}),
                                 vsock::Request(vsock::Configure{})}) {
    auto r = h->call(refused);
    ASSERT_FALSE(r) << vsock::requestName(refused);
    EXPECT_EQ(r.error().code(), Errc::kConflict);
    EXPECT_EQ(r.error().message(), "no container yet: an instant clone template awaits its identity");
  }
  auto list = h->call(vsock::ListSessions{});
  ASSERT_TRUE(list);
  EXPECT_TRUE(std::get<vsock::SessionList>(*list).sessions.empty());
  EXPECT_TRUE(calls().empty());
}

TEST_F(TetherServer, BadSeedOrClockIsRefusedAndTheTemplateKeepsWaiting) {
  start(true);
  auto h = host();
  ASSERT_TRUE(h);
  std::string nonHex = hexSeed();
  nonHex[5] = 'x';
  struct Case {
    vsock::Identity who;
    std::string message;
  } cases[] = {
      {identity(container("c1"), "abcd"), "identity: seed has 4 hex digits, want 128"},
      {identity(container("c1"), nonHex), "identity: seed is not hex (at digit 4)"},
      {identity(container("c1"), hexSeed(), 0), "identity: no clock given"},
  };
  for (const auto& c : cases) {
    auto r = h->call(c.who);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
    EXPECT_EQ(r.error().message(), c.message);
  }
  EXPECT_TRUE(awaiting(*h));
  EXPECT_TRUE(calls().empty());
  EXPECT_TRUE(h->call(identity(container("c1"))));
  EXPECT_EQ(calls().size(), 2u);
}

TEST_F(TetherServer, IdentityPreparesTheCloneEntersAndRunsMain) {
  start(true);
  auto h = host();
  ASSERT_TRUE(h);
  auto r = h->call(identity(container("c1")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(std::holds_alternative<vsock::Empty>(*r));
  EXPECT_EQ(calls(), (std::vector<std::string>{"prepare 1700000000000000000 64 bytes from 15", "enter c1"}));
  // main (true) ends at once, and with it the server: the host learns the exit from the log
  EXPECT_TRUE(servedWithin(5s)) << "main ended: the server powers off";
  ASSERT_TRUE(exitRecord());
  EXPECT_EQ(exitRecord()->exitCode, 0);
}

TEST_F(TetherServer, OnlyTheFirstIdentityIsTakenAndRunBlockHoldsMain) {
  start(true);
  auto h = host();
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->call(identity(container("c1", true))));
  EXPECT_FALSE(awaiting(*h));
  auto again = h->call(identity(container("c2")));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Errc::kConflict);
  EXPECT_EQ(again.error().message(),
            "not awaiting an identity: this tether booted with its container or has one");
  auto list = h->call(vsock::ListSessions{});
  ASSERT_TRUE(list);
  auto sessions = std::get<vsock::SessionList>(*list).sessions;
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].id, "main");
  EXPECT_FALSE(sessions[0].running);
  EXPECT_FALSE(sessions[0].exit);
  EXPECT_FALSE(exitRecord());
  ASSERT_TRUE(h->call(vsock::Unblock{"main"}));
  EXPECT_TRUE(servedWithin(5s));
  ASSERT_TRUE(exitRecord());
  EXPECT_EQ(exitRecord()->exitCode, 0);
  EXPECT_EQ(calls().size(), 2u);  // c2 never entered
}

TEST_F(TetherServer, EnterFailureEndsTheBootWithTheErrorAndAnExitRecord) {
  enterResult_ = Error(Errc::kNotFound, "finding the container disk: no disk with serial or label 'containerfs'");
  start(true);
  auto h = host();
  ASSERT_TRUE(h);
  auto r = h->call(identity(container("c1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kNotFound);
  EXPECT_EQ(r.error().message(), "finding the container disk: no disk with serial or label 'containerfs'");
  auto exit = exitRecord();  // written before the answer
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exitCode, 125);
  EXPECT_EQ(exit->error, r.error().message());
  EXPECT_TRUE(servedWithin(5s));
}

TEST_F(TetherServer, PrepareFailureEndsTheBootWithoutEntering) {
  prepareResult_ = Error(Errc::kIo, "reseeding the clone's RNG: adding the seed (RNDADDENTROPY): Permission denied");
  start(true);
  auto h = host();
  ASSERT_TRUE(h);
  auto r = h->call(identity(container("c1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "reseeding the clone's RNG: adding the seed (RNDADDENTROPY): Permission denied");
  EXPECT_EQ(calls().size(), 1u);  // prepared (and failed), never entered
  auto exit = exitRecord();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exitCode, 125);
  EXPECT_TRUE(servedWithin(5s));
}

TEST_F(TetherServer, AColdBootRefusesAnIdentity) {
  start(false, container("cold", true));
  EXPECT_EQ(calls(), (std::vector<std::string>{"enter cold"}));
  auto h = host();
  ASSERT_TRUE(h);
  EXPECT_FALSE(awaiting(*h));
  auto r = h->call(identity(container("c1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kConflict);
  EXPECT_EQ(calls().size(), 1u);
}

TEST_F(TetherServer, TheTemplateKeepsServingAcrossHosts) {
  start(true);
  {
    auto templateHost = host();  // boots the template, pings, goes away; the VM is frozen
    ASSERT_TRUE(templateHost);
    EXPECT_TRUE(awaiting(*templateHost));
  }
  auto cloneHost = host();
  ASSERT_TRUE(cloneHost);
  EXPECT_TRUE(awaiting(*cloneHost));
  auto r = cloneHost->call(identity(container("c1", true)));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(awaiting(*cloneHost));
}

// The lv-rm hang of e2e.recovery: an exec that ends with the container (or just before it)
// is waited on once its output has ended. Power-off waits for those Waits, and the execs still
// running die with the container (docker's pid namespace), their Waits answered with 137.
vsock::ContainerConfig untilFileExists(const std::string& flag) {
  vsock::ContainerConfig c = container("cold");
  c.main.argv = {"sh", "-c", "until [ -f " + flag + " ]; do sleep 0.05; done"};
  return c;
}

vsock::Request execOf(const std::string& id, std::vector<std::string> argv) {
  vsock::SessionSpec spec;
  spec.id = id;
  spec.argv = std::move(argv);
  return vsock::Exec{spec, {}};
}

TEST_F(TetherServer, PowerOffWaitsUntilTheHostHasEveryExecsExit) {
  std::string flag = (dir_ / "go").string();
  start(false, untilFileExists(flag));
  auto h = host();
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->call(execOf("runs-on", {"sleep", "30"})));
  ASSERT_TRUE(h->call(execOf("ends-main", {"touch", flag})));
  std::this_thread::sleep_for(700ms);  // main ends, the host is slow to ask
  EXPECT_FALSE(served_) << "powered off before the host had the execs' exits";
  auto late = h->call(execOf("too-late", {"true"}));
  ASSERT_FALSE(late) << "an exec after main's end would hold the power-off";
  EXPECT_EQ(late.error().message(), "Container cold is not running");
  auto ended = h->call(vsock::Wait{"ends-main"});
  ASSERT_TRUE(ended) << ended.error().message();
  EXPECT_EQ(std::get<vsock::ExitStatus>(*ended).exitCode, 0);
  auto killed = h->call(vsock::Wait{"runs-on"});
  ASSERT_TRUE(killed) << killed.error().message();
  EXPECT_EQ(std::get<vsock::ExitStatus>(*killed).exitCode, 137);
  EXPECT_EQ(std::get<vsock::ExitStatus>(*killed).signal, 9);
  EXPECT_TRUE(servedWithin(2s)) << "every exit collected: power-off";
}

TEST_F(TetherServer, PowerOffWaitsForUncollectedExecsOnlyUntilTheGraceEnds) {
  std::string flag = (dir_ / "go").string();
  start(false, untilFileExists(flag));
  auto h = host();
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->call(execOf("never-waited", {"touch", flag})));
  auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(servedWithin(8s)) << "a host that never asks does not hold the VM on";
  EXPECT_GE(std::chrono::steady_clock::now() - before, 2s) << "the grace was not given";
  ASSERT_TRUE(exitRecord());
  EXPECT_EQ(exitRecord()->exitCode, 0);
}

}  // namespace
}  // namespace vic::tether
