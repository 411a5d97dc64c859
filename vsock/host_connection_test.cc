// The host end (TetherConnection on Asio) against the fake tether over a real unix socket.
#include "vsock/host_connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "vsock/fake_tether.h"

namespace vic::vsock {
namespace {

using Conn = TetherConnection::Ptr;

class HostConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = "/tmp/vic-fake-tether-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ep_ = *parseEndpoint("unix:" + path_);
    auto fake = FakeTether::listen(ep_);
    ASSERT_TRUE(fake) << fake.error().message();
    fake_ = std::move(*fake);
    thread_ = std::thread([this] { fake_->run(stop_); });
  }
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::unlink(path_.c_str());
  }

  template <class F>
  void run(F body) {
    asio::io_context io;
    bool finished = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      co_await body();
      finished = true;
    }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    io.run_for(std::chrono::seconds(30));
    EXPECT_TRUE(finished) << "test coroutine did not finish";
  }

  std::string path_;
  Endpoint ep_;
  std::unique_ptr<FakeTether> fake_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct SessionResult {
  std::string out;
  ExitStatus exit;
  std::string error;
};

asio::awaitable<std::string> readAll(Conn c, ChannelId ch) {
  std::string all;
  std::vector<uint8_t> buf(8192);
  while (true) {
    auto n = co_await c->read(ch, buf);
    if (!n || *n == 0) break;
    all.append(buf.begin(), buf.begin() + static_cast<long>(*n));
  }
  co_return all;
}

// `cmdline` is split on spaces (a string, not a braced list: g++ 12 miscompiles string
// literals in braced lists inside coroutines).
std::vector<std::string> split(const std::string& cmdline) {
  std::vector<std::string> out;
  std::istringstream in(cmdline);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

asio::awaitable<SessionResult> runSession(Conn c, std::string id, std::string cmdline,
                                          std::string input = {}, bool withStdin = false) {
  SessionResult r;
  ChannelSet chs;
  chs.stdoutCh = *c->openChannel();
  if (withStdin) chs.stdinCh = *c->openChannel();
  SessionSpec spec;
  spec.id = id;
  spec.argv = split(cmdline);
  Request launch = Launch{spec, chs};
  auto started = co_await c->call(launch);
  if (!started) {
    r.error = started.error().message();
    co_return r;
  }
  if (withStdin) {
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, [c, chs, input]() -> asio::awaitable<void> {
      auto st = co_await c->write(chs.stdinCh, std::span(reinterpret_cast<const uint8_t*>(input.data()), input.size()));
      EXPECT_TRUE(st);
      c->closeWrite(chs.stdinCh);
    }, asio::detached);
  }
  r.out = co_await readAll(c, chs.stdoutCh);
  Request wait = Wait{id};
  auto done = co_await c->call(wait);
  if (done) r.exit = std::get<ExitStatus>(*done);
  else r.error = done.error().message();
  co_return r;
}

TEST_F(HostConnection, PingNegotiatesVersion) {
  PingResult pong;
  run([&]() -> asio::awaitable<void> {
    auto c = co_await TetherConnection::connect(ep_);
    EXPECT_TRUE(c);
    if (!c) co_return;
    Request ping = Ping{};
    auto r = co_await (*c)->call(ping);
    EXPECT_TRUE(r);
    if (r) pong = std::get<PingResult>(*r);
    (*c)->shutdown();
  });
  EXPECT_EQ(pong.protocol, 1);
  EXPECT_EQ(pong.tetherVersion, "fake");
}

TEST_F(HostConnection, EchoOutputAndExitCodes) {
  SessionResult echo, three, missing;
  run([&]() -> asio::awaitable<void> {
    auto c = *co_await TetherConnection::connect(ep_);
    echo = co_await runSession(c, "a", "echo hello world");
    three = co_await runSession(c, "b", "exit 3");
    missing = co_await runSession(c, "c", "nosuchcmd");
    c->shutdown();
  });
  EXPECT_EQ(echo.out, "hello world\n");
  EXPECT_EQ(echo.exit.exitCode, 0);
  EXPECT_EQ(three.exit.exitCode, 3);
  EXPECT_EQ(missing.exit.exitCode, 127);
  EXPECT_EQ(missing.exit.error, "exec: \"nosuchcmd\": executable file not found in $PATH");
}

