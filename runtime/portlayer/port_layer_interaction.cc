// Interaction: the tether connection of a running container, its sessions' stdio, signals,
// resizes and exits, and its VM's resource use.
#include "runtime/portlayer/port_layer.h"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "common/files.h"
#include "common/log.h"
#include "hypervisor/resource_pool.h"
#include "runtime/portlayer/output_log.h"
#include "runtime/portlayer/port_layer_keys.h"
#include "vsock/codec.h"

namespace vic::pl {
namespace fs = std::filesystem;
using vsock::Request;
using vsock::TetherConnection;

asio::awaitable<Result<TetherConnection::Ptr>> PortLayer::connectTether(std::string id) {
  vsock::Endpoint ep = tetherEndpoint(id);
  vsock::ConnectOptions opts;
  auto l = live(id);
  // A cold boot's tether answers once the kernel is up; a clone's at once, so a handshake that
  // hangs there is retried soon rather than waited on for the whole boot timeout.
  auto handshake = l->cloned ? std::min<std::chrono::milliseconds>(opts_.bootTimeout, std::chrono::seconds(10))
                             : std::chrono::duration_cast<std::chrono::milliseconds>(opts_.bootTimeout);
  opts.handshakeTimeout = handshake;
  auto deadline = std::chrono::steady_clock::now() + opts_.bootTimeout;
  while (true) {
    auto c = co_await TetherConnection::connect(ep, opts);
    if (c) co_return c;
    if (l->removed || !running(id) || l->stoppedBoot == l->boots || std::chrono::steady_clock::now() > deadline) {
      co_return std::move(c).error().wrap("connecting to container " + shortId(id));
    }
    asio::steady_timer t(io_, std::chrono::milliseconds(50));
    co_await t.async_wait(asio::use_awaitable);
  }
}

// The container's tether connection, connecting once (concurrent callers share it).
asio::awaitable<Result<TetherConnection::Ptr>> PortLayer::connection(const std::string& id) {
  auto l = live(id);
  while (l->connecting) co_await l->changed.wait();
  if (l->conn && l->conn->alive()) co_return l->conn;
  l->connecting = true;
  auto c = co_await connectTether(id);
  if (c) {
    if (auto told = co_await deliverIdentity(id, *c); !told) c = std::move(told).error();
  }
  l->connecting = false;
  if (c) l->conn = *c;
  l->changed.notify();
  co_return c;
}

// A running container found at recovery: reconnect, and release its main session if the
// endpoint died between power-on and Unblock (no attach can be pending after a restart).
asio::awaitable<void> PortLayer::reconnect(std::string id) {
  auto conn = co_await connection(id);
  if (conn) co_await unblockMain(id, *conn);
}

asio::awaitable<void> PortLayer::unblockMain(const std::string& id, TetherConnection::Ptr conn) {
  Request unblock = vsock::Unblock{"main"};
  if (auto r = co_await conn->call(unblock); !r) log::warn("portlayer", "unblocking " + shortId(id) + ": " + r.error().message());
}

asio::awaitable<std::string> PortLayer::launchError(const std::string& id, TetherConnection::Ptr conn) {
  if (conn) {
    Request list = vsock::ListSessions{};
    auto r = co_await conn->call(list);
    if (auto* sessions = r ? std::get_if<vsock::SessionList>(&*r) : nullptr) {
      for (const auto& s : sessions->sessions) {
        if (s.id == "main" && s.exit) co_return s.exit->error;
      }
      co_return "";
    }
  }
  auto spec = specOf(id);  // tether powered off before we could ask: read its exit record
  if (!spec) co_return "";
  auto started = spec->annotations.find(kStartedKey);
  int64_t startedNs = started == spec->annotations.end() ? 0 : std::stoll(started->second);
  auto exit = live(id)->log.lastExit(logFile(id));
  co_return exit && exit->finishedNs >= startedNs ? exit->error : "";
}

asio::awaitable<Result<SessionStreams>> PortLayer::attach(const std::string& id, bool in, bool out, bool err) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  auto l = live(id);
  if (statusOf(*spec).paused) co_return Error(Errc::kConflict, "You cannot attach to a paused container, unpause it first");
  ++l->pendingAttach;
  struct Done {
    std::shared_ptr<Live> l;
    ~Done() {
      --l->pendingAttach;
      l->changed.notify();
    }
  } done{l};
  uint64_t failedStarts = l->failedStarts, stops = l->stops;
  log::Steps steps(log::Level::kDebug, "portlayer", "attach " + shortId(id));
  while (!(l->conn && l->conn->alive())) {  // attached before start: wait for it
    if (!specs_.count(id)) co_return noSuch(id);
    if (l->failedStarts != failedStarts) co_return Error(Errc::kConflict, "the container failed to start");
    auto st = statusOf(*spec);
    if (st.state == RunState::kRunning && !l->starting && !l->connecting) break;
    if (st.state == RunState::kExited && l->stops != stops) co_return Error(Errc::kConflict, "container exited");
    co_await l->changed.wait();
  }
  steps.step("started");
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  SessionStreams s{*conn, {}, "main"};
  bool tty = spec->config.main.tty;
  if (out || (err && tty)) s.channels.stdoutCh = *(*conn)->openChannel();
  if (err && !tty) s.channels.stderrCh = *(*conn)->openChannel();
  if (in) s.channels.stdinCh = *(*conn)->openChannel();
  for (auto ch : {s.channels.stdoutCh, s.channels.stderrCh}) {
    if (ch != 0) l->mainStreams.push_back(ch);
  }
  Request req = vsock::Attach{"main", s.channels};
  steps.step("channels");
  auto r = co_await (*conn)->call(req);
  steps.step("attached");
  if (!r) co_return std::move(r).error().wrap("attaching to " + shortId(id));
  co_return s;
}

