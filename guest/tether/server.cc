#include "guest/tether/server.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>

#include "common/files.h"
#include "common/log.h"
#include "common/time.h"
#include "guest/tether/boot.h"
#include "guest/tether/dns_proxy.h"
#include "guest/tether/procfs.h"
#include "guest/tether/netlink.h"
#include "vsock/codec.h"
#include "vsock/log_record.h"
#include "vsock/pump.h"

namespace vic::tether {

using namespace vsock;

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDrainAfterExitNs = 10 * kSecond;  // wait this long for a slow host's credits
constexpr int64_t kShutdownGraceNs = 3 * kSecond;    // let the host read the exit before power-off

std::span<const uint8_t> bytesOf(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

ResponseMsg failure(uint64_t id, Errc code, std::string message) {
  return ResponseMsg{id, Error(code, std::move(message)), Empty{}};
}

ResponseMsg done(uint64_t id, ResultBody body = Empty{}) { return ResponseMsg{id, std::nullopt, std::move(body)}; }

}  // namespace

Server::Server(ServerOptions opts) : opts_(std::move(opts)), awaiting_(opts_.awaitIdentity) {}

Result<std::unique_ptr<Server>> Server::create(ServerOptions opts) {
  std::unique_ptr<Server> s(new Server(std::move(opts)));
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  s->sigFd_.reset(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!s->sigFd_) return Error::fromErrno("signalfd");
  const Endpoint& ep = s->opts_.endpoint;
  if (ep.kind == Endpoint::Kind::kPort) {
    auto fd = openPort(ep);
    if (!fd) return std::move(fd).error();
    s->conn_ = std::move(*fd);
  } else {
    auto fd = listenEndpoint(ep);
    if (!fd) return std::move(fd).error();
    s->listener_ = std::move(*fd);
    if (auto st = setNonBlocking(s->listener_.get()); !st) return std::move(st).error();
  }
  return s;
}

// ---- boot ----

Status Server::boot(ContainerConfig config) {
  config_ = std::move(config);
  Status st = opts_.enter ? opts_.enter(config_) : ok();
  if (!st) {
    failBoot(125, st.error().message());
    return st;
  }
  startMain();
  return ok();
}

void Server::failBoot(int exitCode, const std::string& message) {
  Session& s = sessions_["main"];
  s.isMain = s.started = s.exited = true;
  s.spec.id = "main";
  s.exit.session = "main";
  s.exit.exitCode = exitCode;
  s.exit.error = message;
  s.exit.startedNs = s.exit.finishedNs = s.exitedAtNs = nowNs();
  log::error("tether", message);
  // Nothing ran, so nothing is left to drain: the exit record goes to the log now, before a
  // clone's Identity is answered with the same error.
  finalize(s);
}

// A fork of the template learns who it is. A bad request (seed, clock) leaves it waiting for a
// good one; once accepted, the clone either runs its container or has failed its boot for good.
ResponseMsg Server::identify(uint64_t id, const vsock::Identity& who) {
  if (!awaiting_) {
    return failure(id, Errc::kConflict, "not awaiting an identity: this tether booted with its container or has one");
  }
  auto seed = decodeSeed(who.seed);
  if (!seed) return failure(id, Errc::kInvalidArgument, seed.error().wrap("identity").message());
  if (who.clockNs <= 0) return failure(id, Errc::kInvalidArgument, "identity: no clock given");
  awaiting_ = false;
  auto t0 = std::chrono::steady_clock::now();
  Status st = opts_.prepareClone ? opts_.prepareClone(who, *seed) : ok();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  log::info("tether", "identity received: container " + who.config.id + " (clock, RNG and PCI rescan: " +
                          std::to_string(ms) + " ms)");
  if (!st) {
    config_ = who.config;  // who it was meant to be, for the messages that follow
    failBoot(125, st.error().message());
  } else {
    st = boot(who.config);
  }
  if (!st) return failure(id, st.error().code(), st.error().message());
  return done(id);
}

// ---- sessions ----

void Server::startMain() {
  if (sessions_.count("main")) return;  // boot failed
  SessionSpec spec = config_.main;
  spec.id = "main";
  auto r = create(0, spec, {}, true);
  (void)r;
}

ResponseMsg Server::create(uint64_t id, const SessionSpec& spec, const ChannelSet& ch, bool isMain) {
  if (spec.id.empty()) return failure(id, Errc::kInvalidArgument, "session id missing");
  if (sessions_.count(spec.id)) return failure(id, Errc::kConflict, "session " + spec.id + " already exists");
  if (mainDone_) return failure(id, Errc::kConflict, "Container " + config_.id + " is not running");  // powering off
  Session& s = sessions_[spec.id];
  s.spec = spec;
  s.isMain = isMain;
  s.exit.session = spec.id;
  bind(s, ch);
  if (!spec.runBlock) start(s);
  return done(id, Started{s.proc.pid > 0 ? s.proc.pid : 0});
}

void Server::start(Session& s) {
  s.started = true;
  s.exit.startedNs = nowNs();
  StartFailure fail{0, ""};
  auto p = spawnSession(s.spec, config_.hostname, fail);
  if (!p) {
    s.exited = true;
    s.exit.exitCode = fail.exitCode;
    s.exit.error = fail.message;
    s.exit.finishedNs = s.exitedAtNs = nowNs();
    log::warn("tether", "session " + s.spec.id + ": " + fail.message);
    return;
  }
  s.proc = std::move(*p);
  if (s.isMain) log(LogKind::kStart, {});
}

void Server::bind(Session& s, const ChannelSet& ch) {
  for (ChannelId c : {ch.stdinCh, ch.stdoutCh, ch.stderrCh}) {
    if (c != 0 && !mux_.isOpen(c)) (void)mux_.open(c);
  }
  s.ch = ch;
  if (s.finalized) {  // attached after the end: just the end of stream
    for (ChannelId c : {ch.stdoutCh, ch.stderrCh}) {
      if (c != 0) mux_.sendEof(c);
    }
  }
}

void Server::killAllBut(const Session& main) {
  ::kill(-main.proc.pid, SIGKILL);
  for (auto& [id, s] : sessions_) {
    if (!s.isMain && s.started && !s.exited && s.proc.pid > 0) ::kill(-s.proc.pid, SIGKILL);
  }
}

// Once main has ended, power-off waits (up to kShutdownGraceNs) until the host has every exec's
// exit: an exec that ended with the container, or just before, is waited on after its output
// ends, and a Wait sent to a powered-off VM is never answered (libvirt, when it runs, tells
// the host the VM is off; when it does not, the host would wait for ever).
bool Server::execsCollected() const {
  for (const auto& [id, s] : sessions_) {
    if (!s.isMain && s.started && !(s.finalized && s.collected)) return false;
  }
  return true;
}

void Server::reap() {
  signalfd_siginfo info;
  while (::read(sigFd_.get(), &info, sizeof info) == sizeof info) {}
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {  // PID 1 reaps orphans too
    for (auto& [id, s] : sessions_) {
      if (s.proc.pid != pid || s.exited) continue;
      s.exited = true;
      s.exitedAtNs = nowNs();
      s.exit.finishedNs = s.exitedAtNs;
      if (WIFEXITED(status)) s.exit.exitCode = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) {
        s.exit.signal = WTERMSIG(status);
        s.exit.exitCode = 128 + s.exit.signal;
      }
      // As in docker's pid namespace, the container ends with its first process: what it left
      // in its group (`sleep &`) dies too instead of holding the output pipes open, and so do
      // the execs still running (each in a group of its own).
      if (s.isMain) killAllBut(s);
    }
  }
}

