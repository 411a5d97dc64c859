#include "vsock/fake_tether.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include "common/log.h"
#include "common/time.h"
#include "vsock/codec.h"
#include "vsock/pump.h"

namespace vic::vsock {
namespace {

std::span<const uint8_t> bytesOf(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

ResponseMsg fail(uint64_t id, Errc code, std::string message) {
  return ResponseMsg{id, Error(code, std::move(message)), Empty{}};
}

// A main session from a config may have no command (exec and launch refuse that up front).
std::string commandOf(const SessionSpec& spec) { return spec.argv.empty() ? "" : spec.argv[0]; }

}  // namespace

Result<std::unique_ptr<FakeTether>> FakeTether::listen(const Endpoint& ep) {
  bool isPort = ep.kind == Endpoint::Kind::kPort;
  auto fd = isPort ? openPort(ep) : listenEndpoint(ep);
  if (!fd) return std::move(fd).error().wrap("fake tether");
  return std::unique_ptr<FakeTether>(new FakeTether(std::move(*fd), isPort));
}

Result<std::unique_ptr<FakeTether>> FakeTether::boot(const Endpoint& ep, FakeGuestOptions guest) {
  auto t = listen(ep);
  if (!t) return t;
  FakeTether& tether = **t;
  tether.guest_ = std::move(guest);
  tether.awaiting_ = tether.guest_->awaitIdentity;
  if (!tether.awaiting_) tether.startMain(tether.guest_->main);
  return t;
}

void FakeTether::startMain(SessionSpec spec) {
  spec.id = "main";
  Session& s = sessions_["main"];
  s.spec = std::move(spec);
  s.exit.session = "main";
  if (!s.spec.runBlock) begin(s);
}

// As tether: entering failed before anything ran; main's exit record says why, then the halt.
void FakeTether::failBoot(const std::string& message) {
  Session& s = sessions_["main"];
  s.spec.id = "main";
  s.exit.session = "main";
  s.started = true;
  s.exit.error = message;
  s.exit.startedNs = nowNs();
  finish(s, 125, 0);
}

ResponseMsg FakeTether::identify(uint64_t id, const Identity& who) {
  if (!awaiting_) {
    return fail(id, Errc::kConflict, "not awaiting an identity: this tether booted with its container or has one");
  }
  bool hex = who.seed.size() == 128 && who.seed.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
  if (!hex) return fail(id, Errc::kInvalidArgument, "identity: seed must be 128 hex digits");
  if (who.clockNs <= 0) return fail(id, Errc::kInvalidArgument, "identity: no clock given");
  awaiting_ = false;
  if (guest_->onIdentity) guest_->onIdentity(who);
  if (!guest_->enterError.empty()) {
    failBoot(guest_->enterError);
    return fail(id, Errc::kNotFound, guest_->enterError);
  }
  startMain(who.config.main);
  return {id, std::nullopt, Empty{}};
}

void FakeTether::run(const std::atomic<bool>& stop) {
  std::signal(SIGPIPE, SIG_IGN);
  if (isPort_) return runPort(stop);
  while (!stop && !halted_) {
    progress();  // a booted guest's main runs whether or not the host is connected
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (conn) serve(conn.get(), stop);
  }
}

// A virtio-serial port is never "accepted": it reports POLLHUP while no host is connected
// and reads return 0 when the host goes away. The stream is not reset in between, which is
// what the mux's hunt for the handshake is for.
void FakeTether::runPort(const std::atomic<bool>& stop) {
  while (!stop) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) < 0) return;
    if (p.revents & POLLIN) {
      serve(fd_.get(), stop);
    } else if (p.revents & POLLHUP) {
      ::usleep(20 * 1000);  // no host yet; the port keeps reporting HUP
    }
  }
}

void FakeTether::serve(int conn, const std::atomic<bool>& stop) {
  for (ChannelId ch : mux_.reset()) onClosed(ch);
  while (!stop) {
    progress();
    auto more = pumpOut(conn, mux_);
    if (!more || (halted_ && !*more)) break;  // a halting guest still sends what it queued
    pollfd p{conn, static_cast<short>(POLLIN | (*more ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 20) < 0) break;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      auto st = pumpIn(conn, mux_, *this);
      if (!st) log::warn("fake-tether", st.error().message());
      if (!st || *st == PumpState::kPeerGone) break;
    }
  }
  // Connection gone: sessions stay, their channels do not.
  for (ChannelId ch : mux_.reset()) onClosed(ch);
}

void FakeTether::reply(const ResponseMsg& r) {
  auto text = encode(r);
  if (auto st = mux_.sendControl(bytesOf(text)); !st) log::warn("fake-tether", st.error().message());
}

