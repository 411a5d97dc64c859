// The fake tether booted as a fork of an instant clone template (awaitIdentity), driven by the
// host end the port layer uses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/testing/temp_dir.h"
#include "vsock/codec.h"
#include "vsock/fake_tether.h"
#include "vsock/host_connection.h"
#include "vsock/log_record.h"

namespace vic::vsock {
namespace {

using namespace std::chrono_literals;

std::string hexSeed() { return std::string(64, '0') + std::string(64, 'F'); }

Identity identity(const std::string& id, const std::string& command, bool runBlock = false) {
  Identity who;
  who.config.id = id;
  std::istringstream words(command);
  for (std::string w; words >> w;) who.config.main.argv.push_back(w);
  who.config.main.runBlock = runBlock;
  who.clockNs = 1'700'000'000'000'000'000;
  who.seed = hexSeed();
  return who;
}

class FakeClone : public ::testing::Test {
 protected:
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  void boot(FakeGuestOptions guest) {
    ep_ = *parseEndpoint("unix:" + (dir_ / "tether.sock").string());
    guest.outputLog = (dir_ / "output.log").string();
    guest.halt = [this] { halted_ = true; };
    guest.onIdentity = [this](const Identity& who) {
      std::lock_guard lock(mu_);
      identities_.push_back(who);
    };
    auto fake = FakeTether::boot(ep_, std::move(guest));
    ASSERT_TRUE(fake) << fake.error().message();
    fake_ = std::move(*fake);
    thread_ = std::thread([this] { fake_->run(stop_); });
  }

  // Runs `body` against a fresh connection; fails the test if it does not finish.
  template <class F>
  void withHost(F body) {
    asio::io_context io;
    bool finished = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      auto c = co_await TetherConnection::connect(ep_);
      EXPECT_TRUE(c) << c.error().message();
      if (c) {
        co_await body(*c);
        (*c)->shutdown();
      }
      finished = true;
    }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    io.run_for(30s);
    EXPECT_TRUE(finished) << "host coroutine did not finish";
  }

  std::vector<LogRecord> logRecords() {
    std::ifstream in(dir_ / "output.log", std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    std::string all = bytes.str();
    return parseLog({reinterpret_cast<const uint8_t*>(all.data()), all.size()}).records;
  }

  std::vector<Identity> identities() {
    std::lock_guard lock(mu_);
    return identities_;
  }

  bool haltedWithin(std::chrono::milliseconds wait) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (!halted_ && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return halted_;
  }

  vic::testing::TempDir dir_{"vic-fake-clone"};
  Endpoint ep_;
  std::unique_ptr<FakeTether> fake_;
  std::atomic<bool> stop_{false}, halted_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Identity> identities_;
};

using Conn = TetherConnection::Ptr;

TEST_F(FakeClone, AwaitsItsIdentityThenRunsTheMainItBrings) {
  FakeGuestOptions guest;
  guest.main.argv = {"exit", "9"};  // a clone's boot-time config is the template's: unused
  guest.awaitIdentity = true;
  boot(std::move(guest));
  PingResult before;
  std::string refused;
  withHost([&](Conn c) -> asio::awaitable<void> {
    Request ping = Ping{}, wait = Wait{"main"}, who = identity("c1", "echo hello clone");
    auto p = co_await c->call(ping);
    if (p) before = std::get<PingResult>(*p);
    auto w = co_await c->call(wait);
    if (!w) refused = w.error().message();
    auto r = co_await c->call(who);
    EXPECT_TRUE(r) << r.error().message();
  });
  EXPECT_TRUE(before.awaitingIdentity);
  EXPECT_EQ(refused, "no container yet: an instant clone template awaits its identity");
  ASSERT_EQ(identities().size(), 1u);
  EXPECT_EQ(identities()[0].config.id, "c1");
  EXPECT_EQ(identities()[0].seed, hexSeed());
  EXPECT_TRUE(haltedWithin(5s));  // echo ends at once, and main's end halts the guest
  auto records = logRecords();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].kind, LogKind::kStart);
  EXPECT_EQ(records[1].data, "hello clone\n");
  EXPECT_EQ(decodeExitStatus(records[2].data)->exitCode, 0);
}