// Reads available output; returns false at end of stream. With a host attached, reads only
// what the channel can take now (credits), so a stalled client slows the process instead of
// filling memory; after the process has exited for a while, drains into the log only.
bool Server::readOutput(Session& s, UniqueFd& fd, ChannelId ch, LogKind kind, bool drainFreely) {
  bool attached = ch != 0 && mux_.isOpen(ch);
  size_t room = attached && !drainFreely ? mux_.writable(ch) : 64 * 1024;
  if (room == 0) return true;
  uint8_t buf[64 * 1024];
  ssize_t n = ::read(fd.get(), buf, std::min(room, sizeof buf));
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {  // EIO: pty slave closed
    fd.reset();
    return false;
  }
  if (n < 0) return true;
  std::span<const uint8_t> data(buf, static_cast<size_t>(n));
  if (s.isMain) log(kind, data);
  if (attached) mux_.send(ch, data);  // fits: at most writable(ch), or dropped after the drain deadline
  return true;
}

void Server::writeStdin(Session& s) {
  UniqueFd& fd = s.spec.tty ? s.proc.pty : s.proc.stdinW;
  if (!fd || s.stdinBuf.empty()) return;
  ssize_t n = ::write(fd.get(), s.stdinBuf.data(), s.stdinBuf.size());
  if (n > 0) {
    s.stdinBuf.erase(0, static_cast<size_t>(n));
    mux_.consumed(s.ch.stdinCh, static_cast<size_t>(n));
  } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
    s.stdinBuf.clear();  // the process closed its stdin
  }
}