void FakeTether::onControl(std::span<const uint8_t> message) {
  auto msg = decode(message);
  if (!msg || !std::holds_alternative<RequestMsg>(*msg)) {
    log::warn("fake-tether", "ignoring control message: " + (msg ? "not a request" : msg.error().message()));
    return;
  }
  auto& req = std::get<RequestMsg>(*msg);
  auto resp = handle(req.id, req.body);
  if (resp.id != 0) reply(resp);
}

ResponseMsg FakeTether::handle(uint64_t id, const Request& req) {
  if (std::holds_alternative<Ping>(req)) return {id, std::nullopt, PingResult{mux_.version(), "fake", awaiting_}};
  if (auto* who = std::get_if<Identity>(&req)) return identify(id, *who);
  if (awaiting_ && !std::holds_alternative<ListSessions>(req)) {
    return fail(id, Errc::kConflict, "no container yet: an instant clone template awaits its identity");
  }
  if (std::holds_alternative<Configure>(req)) return {id, std::nullopt, Empty{}};
  if (auto* l = std::get_if<Launch>(&req)) return start(id, l->session, l->channels);
  if (auto* e = std::get_if<Exec>(&req)) return start(id, e->session, e->channels);
  if (std::holds_alternative<ListSessions>(req)) {
    SessionList list;
    for (auto& [name, s] : sessions_) {
      list.sessions.push_back({name, s.running, s.running ? 1 : 0,
                               s.started && !s.running ? std::optional(s.exit) : std::nullopt});
    }
    return {id, std::nullopt, list};
  }
  if (auto* st = std::get_if<Stat>(&req)) {
    struct stat sb{};
    if (::lstat(st->path.c_str(), &sb) != 0) {
      return fail(id, Errc::kNotFound, "Could not find the file " + st->path + " in container");
    }
    return {id, std::nullopt, FileStat{st->path, sb.st_size, sb.st_mode, 0, ""}};
  }
  if (std::holds_alternative<ReadFiles>(req) || std::holds_alternative<WriteFiles>(req)) {
    return fail(id, Errc::kNotImplemented, "the fake tether does not copy files");
  }
  std::string name = sessionOf(req);
  auto it = sessions_.find(name);
  if (it == sessions_.end()) return fail(id, Errc::kNotFound, "no such session: " + name);
  Session& s = it->second;
  if (auto* a = std::get_if<Attach>(&req)) {
    bind(s, a->channels);
    return {id, std::nullopt, Empty{}};
  }
  if (std::holds_alternative<Unblock>(req)) {
    if (!s.started) begin(s);
    return {id, std::nullopt, Empty{}};
  }
  if (auto* sig = std::get_if<Signal>(&req)) {
    if (!s.running) return fail(id, Errc::kConflict, "session " + name + " is not running");
    if (sig->signal != SIGWINCH) finish(s, 128 + sig->signal, sig->signal);
    return {id, std::nullopt, Empty{}};
  }
  if (std::holds_alternative<Resize>(req)) return {id, std::nullopt, Empty{}};
  if (std::holds_alternative<CloseStdin>(req)) {
    s.stdinClosed = true;
    return {id, std::nullopt, Empty{}};
  }
  if (std::holds_alternative<Wait>(req)) {
    if (s.started && !s.running) return {id, std::nullopt, s.exit};
    s.waiters.push_back(id);
    return {0, std::nullopt, Empty{}};  // answered by finish()
  }
  return fail(id, Errc::kNotImplemented, "request not handled");
}

ResponseMsg FakeTether::start(uint64_t id, const SessionSpec& spec, const ChannelSet& ch) {
  if (spec.argv.empty()) return fail(id, Errc::kInvalidArgument, "no command given");
  if (sessions_.count(spec.id)) return fail(id, Errc::kConflict, "session " + spec.id + " exists");
  Session& s = sessions_[spec.id];
  s.spec = spec;
  s.exit.session = spec.id;
  bind(s, ch);
  if (!spec.runBlock) begin(s);
  return {id, std::nullopt, Started{nextPid_++}};
}

void FakeTether::bind(Session& s, const ChannelSet& ch) {
  for (ChannelId c : {ch.stdinCh, ch.stdoutCh, ch.stderrCh}) {
    if (c != 0 && !mux_.isOpen(c)) (void)mux_.open(c);
  }
  s.ch = ch;
}

