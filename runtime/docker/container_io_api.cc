// A container's streams: attach (hijacked stdio), logs (from its output log, -f follows it)
// and stats (one sample, or one a second).
#include <unistd.h>

#include <fstream>

#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/docker_json.h"
#include "runtime/docker/query.h"
#include "runtime/portlayer/output_log.h"

namespace vic::docker {

// Copies a session's output to the client (framed unless TTY) and the client's input to the
// session, until the session's output ends; then the connection is closed (docker run waits
// for that).
asio::awaitable<void> DockerApi::pump(Ctx& c, const pl::SessionStreams& s, bool tty, bool multiplexed) {
  auto conn = s.conn;
  auto ex = co_await asio::this_coro::executor;
  auto outputs = std::make_shared<int>(0);
  auto finished = std::make_shared<vsock::Notifier>(ex);
  auto copyOut = [conn, &c, tty, multiplexed, outputs, finished](vsock::ChannelId ch, uint8_t stream) -> asio::awaitable<void> {
    std::vector<uint8_t> buf(32 * 1024);
    while (true) {
      auto n = co_await conn->read(ch, buf);
      if (!n || *n == 0) break;
      std::string data(reinterpret_cast<const char*>(buf.data()), *n);
      if (!tty && multiplexed) data = stdcopyHeader(stream, *n) + data;
      if (!co_await c.s.writeAll(data)) break;
    }
    --*outputs;
    finished->notify();
  };
  if (s.channels.stdoutCh) {
    ++*outputs;
    asio::co_spawn(ex, copyOut(s.channels.stdoutCh, 1), asio::detached);
  }
  if (s.channels.stderrCh) {
    ++*outputs;
    asio::co_spawn(ex, copyOut(s.channels.stderrCh, 2), asio::detached);
  }
  if (s.channels.stdinCh) {
    std::string first = std::move(c.leftover);
    auto in = s.channels.stdinCh;
    asio::co_spawn(ex, [conn, &c, in, first]() -> asio::awaitable<void> {
      if (!first.empty()) {
        std::span<const uint8_t> b(reinterpret_cast<const uint8_t*>(first.data()), first.size());
        if (!co_await conn->write(in, b)) co_return;
      }
      std::vector<char> buf(32 * 1024);
      while (true) {
        size_t n = co_await c.s.readSome(asio::buffer(buf));
        if (n == 0) break;  // the client half-closed: stdin EOF (output keeps flowing)
        std::span<const uint8_t> b(reinterpret_cast<const uint8_t*>(buf.data()), n);
        if (!co_await conn->write(in, b)) co_return;
      }
      conn->closeWrite(in);
    }, asio::detached);
  }
  while (*outputs > 0) co_await finished->wait();
}

asio::awaitable<void> DockerApi::attach(Ctx& c, const std::string& id) {
  auto found = pl_.find(id);
  if (!found) co_return co_await c.fail(found.error());
  bool tty = found->spec.config.main.tty;
  bool multiplexed = !tty && versionAtLeast(c.req.apiVersion, 42);
  // An exited container is attached to and then started (docker start -a); the CLI itself
  // refuses `docker attach` to a stopped one.
  std::string ct = tty || !versionAtLeast(c.req.apiVersion, 42) ? "application/vnd.docker.raw-stream"
                                                                 : "application/vnd.docker.multiplexed-stream";
  if (!co_await c.streamHeader(upgradeHeader(ct))) co_return;
  const auto& spec = found->spec;
  pl::publishContainerEvent(pl_.events(), spec.id, spec.name, spec.imageRef, "attach");  // as docker: when asked, before a start
  auto streams = co_await pl_.attach(id, c.req.flag("stdin"), c.req.flag("stdout"), c.req.flag("stderr"));
  if (streams) co_await pump(c, *streams, tty, multiplexed);
  c.s.shutdownSend();
}

asio::awaitable<void> DockerApi::logs(Ctx& c, const std::string& id) {
  auto found = pl_.find(id);
  if (!found) co_return co_await c.fail(found.error());
  auto since = timestampParam(c.req, "since");
  if (!since) co_return co_await c.fail(since.error());
  auto until = timestampParam(c.req, "until");
  if (!until) co_return co_await c.fail(until.error());
  bool tty = found->spec.config.main.tty;
  bool wantOut = c.req.flag("stdout"), wantErr = c.req.flag("stderr"), follow = c.req.flag("follow");
  bool stamps = c.req.flag("timestamps");
  std::string ct = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  if (!co_await c.streamHeader(chunkedHeader(200, ct))) co_return;
  std::string file = pl_.logFile(id);
  uint64_t offset = 0;
  auto emit = [&](const std::vector<vsock::LogRecord>& recs, size_t skip) -> asio::awaitable<bool> {
    for (size_t i = skip; i < recs.size(); ++i) {
      const auto& r = recs[i];
      if (r.kind != vsock::LogKind::kStdout && r.kind != vsock::LogKind::kStderr) continue;
      bool isErr = r.kind == vsock::LogKind::kStderr;
      if ((isErr && !wantErr) || (!isErr && !wantOut)) continue;
      if (r.timeNs < *since || (*until > 0 && r.timeNs > *until)) continue;
      std::string data = stamps ? rfc3339Nano(r.timeNs) + " " + r.data : r.data;
      if (!tty) data = stdcopyHeader(isErr ? 2 : 1, data.size()) + data;
      if (!co_await c.s.writeAll(chunk(data))) co_return false;
    }
    co_return true;
  };
  if (auto tail = tailParam(c.req)) {
    if (!co_await emit(pl::outputTail(file, *tail, &offset), 0)) co_return;
  } else {
    for (uint64_t before = ~0ULL; before != offset;) {  // a window at a time: a log has no bound
      before = offset;
      if (!co_await emit(pl::readLogRecords(file, offset, &offset), 0)) co_return;
    }
  }
  while (follow) {
    auto st = pl_.find(id);
    bool running = st && st->status.state == pl::RunState::kRunning;
    asio::steady_timer t(io_, std::chrono::milliseconds(100));
    co_await t.async_wait(asio::use_awaitable);
    auto more = pl::readLogRecords(file, offset, &offset);
    if (!co_await emit(more, 0)) co_return;
    if (!running && more.empty()) break;
  }
  co_await c.s.writeAll(kLastChunk);
}

namespace {

// The host's CPU time over all CPUs since boot (docker's system_cpu_usage), from /proc/stat.
uint64_t systemCpuNs() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  uint64_t total = 0, v = 0;
  for (int i = 0; i < 8 && in >> v; ++i) total += v;
  return total * (1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)));
}

}  // namespace