void Server::pumpSession(Session& s, int64_t now) {
  if (!s.started || s.finalized) return;
  bool drainFreely = s.exited && now - s.exitedAtNs > kDrainAfterExitNs;
  if (s.proc.pty) {
    readOutput(s, s.proc.pty, s.ch.stdoutCh, LogKind::kStdout, drainFreely);
  } else {
    if (s.proc.stdoutR) readOutput(s, s.proc.stdoutR, s.ch.stdoutCh, LogKind::kStdout, drainFreely);
    if (s.proc.stderrR) readOutput(s, s.proc.stderrR, s.ch.stderrCh, LogKind::kStderr, drainFreely);
  }
  writeStdin(s);
  if (s.stdinEof && s.stdinBuf.empty() && s.proc.stdinW) s.proc.stdinW.reset();
  bool outputDone = !s.proc.pty && !s.proc.stdoutR && !s.proc.stderrR;
  // A pty stays open while background processes hold it: give up a second after the exit.
  if (s.exited && (outputDone || now - s.exitedAtNs > kSecond + (drainFreely ? 0 : kDrainAfterExitNs))) {
    finalize(s);
  }
}

void Server::finalize(Session& s) {
  s.finalized = true;
  s.proc = Process{};
  for (ChannelId c : {s.ch.stdoutCh, s.ch.stderrCh}) {
    if (c != 0) mux_.sendEof(c);
  }
  for (uint64_t w : s.waiters) reply(done(w, s.exit));
  s.collected = s.collected || !s.waiters.empty();
  s.waiters.clear();
  if (s.isMain) {
    auto record = encodeExitStatus(s.exit);
    log(LogKind::kExit, bytesOf(record));
    mainDone_ = true;
    shutdownDeadlineNs_ = nowNs() + kShutdownGraceNs;
    log::info("tether", "main session exited with " + std::to_string(s.exit.exitCode));
  }
}