void FakeTether::begin(Session& s) {
  s.started = s.running = true;
  s.exit.startedNs = nowNs();
  const auto& argv = s.spec.argv;
  const std::string cmd = commandOf(s.spec);
  if (&s == mainSession()) logRecord(LogKind::kStart, {});
  if (cmd.empty()) {
    s.exit.error = "no command specified";  // as tether
    finish(s, 127, 0);
  } else if (cmd == "echo") {
    std::string line;
    for (size_t i = 1; i < argv.size(); ++i) line += (i > 1 ? " " : "") + argv[i];
    output(s, line + "\n");
  } else if (cmd == "yes") {
    s.yesLeft = argv.size() > 1 ? std::stoull(argv[1]) : 0;
  } else if (cmd == "exit") {
    finish(s, argv.size() > 1 ? std::stoi(argv[1]) : 0, 0);
  } else if (cmd != "cat" && cmd != "sleep") {
    s.exit.error = "exec: \"" + cmd + "\": executable file not found in $PATH";
    finish(s, 127, 0);
  }
}

void FakeTether::finish(Session& s, int code, int signal) {
  s.running = false;
  s.exit.exitCode = code;
  s.exit.signal = signal;
  s.exit.finishedNs = nowNs();
  s.out.clear();
  s.yesLeft = 0;
  if (&s == mainSession()) logRecord(LogKind::kExit, encodeExitStatus(s.exit));
}

FakeTether::Session* FakeTether::mainSession() {
  if (!guest_) return nullptr;
  auto it = sessions_.find("main");
  return it == sessions_.end() ? nullptr : &it->second;
}

void FakeTether::output(Session& s, std::string_view bytes) {
  s.out += bytes;
  if (&s == mainSession()) logRecord(LogKind::kStdout, bytes);
}

void FakeTether::logRecord(LogKind kind, std::string_view bytes) {
  if (!guest_ || guest_->outputLog.empty()) return;
  std::vector<uint8_t> rec;
  appendLogRecords(rec, kind, nowNs(), {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  UniqueFd fd(::open(guest_->outputLog.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd || ::write(fd.get(), rec.data(), rec.size()) != static_cast<ssize_t>(rec.size())) {
    log::warn("fake-tether", "writing " + guest_->outputLog + " failed");
  }
}

// Main has exited and its record is written: the VM powers off, the port goes away.
void FakeTether::halt() {
  if (halted_) return;
  halted_ = true;
  if (!isPort_) fd_.reset();  // a powered-off VM's socket refuses new hosts
  if (guest_->halt) guest_->halt();
}

FakeTether::Session* FakeTether::byStdin(ChannelId ch) {
  for (auto& [name, s] : sessions_) {
    if (s.ch.stdinCh == ch) return &s;
  }
  return nullptr;
}

void FakeTether::onData(ChannelId ch, std::span<const uint8_t> data) {
  Session* s = byStdin(ch);
  if (s != nullptr && s->running && commandOf(s->spec) == "cat") {
    output(*s, {reinterpret_cast<const char*>(data.data()), data.size()});
  }
  mux_.consumed(ch, data.size());  // the simulated process read it
}

void FakeTether::onEof(ChannelId ch) {
  if (Session* s = byStdin(ch)) s->stdinClosed = true;
}

void FakeTether::onClosed(ChannelId ch) {
  for (auto& [name, s] : sessions_) {
    for (ChannelId* c : {&s.ch.stdinCh, &s.ch.stdoutCh, &s.ch.stderrCh}) {
      if (*c == ch) *c = 0;
    }
  }
}

void FakeTether::progress() {
  for (auto& [name, s] : sessions_) {
    while (s.yesLeft > 0 && s.out.size() < 65536) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(s.yesLeft, 8192));
      std::string chunk;
      for (size_t i = 0; i < n; ++i) chunk += (i % 2 == 0) ? 'y' : '\n';
      output(s, chunk);
      s.yesLeft -= n;
    }
    if (!s.out.empty() && s.ch.stdoutCh != 0) {
      size_t n = mux_.send(s.ch.stdoutCh, bytesOf(s.out));
      s.out.erase(0, n);
    } else if (s.ch.stdoutCh == 0 && s.running && commandOf(s.spec) != "cat") {
      s.out.clear();  // nobody attached: real tether keeps it in the persistent log
    }
    bool drained = s.out.empty() && s.yesLeft == 0;
    std::string cmd = commandOf(s.spec);
    bool doneCat = cmd == "cat" && s.stdinClosed;
    bool doneOutput = cmd == "echo" || cmd == "yes";
    if (s.running && drained && (doneCat || doneOutput)) finish(s, 0, 0);
    if (s.started && !s.running) {
      for (ChannelId c : {s.ch.stdoutCh, s.ch.stderrCh}) {
        if (c != 0) mux_.sendEof(c);
      }
      for (uint64_t w : s.waiters) reply({w, std::nullopt, s.exit});
      s.waiters.clear();
    }
  }
  Session* m = mainSession();
  if (m != nullptr && m->started && !m->running && m->out.empty()) halt();
}

}  // namespace vic::vsock
