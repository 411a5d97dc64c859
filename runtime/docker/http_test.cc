#include "runtime/docker/http.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>

#include "common/json.h"
#include "runtime/docker/accept.h"
#include "runtime/docker/test_stream.h"

namespace vic::docker {
namespace {

TEST(Http, VersionedAndUnversionedPaths) {
  Request r;
  ASSERT_TRUE(splitVersion("/v1.45/containers/json?all=1&filters=%7B%7D", r));
  EXPECT_EQ(r.apiVersion, "1.45");
  EXPECT_EQ(r.path, "/containers/json");
  EXPECT_TRUE(r.flag("all"));
  EXPECT_EQ(r.param("filters"), "{}");
  Request u;
  ASSERT_TRUE(splitVersion("/_ping", u));
  EXPECT_EQ(u.path, "/_ping");
  Request n;
  auto st = splitVersion("/v1.51/info", n);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "client version 1.51 is too new. Maximum supported API version is 1.50");
}

TEST(Http, BodyLimitsByTarget) {
  Limits l;
  l.headerBytes = 1000;
  l.bodyBytes = 10;
  l.uploadBytes = 100;
  EXPECT_EQ(bodyLimitFor("/v1.50/containers/create?name=x", l), 10u);
  EXPECT_EQ(bodyLimitFor("/exec/abc/start", l), 10u);
  EXPECT_EQ(bodyLimitFor("/v1.50/images/load?quiet=1", l), 100u);
  EXPECT_EQ(bodyLimitFor("/containers/x/archive?path=%2Ftmp", l), 100u);
  EXPECT_EQ(bodyLimitFor("/build", l), 100u);
}

TEST(Http, ErrorsAndUpgradeBytes) {
  auto r = errorResponse(Error(Errc::kNotFound, "No such container: x"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(r.body, "{\"message\":\"No such container: x\"}\n");
  EXPECT_EQ(errorResponse(Error(Errc::kNotModified, "")).status, 304);
  EXPECT_EQ(upgradeHeader("application/vnd.docker.raw-stream"),
            "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
  std::string s = serialize(jsonResponse(200, "{}"), false, true);
  EXPECT_EQ(s.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(s.find("Api-Version: 1.50\r\n"), std::string::npos);
  EXPECT_NE(s.find("Content-Length: 2\r\n\r\n{}"), std::string::npos);
  EXPECT_EQ(chunk("abc"), "3\r\nabc\r\n");
  // a streamed answer closes the connection and must say so, or the client reuses it
  std::string streamed = chunkedHeader(200, "application/json");
  EXPECT_NE(streamed.find("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"), std::string::npos);
}

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Pieces = std::vector<ScriptedStream::Piece>;

// Runs readRequest over scripted pieces to its end; `elapsed` says how long it took.
struct ReadOutcome {
  Result<std::optional<Request>> result = Error(Errc::kInternal, "not run");
  bool closed = false;
  Clock::duration elapsed{};
};

ReadOutcome readScripted(Pieces pieces, const Limits& limits, bool holdOpen = true) {
  asio::io_context io;
  ScriptedStream s(io.get_executor(), std::move(pieces), holdOpen);
  ReadOutcome out;
  std::string leftover;
  auto start = Clock::now();
  auto read = [&]() -> asio::awaitable<void> { out.result = co_await readRequest(s, leftover, limits); };
  asio::co_spawn(io, read(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  out.elapsed = Clock::now() - start;
  out.closed = s.closed();
  return out;
}

Limits fastLimits() {
  Limits l;
  l.idle = 300ms;
  l.header = 200ms;
  l.bodyStall = 200ms;
  return l;
}

Pieces trickle(const std::string& text, std::chrono::milliseconds every) {
  Pieces out;
  for (char c : text) out.push_back({std::string(1, c), every});
  return out;
}

// Slowloris: header bytes trickled forever used to hold the connection (and a descriptor) for good.
TEST(HttpDeadlines, TrickledHeaderIsCutAtTheHeaderDeadline) {
  std::string header = "GET /v1.50/version HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'a');
  auto out = readScripted(trickle(header, 10ms), fastLimits());
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().code(), Errc::kTimeout);
  EXPECT_EQ(out.result.error().message(), "request header not complete within 0.20s");
  EXPECT_TRUE(out.closed);
  EXPECT_LT(out.elapsed, 1s);
}

TEST(HttpDeadlines, IdleKeepAliveConnectionEndsCleanly) {
  auto out = readScripted({}, fastLimits());
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->has_value());
  EXPECT_TRUE(out.closed);
  EXPECT_GE(out.elapsed, 300ms);
  EXPECT_LT(out.elapsed, 2s);
}

TEST(HttpDeadlines, StalledBodyIsCutButASlowOneThatMovesIsNot) {
  std::string header = "POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
  auto stalled = readScripted({{header}, {"abc"}}, fastLimits());
  ASSERT_FALSE(stalled.result);
  EXPECT_EQ(stalled.result.error().message(), "request body stalled for more than 0.20s");
  // 10 pieces 50 ms apart: 500 ms in all, more than every deadline, but never stalled.
  Pieces moving{{header}};
  for (int i = 0; i < 10; ++i) moving.push_back({"x", 50ms});
  auto slow = readScripted(moving, fastLimits());
  ASSERT_TRUE(slow.result) << slow.result.error().message();
  ASSERT_TRUE(slow.result->has_value());
  EXPECT_EQ((*slow.result)->body, std::string(10, 'x'));
}

// The answer to a refused header went out and the connection closed with the rest of the
// client's header unread: the kernel reset it and the client saw "broken pipe", not the 400.
TEST(HttpLimits, RefusalLingersUntilTheClientStopsSending) {
  asio::io_context io;
  ScriptedStream s(io.get_executor(), {{std::string(100000, 'a')}, {std::string(50000, 'b'), 20ms}});
  auto drain = [&]() -> asio::awaitable<void> { co_await lingerClose(s, 1s, 1 << 20); };
  asio::co_spawn(io, drain(), asio::detached);
  io.run();
  EXPECT_TRUE(s.drained());
  EXPECT_TRUE(s.closed());
  // a client that never stops is cut at the linger deadline
  asio::io_context io2;
  ScriptedStream endless(io2.get_executor(), {{"x"}}, true);
  auto start = Clock::now();
  auto drainEndless = [&]() -> asio::awaitable<void> { co_await lingerClose(endless, 100ms, 1 << 20); };
  asio::co_spawn(io2, drainEndless(), asio::detached);
  io2.run();
  EXPECT_TRUE(endless.closed());
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(HttpLimits, HugeHeaderIsRefused) {
  std::string header = "GET /_ping HTTP/1.1\r\nX-Big: " + std::string(100000, 'a') + "\r\n\r\n";
  auto out = readScripted({{header}}, Limits{});
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().message(), "request header too large");
  EXPECT_EQ(errorResponse(out.result.error()).status, 400);
}

std::string chunked(const std::string& target, size_t bytes) {
  std::string out = "POST " + target + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t sent = 0; sent < bytes; sent += 4096) out += chunk(std::string(std::min<size_t>(4096, bytes - sent), 't'));
  return out + std::string(kLastChunk);
}

// docker load and PUT archive bodies were held whole in memory, up to 512 MiB each.
TEST(HttpUploads, BodiesGoToARootOnlyFileNotMemory) {
  auto dir = std::filesystem::temp_directory_path() / ("vic-spool-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Limits l;
  l.spoolDir = dir.string();
  auto out = readScripted({{chunked("/v1.50/images/load?quiet=1", 300000)}}, l, false);
  ASSERT_TRUE(out.result) << out.result.error().message();
  Request r = std::move(**out.result);
  EXPECT_TRUE(r.body.empty());
  ASSERT_TRUE(r.bodyFile);
  EXPECT_EQ(r.bodyFile->size(), 300000u);
  std::string path = r.bodyFile->path();
  struct stat st{};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 300000);
  r.bodyFile.reset();
  EXPECT_FALSE(std::filesystem::exists(path));  // removed with its last owner
  // JSON bodies stay in memory
  auto json = readScripted({{chunked("/containers/create", 10)}}, l, false);
  ASSERT_TRUE(json.result);
  EXPECT_EQ((*json.result)->body, std::string(10, 't'));
  EXPECT_FALSE((*json.result)->bodyFile);
  std::filesystem::remove_all(dir);
}

TEST(HttpUploads, OverTheCapIsRefusedInDockersWords) {
  Limits l;
  l.uploadBytes = 100000;
  auto out = readScripted({{chunked("/containers/x/archive?path=/", 200000)}}, l, false);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error().message(), "http: request body too large (the limit is 100000 bytes)");
  std::string declared = "PUT /containers/x/archive?path=/ HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n";
  auto big = readScripted({{declared}}, Limits{}, false);
  ASSERT_FALSE(big.result);
  EXPECT_EQ(big.result.error().message(), "http: request body too large (the limit is 512 MiB)");
}

// An error message quoting invalid UTF-8 (a path, a name) made nlohmann's dump throw out of
// the connection's coroutine, which ended the endpoint.
TEST(HttpErrors, InvalidUtf8InAMessageGivesAJsonError) {
  auto r = errorResponse(Error(Errc::kNotFound, "No such container: \xff\xfe" "abc"));
  EXPECT_EQ(r.status, 404);
  auto j = parseJson(r.body);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_NE(j["message"].get<std::string>().find("abc"), std::string::npos);
}

TEST(HttpRoutes, PlainStringRouting) {
  auto r = routeAfter("/containers/abc/start", "/containers/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, "abc");
  EXPECT_EQ(r->rest, "start");
  EXPECT_FALSE(routeAfter("/containers/abc", "/containers/")->rest);
  EXPECT_EQ(routeAfter("/containers/abc/", "/containers/")->rest, "");
  EXPECT_FALSE(routeAfter("/containers//start", "/containers/"));
  EXPECT_FALSE(routeAfter("/images/x", "/containers/"));
  EXPECT_TRUE(isLowerWord("json"));
  EXPECT_FALSE(isLowerWord("Json"));
  // a 60k-character id is split, not recursed over
  std::string longId(60000, 'a');
  EXPECT_EQ(routeAfter("/volumes/" + longId, "/volumes/")->id, longId);
}

TEST(ConnectionLimiter, OverTheCapTheOldestIdleConnectionMakesRoom) {
  ConnectionLimiter limiter(2);
  int closedA = 0, closedB = 0, closedC = 0;
  auto a = limiter.admit([&] { ++closedA; });
  auto b = limiter.admit([&] { ++closedB; });
  a->setBusy(true);  // answering a request: never closed for room
  auto c = limiter.admit([&] { ++closedC; });
  ASSERT_TRUE(c);
  EXPECT_EQ(closedA, 0);
  EXPECT_EQ(closedB, 1);
  EXPECT_EQ(limiter.open(), 2u);
  c->setBusy(true);
  EXPECT_FALSE(limiter.admit(nullptr));  // all busy: the new one is refused
  b.reset();
  c.reset();
  EXPECT_EQ(limiter.open(), 1u);
  EXPECT_TRUE(limiter.admit(nullptr));
}

// An acceptor whose accepts fail as scripted (EMFILE, ECONNABORTED), then succeed with
// numbered sockets; closed after `total` accepts.
struct ScriptedAcceptor {
  asio::any_io_executor ex;
  std::vector<boost::system::error_code> failures;
  int total = 0;
  int accepted = 0;
  size_t failed = 0;
  bool open = true;
  bool is_open() const { return open; }
  asio::any_io_executor get_executor() const { return ex; }
  template <class Token>
  asio::awaitable<std::tuple<boost::system::error_code, int>> async_accept(Token) {
    if (failed < failures.size()) co_return std::tuple(failures[failed++], -1);
    if (accepted == total) {
      open = false;
      co_return std::tuple(boost::system::error_code(asio::error::operation_aborted), -1);
    }
    co_return std::tuple(boost::system::error_code(), accepted++);
  }
};

// The accept loops ended for good on the first failed accept: ~1024 silent connections
// (EMFILE) stopped the API until a restart.
TEST(AcceptLoop, KeepsAcceptingAfterFailedAcceptsAndBacksOff) {
  asio::io_context io;
  namespace errc = boost::system::errc;
  ScriptedAcceptor a{io.get_executor(),
                     {errc::make_error_code(errc::too_many_files_open), errc::make_error_code(errc::too_many_files_open),
                      errc::make_error_code(errc::too_many_files_open_in_system), errc::make_error_code(errc::connection_aborted)},
                     3};
  std::vector<int> got;
  auto start = Clock::now();
  asio::co_spawn(io, acceptLoop(a, [&](int s) { got.push_back(s); }, 20ms), asio::detached);
  io.run();
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
  EXPECT_GE(Clock::now() - start, 80ms);  // four failures, each followed by a pause
}

}  // namespace
}  // namespace vic::docker

namespace vic::docker {
namespace {

// An attach copies stdout and stderr from two coroutines onto one client stream: their writes
// go out one after the other, never interleaved.
TEST(HttpStream, ConcurrentWritesDoNotInterleave) {
  asio::io_context io;
  asio::local::stream_protocol::socket a(io), b(io);
  asio::local::connect_pair(a, b);
  auto stream = unixStream(std::move(a));
  std::string one(4 << 20, 'a'), two(4 << 20, 'b');  // far beyond a socket buffer: many write_some each
  int done = 0;
  for (const std::string* d : {&one, &two}) {
    asio::co_spawn(io, [&, d]() -> asio::awaitable<void> {
      EXPECT_TRUE(co_await stream->writeAll(*d));
      if (++done == 2) stream->shutdownSend();
    }, asio::detached);
  }
  std::string got;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    std::vector<char> buf(64 * 1024);
    while (true) {
      auto [ec, n] = co_await b.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      got.append(buf.data(), n);
    }
  }, asio::detached);
  io.run();
  ASSERT_EQ(got.size(), one.size() + two.size());
  EXPECT_TRUE(got == one + two || got == two + one) << "the two writes interleaved";
}

}  // namespace
}  // namespace vic::docker