void Server::log(LogKind kind, std::span<const uint8_t> data) {
  if (!opts_.logFd) return;
  std::vector<uint8_t> out;
  appendLogRecords(out, kind, nowNs(), data);
  size_t at = 0;
  while (at < out.size()) {
    ssize_t n = ::write(opts_.logFd.get(), out.data() + at, out.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the log is best effort; the live channel still has the data
    at += static_cast<size_t>(n);
  }
}

Server::Session* Server::byStdin(ChannelId ch) {
  for (auto& [id, s] : sessions_) {
    if (s.ch.stdinCh == ch) return &s;
  }
  return nullptr;
}

// ---- channel ----

void Server::reply(const ResponseMsg& r) {
  if (auto st = mux_.sendControl(bytesOf(encode(r))); !st) log::warn("tether", st.error().message());
}

void Server::onControl(std::span<const uint8_t> message) {
  auto msg = decode(message);
  if (!msg || !std::holds_alternative<RequestMsg>(*msg)) {
    log::warn("tether", "ignoring control message: " + (msg ? std::string("not a request") : msg.error().message()));
    return;
  }
  auto& req = std::get<RequestMsg>(*msg);
  auto resp = handle(req.id, req.body);
  if (resp.id != 0) reply(resp);
}

ResponseMsg Server::handle(uint64_t id, const Request& req) {
  if (std::holds_alternative<Ping>(req)) return done(id, PingResult{mux_.version(), opts_.version, awaiting_});
  if (auto* who = std::get_if<vsock::Identity>(&req)) return identify(id, *who);
  if (awaiting_ && !std::holds_alternative<ListSessions>(req)) {
    return failure(id, Errc::kConflict, "no container yet: an instant clone template awaits its identity");
  }
  if (auto* c = std::get_if<Configure>(&req)) {
    // new NICs (docker network connect of a running container) are configured; the rest of the
    // configuration only matters for sessions started from now on
    auto st = configureAddedNetworks(config_.networks, c->config.networks, std::chrono::seconds(10));
    if (c->config.embeddedDns && st) st = serveEmbeddedDns(c->config.dns);  // a new network's names too
    config_ = c->config;
    if (!st) return failure(id, st.error().code(), st.error().message());
    return done(id);
  }
  if (auto* l = std::get_if<Launch>(&req)) return create(id, l->session, l->channels, l->session.id == "main");
  if (auto* e = std::get_if<Exec>(&req)) return create(id, e->session, e->channels, false);
  if (std::holds_alternative<ListSessions>(req)) {
    SessionList list;
    for (auto& [name, s] : sessions_) {
      bool running = s.started && !s.exited;
      list.sessions.push_back({name, running, running ? s.proc.pid : 0, s.exited ? std::optional(s.exit) : std::nullopt});
    }
    return done(id, list);
  }
  if (std::holds_alternative<ListProcesses>(req)) return done(id, listProcesses("/proc", readFile("/etc/passwd")));
  if (auto* st = std::get_if<Stat>(&req)) {
    if (st->sync) ::sync();  // an older tether ignores the field: its snapshot is then as after a crash
    return stat(id, st->path);
  }
  if (std::holds_alternative<ReadFiles>(req) || std::holds_alternative<WriteFiles>(req)) {
    return startTransfer(id, req);
  }
  std::string name = sessionOf(req);
  auto it = sessions_.find(name);
  if (it == sessions_.end()) return failure(id, Errc::kNotFound, "no such session: " + name);
  return handleSession(id, it->second, req);
}

ResponseMsg Server::handleSession(uint64_t id, Session& s, const Request& req) {
  bool running = s.started && !s.exited;
  if (auto* a = std::get_if<Attach>(&req)) {
    bind(s, a->channels);
    return done(id);
  }
  if (std::holds_alternative<Unblock>(req)) {
    if (!s.started) start(s);
    return done(id);
  }
  if (auto* sig = std::get_if<Signal>(&req)) {
    if (!running) return failure(id, Errc::kConflict, "session " + s.spec.id + " is not running");
    // As docker: a signal goes to the session's process alone (its trap decides), SIGKILL to its group.
    pid_t target = sig->signal == SIGKILL ? -s.proc.pid : s.proc.pid;
    if (::kill(target, sig->signal) != 0 && ::kill(s.proc.pid, sig->signal) != 0) {
      return failure(id, Errc::kIo, Error::fromErrno("signalling " + s.spec.id).message());
    }
    return done(id);
  }
  if (auto* r = std::get_if<Resize>(&req)) {
    if (!s.proc.pty) return failure(id, Errc::kConflict, "session " + s.spec.id + " has no tty");
    if (auto st = setWindowSize(s.proc.pty.get(), r->rows, r->cols); !st) return failure(id, Errc::kIo, st.error().message());
    return done(id);
  }
  if (std::holds_alternative<CloseStdin>(req)) {
    s.stdinEof = true;
    return done(id);
  }
  if (std::holds_alternative<Wait>(req)) {
    if (s.finalized) {
      s.collected = true;
      return done(id, s.exit);
    }
    s.waiters.push_back(id);
    return ResponseMsg{0, std::nullopt, Empty{}};  // answered by finalize()
  }
  return failure(id, Errc::kNotImplemented, "request not handled");
}

ResponseMsg Server::stat(uint64_t id, const std::string& path) {
  std::string who = config_.name.empty() ? config_.id : config_.name;
  auto st = vsock::statPath(path, vsock::pathBase(path), "Could not find the file " + path + " in container " + who);
  if (!st) return failure(id, st.error().code(), st.error().message());
  return done(id, *st);
}

// ---- docker cp ----

ResponseMsg Server::startTransfer(uint64_t id, const Request& req) {
  std::string who = config_.name.empty() ? config_.id : config_.name;
  auto* r = std::get_if<ReadFiles>(&req);
  auto* w = std::get_if<WriteFiles>(&req);
  ChannelId ch = r ? r->channel : w->channel;
  if (ch == 0 || transfers_.count(ch)) return failure(id, Errc::kInvalidArgument, "bad channel for the copy");
  // Open before anything can fail: the host may already be sending the archive, and data on a
  // channel we closed is dropped, where data on one we never opened would end the connection.
  if (!mux_.isOpen(ch)) {
    if (auto st = mux_.open(ch); !st) return failure(id, st.error().code(), st.error().message());
  }
  auto refuse = [&](const Error& e) {
    mux_.close(ch);
    return failure(id, e.code(), e.message());
  };
  Transfer t;
  t.requestId = id;
  if (r) {
    auto src = vsock::ArchiveSource::open(r->path, "Could not find the file " + r->path + " in container " + who,
                                          {r->contentOnly, r->oneFilesystem, ""});
    if (!src) return refuse(src.error());
    t.source = std::move(*src);
  } else {
    auto sink = vsock::ArchiveSink::open(w->path, {w->keepOwner, w->noOverwriteDirNonDir});
    if (!sink && sink.error().code() == Errc::kNotFound) {
      return refuse(Error(Errc::kNotFound, "Could not find the file " + w->path + " in container " + who));
    }
    if (!sink) return refuse(sink.error());
    t.sink = std::move(*sink);
  }
  transfers_.emplace(ch, std::move(t));
  return ResponseMsg{0, std::nullopt, Empty{}};  // answered when the stream ends
}

void Server::endTransfer(ChannelId ch, ResponseMsg r) {
  reply(r);
  transfers_.erase(ch);
}

void Server::pumpTransfers() {
  std::vector<uint8_t> buf(64 * 1024);
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    ChannelId ch = it->first;
    Transfer& t = (it++)->second;
    if (!t.source) continue;
    while (size_t room = mux_.writable(ch)) {
      auto n = t.source->read(buf.data(), std::min(room, buf.size()));
      if (!n) {
        mux_.close(ch);
        endTransfer(ch, failure(t.requestId, n.error().code(), n.error().message()));
        break;
      }
      if (*n == 0) {
        mux_.sendEof(ch);
        endTransfer(ch, done(t.requestId));
        break;
      }
      mux_.send(ch, std::span(buf.data(), *n));
    }
  }
}