TEST_F(FakeClone, BadIdentityKeepsWaitingAndOnlyTheFirstGoodOneCounts) {
  FakeGuestOptions guest;
  guest.awaitIdentity = true;
  boot(std::move(guest));
  std::string badSeed, noClock, second;
  bool stillAwaiting = false, awaitingAfter = true;
  std::vector<SessionInfo> sessions;
  withHost([&](Conn c) -> asio::awaitable<void> {
    Identity bad = identity("c0", "sleep");
    bad.seed = "0123";
    Identity late = identity("c0", "sleep");
    late.clockNs = 0;
    Request ping = Ping{}, list = ListSessions{}, badReq = bad, lateReq = late,
            first = identity("c1", "sleep", true), other = identity("c2", "sleep");
    auto r = co_await c->call(badReq);
    if (!r) badSeed = r.error().message();
    r = co_await c->call(lateReq);
    if (!r) noClock = r.error().message();
    r = co_await c->call(ping);
    if (r) stillAwaiting = std::get<PingResult>(*r).awaitingIdentity;
    EXPECT_TRUE(co_await c->call(first));
    r = co_await c->call(ping);
    if (r) awaitingAfter = std::get<PingResult>(*r).awaitingIdentity;
    r = co_await c->call(other);
    if (!r) second = r.error().message();
    r = co_await c->call(list);
    if (r) sessions = std::get<SessionList>(*r).sessions;
  });
  EXPECT_EQ(badSeed, "identity: seed must be 128 hex digits");
  EXPECT_EQ(noClock, "identity: no clock given");
  EXPECT_TRUE(stillAwaiting);
  EXPECT_FALSE(awaitingAfter);
  EXPECT_EQ(second, "not awaiting an identity: this tether booted with its container or has one");
  ASSERT_EQ(sessions.size(), 1u);  // c1's main, held by runBlock
  EXPECT_FALSE(sessions[0].running);
  EXPECT_FALSE(sessions[0].exit);
  ASSERT_EQ(identities().size(), 1u);
  EXPECT_EQ(identities()[0].config.id, "c1");
}

TEST_F(FakeClone, EnterErrorIsTheAnswerAndMainsExitThenTheGuestHalts) {
  FakeGuestOptions guest;
  guest.awaitIdentity = true;
  guest.enterError = "finding the container disk: no disk with serial or label 'containerfs'";
  boot(std::move(guest));
  std::string error;
  withHost([&](Conn c) -> asio::awaitable<void> {
    Request who = identity("c1", "sleep");
    auto r = co_await c->call(who);
    if (!r) error = r.error().message();
  });
  EXPECT_EQ(error, "finding the container disk: no disk with serial or label 'containerfs'");
  EXPECT_TRUE(haltedWithin(5s));
  auto records = logRecords();
  ASSERT_EQ(records.size(), 1u);
  ASSERT_EQ(records[0].kind, LogKind::kExit);
  auto exit = decodeExitStatus(records[0].data);
  EXPECT_EQ(exit->exitCode, 125);
  EXPECT_EQ(exit->error, error);
}

TEST_F(FakeClone, AColdBootedGuestRefusesAnIdentity) {
  FakeGuestOptions guest;
  guest.main.argv = {"sleep"};
  boot(std::move(guest));
  bool awaiting = true;
  std::string refused;
  withHost([&](Conn c) -> asio::awaitable<void> {
    Request ping = Ping{}, who = identity("c1", "sleep");
    auto p = co_await c->call(ping);
    if (p) awaiting = std::get<PingResult>(*p).awaitingIdentity;
    auto r = co_await c->call(who);
    if (!r) refused = r.error().message();
  });
  EXPECT_FALSE(awaiting);
  EXPECT_EQ(refused, "not awaiting an identity: this tether booted with its container or has one");
  EXPECT_TRUE(identities().empty());
}

}  // namespace
}  // namespace vic::vsock