// Tether's exit record of this run is in the log: the guest is powering off, or has while
// libvirtd is down and cannot say so (QEMU then stays, and a request to it is never answered).
bool PortLayer::mainEnded(const ContainerSpec& spec) {
  auto l = live(spec.id);
  auto started = spec.annotations.find(kStartedKey);
  if (l->starting || started == spec.annotations.end()) return false;
  auto exit = l->log.lastExit(logFile(spec.id));
  return exit && exit->finishedNs >= std::stoll(started->second);
}

Status PortLayer::guestAnswers(const ContainerSpec& spec, const std::string& whenPaused) {
  auto st = statusOf(spec);
  if (st.state != RunState::kRunning || mainEnded(spec)) return Error(Errc::kConflict, "Container " + spec.id + " is not running");
  if (st.paused) return Error(Errc::kConflict, "Container " + spec.id + whenPaused);
  return ok();
}

Status PortLayer::execAllowed(const std::string& id) {
  auto spec = specOf(id);
  if (!spec) return std::move(spec).error();
  return guestAnswers(*spec, " is paused, unpause the container before exec");
}

asio::awaitable<Result<SessionStreams>> PortLayer::exec(const std::string& id, vsock::SessionSpec session) {
  if (auto st = execAllowed(id); !st) co_return std::move(st).error();
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  SessionStreams s{*conn, {}, session.id};
  s.channels.stdoutCh = *(*conn)->openChannel();
  if (!session.tty) s.channels.stderrCh = *(*conn)->openChannel();
  if (session.openStdin) s.channels.stdinCh = *(*conn)->openChannel();
  Request req = vsock::Exec{session, s.channels};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error();
  co_return s;
}

asio::awaitable<Result<vsock::ExitStatus>> PortLayer::waitSession(const std::string& id, const std::string& session) {
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  Request req = vsock::Wait{session};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error();
  if (auto* e = std::get_if<vsock::ExitStatus>(&*r)) co_return *e;
  co_return Error(Errc::kProtocol, "tether answered wait without an exit status");
}

asio::awaitable<Status> PortLayer::resize(const std::string& id, const std::string& session, uint16_t rows, uint16_t cols) {
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  Request req = vsock::Resize{session, rows, cols};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error();
  co_return ok();
}

asio::awaitable<Status> PortLayer::signalSession(const std::string& id, const std::string& session, int signal) {
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  Request req = vsock::Signal{session, signal};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error();
  co_return ok();
}

asio::awaitable<Result<vsock::ProcessList>> PortLayer::processes(const std::string& id) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (auto st = guestAnswers(*spec, " is paused: its guest lists no processes until it is unpaused"); !st) {
    co_return std::move(st).error();
  }
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  Request req = vsock::ListProcesses{};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error().wrap("listing the processes of " + shortId(id));
  if (auto* list = std::get_if<vsock::ProcessList>(&*r)) co_return std::move(*list);
  co_return Error(Errc::kProtocol, "tether answered a process list request with something else");
}

asio::awaitable<Result<hv::VmStats>> PortLayer::stats(const std::string& id) {
  auto vmStats = [this, vm = vmName(id)] { return hv_.vmStats(vm); };
  co_return co_await offload(vmStats);
}

}  // namespace vic::pl