void Server::onData(ChannelId ch, std::span<const uint8_t> data) {
  if (auto t = transfers_.find(ch); t != transfers_.end() && t->second.sink) {
    auto st = t->second.reader.feed(data, *t->second.sink);
    mux_.consumed(ch, data.size());
    if (!st) {
      mux_.close(ch);
      endTransfer(ch, failure(t->second.requestId, st.error().code(), st.error().message()));
    }
    return;
  }
  Session* s = byStdin(ch);
  if (s == nullptr || s->exited) {
    mux_.consumed(ch, data.size());  // nobody reads it
    return;
  }
  s->stdinBuf.append(data.begin(), data.end());  // credited back as the process reads it
}

void Server::onEof(ChannelId ch) {
  if (auto t = transfers_.find(ch); t != transfers_.end() && t->second.sink) {
    endTransfer(ch, done(t->second.requestId));
    return;
  }
  if (Session* s = byStdin(ch)) s->stdinEof = true;
}

void Server::onClosed(ChannelId ch) {
  transfers_.erase(ch);  // the host gave up on the copy (or went away)
  for (auto& [id, s] : sessions_) {
    for (ChannelId* c : {&s.ch.stdinCh, &s.ch.stdoutCh, &s.ch.stderrCh}) {
      if (*c == ch) *c = 0;
    }
  }
}