TEST_F(HostConnection, StdinRoundTripsAMegabyte) {
  std::string input(1 << 20, '\0');
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<char>((i * 131) >> 3);
  SessionResult r;
  run([&]() -> asio::awaitable<void> {
    auto c = *co_await TetherConnection::connect(ep_);
    r = co_await runSession(c, "cat", "cat", input, true);
    c->shutdown();
  });
  EXPECT_EQ(r.out.size(), input.size());
  EXPECT_TRUE(r.out == input);
  EXPECT_EQ(r.exit.exitCode, 0);
}

TEST_F(HostConnection, SignalEndsSessionWith128PlusN) {
  std::optional<ExitStatus> exit;
  std::string notRunning;
  run([&]() -> asio::awaitable<void> {
    auto c = *co_await TetherConnection::connect(ep_);
    SessionSpec s;
    s.id = "sleeper";
    s.argv = split("sleep");
    Request launch = Launch{s, {}}, winch = Signal{"sleeper", SIGWINCH},
            term = Signal{"sleeper", SIGTERM}, wait = Wait{"sleeper"};
    EXPECT_TRUE(co_await c->call(launch));
    EXPECT_TRUE(co_await c->call(winch));  // ignored, like a shell
    EXPECT_TRUE(co_await c->call(term));
    auto w = co_await c->call(wait);
    if (w) exit = std::get<ExitStatus>(*w);
    auto again = co_await c->call(term);
    if (!again) notRunning = again.error().message();
    c->shutdown();
  });
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exitCode, 143);
  EXPECT_EQ(exit->signal, SIGTERM);
  EXPECT_EQ(notRunning, "session sleeper is not running");
}

TEST_F(HostConnection, StalledChannelDoesNotBlockOthers) {
  std::string echoOut;
  bool pinged = false;
  size_t firstRead = 0;
  run([&]() -> asio::awaitable<void> {
    auto c = *co_await TetherConnection::connect(ep_);
    ChannelSet flood;
    flood.stdoutCh = *c->openChannel();
    SessionSpec s;
    s.id = "flood";
    s.argv = split("yes 50000000");
    Request launch = Launch{s, flood};
    EXPECT_TRUE(co_await c->call(launch));
    // Read a little of the flood, then stop reading it (a stalled attach client).
    std::vector<uint8_t> buf(1000);
    firstRead = (co_await c->read(flood.stdoutCh, buf)).valueOr(0);
    auto echo = co_await runSession(c, "e", "echo through");
    echoOut = echo.out;
    Request ping = Ping{};
    pinged = static_cast<bool>(co_await c->call(ping));
    c->shutdown();
  });
  EXPECT_GT(firstRead, 0u);
  EXPECT_EQ(echoOut, "through\n");
  EXPECT_TRUE(pinged);
}

TEST_F(HostConnection, ReconnectFindsRunningSessionAndReattaches) {
  std::vector<SessionInfo> seen;
  std::optional<ExitStatus> exit;
  run([&]() -> asio::awaitable<void> {
    {
      auto c = *co_await TetherConnection::connect(ep_);
      SessionSpec s;
      s.id = "main";
      s.argv = split("sleep");
      ChannelSet chs;
      chs.stdoutCh = *c->openChannel();
      Request launch = Launch{s, chs};
      EXPECT_TRUE(co_await c->call(launch));
      c->shutdown();  // the VCH endpoint goes away while the container runs
    }
    auto c2 = co_await TetherConnection::connect(ep_);
    EXPECT_TRUE(c2);
    if (!c2) co_return;
    auto c = *c2;
    Request ls = ListSessions{};
    auto list = co_await c->call(ls);
    if (list) seen = std::get<SessionList>(*list).sessions;
    ChannelSet chs;
    chs.stdoutCh = *c->openChannel();
    Request attach = Attach{"main", chs}, kill = Signal{"main", SIGKILL}, wait = Wait{"main"};
    EXPECT_TRUE(co_await c->call(attach));
    EXPECT_TRUE(co_await c->call(kill));
    auto w = co_await c->call(wait);
    if (w) exit = std::get<ExitStatus>(*w);
    auto rest = co_await readAll(c, chs.stdoutCh);  // ends with eof after the exit
    EXPECT_EQ(rest, "");
    c->shutdown();
  });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, "main");
  EXPECT_TRUE(seen[0].running);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exitCode, 137);
}