asio::awaitable<void> DockerApi::stats(Ctx& c, const std::string& id) {
  bool stream = boolParam(c.req, "stream", true);
  bool oneShot = c.req.flag("one-shot");
  auto spec = pl_.find(id);
  if (!spec) co_return co_await c.fail(spec.error());
  auto sample = [this, &id]() -> asio::awaitable<StatsSample> {
    StatsSample s{pl::nowNs(), systemCpuNs(), std::nullopt};
    auto vm = co_await pl_.stats(id);
    if (vm) s.vm = *vm;
    co_return s;
  };
  auto pause = [this]() -> asio::awaitable<void> {
    asio::steady_timer t(io_, std::chrono::seconds(1));
    co_await t.async_wait(asio::use_awaitable);
  };
  StatsSample prev{}, cur = co_await sample();
  if (!stream) {
    if (!oneShot && cur.vm) {
      prev = cur;
      co_await pause();
      cur = co_await sample();
    }
    co_return co_await c.json(200, statsJson(spec->spec, cur, prev, info_.ncpu));
  }
  if (!co_await c.streamHeader(chunkedHeader(200, "application/json"))) co_return;
  while (true) {
    if (!co_await c.s.writeAll(chunk(dumpJson(statsJson(spec->spec, cur, prev, info_.ncpu)) + "\n"))) co_return;
    if (!cur.vm) break;  // the container stopped: the stream ends, as docker's does for a removed one
    co_await pause();
    prev = cur;
    cur = co_await sample();
  }
  co_await c.s.writeAll(kLastChunk);
}

}  // namespace vic::docker