void Server::disconnect() {
  for (ChannelId ch : mux_.reset()) onClosed(ch);
  hostGone_ = true;
  unconfirmed_ = false;
  if (listener_) conn_.reset();
}

void Server::serveChannel(short revents) {
  if (listener_ && !conn_) {
    if (revents & POLLIN) {
      sockaddr_storage peer{};
      socklen_t peerSize = sizeof peer;
      conn_.reset(::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &peerSize, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (conn_ && !fromHost(peer)) {
        log::warn("tether", "refused a connection that is not the host's");
        conn_.reset();
      }
      if (conn_) {
        for (ChannelId ch : mux_.reset()) onClosed(ch);
        hostGone_ = false;
      }
    }
    return;
  }
  if (revents & POLLIN) {
    if (hostGone_) {  // a host (re)connected to the port
      for (ChannelId ch : mux_.reset()) onClosed(ch);
      hostGone_ = false;
      unconfirmed_ = true;
    }
    auto st = pumpIn(conn_.get(), mux_, *this);
    bool gone = !st || *st == PumpState::kPeerGone;
    if (!st && !unconfirmed_) log::warn("tether", "host channel: " + st.error().message());
    if (gone && !unconfirmed_) return disconnect();
  } else if (revents & (POLLHUP | POLLERR)) {
    if (!hostGone_ && !unconfirmed_) disconnect();
    if (!unconfirmed_) return;
  }
  if (hostGone_) return;
  bool pending = mux_.hasOutput();
  if (!pumpOut(conn_.get(), mux_)) return disconnect();
  if (pending && !mux_.hasOutput()) unconfirmed_ = false;  // the host took our bytes: it is there
}

void Server::run() {
  while (!stopping_) {
    int64_t now = nowNs();
    for (auto& [id, s] : sessions_) pumpSession(s, now);
    pumpTransfers();
    if (mainDone_) {
      bool flushed = hostGone_ || !mux_.hasOutput();
      if ((flushed && (hostGone_ || execsCollected())) || now > shutdownDeadlineNs_) return;
    }
    if (!hostGone_ && conn_) (void)pumpOut(conn_.get(), mux_);

    std::vector<pollfd> fds;
    int channelFd = listener_ && !conn_ ? listener_.get() : conn_.get();
    short channelEvents = POLLIN;
    if (!hostGone_ && mux_.hasOutput()) channelEvents |= POLLOUT;
    fds.push_back({channelFd, channelEvents, 0});
    fds.push_back({sigFd_.get(), POLLIN, 0});
    for (auto& [id, s] : sessions_) {
      bool drainFreely = s.exited && now - s.exitedAtNs > kDrainAfterExitNs;
      auto wants = [&](ChannelId ch) { return drainFreely || ch == 0 || !mux_.isOpen(ch) || mux_.writable(ch) > 0; };
      if (s.proc.pty && wants(s.ch.stdoutCh)) fds.push_back({s.proc.pty.get(), POLLIN, 0});
      if (s.proc.stdoutR && wants(s.ch.stdoutCh)) fds.push_back({s.proc.stdoutR.get(), POLLIN, 0});
      if (s.proc.stderrR && wants(s.ch.stderrCh)) fds.push_back({s.proc.stderrR.get(), POLLIN, 0});
      UniqueFd& in = s.spec.tty ? s.proc.pty : s.proc.stdinW;
      if (in && !s.stdinBuf.empty()) fds.push_back({in.get(), POLLOUT, 0});
    }
    // A disconnected virtio-serial port reports POLLHUP without pause: poll at 20 Hz then.
    // (So does one whose host's open notice has not come yet: unconfirmed_.)
    bool probing = (hostGone_ || unconfirmed_) && !listener_;
    int timeout = unconfirmed_ ? 5 : probing ? 50 : 100;
    if (probing) fds[0].fd = -1;  // probed below instead
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
    if (probing) {
      pollfd probe{conn_.get(), POLLIN, 0};
      ::poll(&probe, 1, 0);
      fds[0].revents = probe.revents;
    }
    if (fds[1].revents & POLLIN) reap();
    serveChannel(fds[0].revents);
  }
}

}  // namespace vic::tether