// A tether that drops the first connection attempt's Hello without an answer (as one whose port
// saw the previous host's close notice late does): the repeated Hello connects.
TEST_F(HostConnection, ARepeatedHelloConnectsWhenTheFirstIsLost) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::thread guest([fd = sv[1]] {
    Mux mux(Role::kGuest);
    struct : MuxHandler {
      void onConnected(uint16_t) override {}
      void onControl(std::span<const uint8_t>) override {}
      void onData(ChannelId, std::span<const uint8_t>) override {}
      void onEof(ChannelId) override {}
      void onClosed(ChannelId) override {}
      void onWritable(ChannelId) override {}
    } handler;
    uint8_t buf[4096];
    bool dropped = false;
    while (!mux.connected() || !dropped) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      if (!dropped) {  // the first Hello goes unanswered
        dropped = true;
        continue;
      }
      if (!mux.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)), handler)) break;
      auto out = mux.output();
      if (::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
      mux.consumeOutput(out.size());
    }
    ::shutdown(fd, SHUT_WR);
  });
  std::string result;
  run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TetherConnection::Socket sock(ex, asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), sv[0]);
    ConnectOptions opts;
    opts.handshakeTimeout = std::chrono::milliseconds(5000);
    opts.handshakeRetry = std::chrono::milliseconds(100);
    auto c = co_await TetherConnection::handshake(std::move(sock), opts);
    result = c ? "connected" : c.error().message();
    if (c) (*c)->shutdown();
  });
  guest.join();
  ::close(sv[1]);
  EXPECT_EQ(result, "connected");
}

TEST_F(HostConnection, ErrorsCarryTheEndpointAndCause) {
  std::string refused, timeout, lost;
  run([&]() -> asio::awaitable<void> {
    auto bad = co_await TetherConnection::connect(*parseEndpoint("unix:/nonexistent/tether.sock"));
    if (!bad) refused = bad.error().message();
    // A peer that accepts but never speaks the protocol.
    auto ex = co_await asio::this_coro::executor;
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    TetherConnection::Socket sock(ex, asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), sv[0]);
    ConnectOptions opts;
    opts.handshakeTimeout = std::chrono::milliseconds(200);
    auto silent = co_await TetherConnection::handshake(std::move(sock), opts);
    if (!silent) timeout = silent.error().message();
    ::close(sv[1]);
    // The connection drops while a request is outstanding.
    auto c = *co_await TetherConnection::connect(ep_);
    SessionSpec s;
    s.id = "w";
    s.argv = split("sleep");
    Request launch = Launch{s, {}}, wait = Wait{"w"};
    EXPECT_TRUE(co_await c->call(launch));
    asio::co_spawn(ex, [c]() -> asio::awaitable<void> { c->shutdown(); co_return; }, asio::detached);
    auto w = co_await c->call(wait);
    if (!w) lost = w.error().message();
  });
  EXPECT_EQ(refused, "connecting to tether at unix:/nonexistent/tether.sock: No such file or directory");
  EXPECT_EQ(timeout, "handshake failed: no handshake answer within 200 ms");
  EXPECT_EQ(lost, "tether connection lost: connection shut down by the host");
}

}  // namespace
}  // namespace vic::vsock
