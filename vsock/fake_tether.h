// FakeTether: the guest end of the tether protocol with simulated sessions, served on a
// unix socket, so the host side (connection, port layer, tether-ctl) is tested without
// booting a VM (Kata's mock agent, in our terms). Not used in production.
//
// Simulated commands (argv[0]):
//   echo <words...>   prints the words and a newline, exits 0
//   cat               copies stdin to stdout until stdin closes, exits 0
//   yes <bytes>       writes <bytes> bytes of "y\n" to stdout (respecting credits), exits 0
//   exit <n>          exits n
//   sleep             runs until signalled: exits 128+signal (SIGWINCH is ignored)
//   anything else     fails to start: exit 127, docker's "executable file not found" error
// Sessions outlive connections: after a reconnect, list and attach find them again.
//
// Booted as a guest (FakeTether::boot), it plays a containerVM's tether: the main session from
// the container's config runs from the start (held until Unblock when runBlock is set), its
// output and exit record go to the persistent output log as tether writes them, and when it
// exits the guest halts (the VM powers off) and stops serving.
//
// Booted with awaitIdentity, it plays a fork of an instant clone template instead: ping answers
// awaitingIdentity and nothing but ping, list and identity is served until an Identity request
// (a valid one: a 128 hex digit seed) brings the container config, whose main session then runs
// as above. enterError makes entering fail as a missing disk would: the Identity is answered
// with that error, main's exit record (125, the error) is written and the guest halts.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "vsock/log_record.h"
#include "vsock/messages.h"
#include "vsock/mux.h"
#include "vsock/transport.h"

namespace vic::vsock {

struct FakeGuestOptions {
  SessionSpec main;            // id "main" (unused with awaitIdentity: the Identity's config.main runs)
  std::string outputLog;       // the persistent log file ("" = none)
  std::function<void()> halt;  // called once, after main's exit record is written
  bool awaitIdentity = false;  // a fork of an instant clone template (see above)
  std::string enterError = "";  // awaitIdentity: entering the container fails with this
  std::function<void(const Identity&)> onIdentity = nullptr;  // each accepted Identity, on the tether's thread
};

class FakeTether : MuxHandler {
 public:
  // unix:/vsock: listens for connections; port: opens the virtio-serial device (in a VM).
  static Result<std::unique_ptr<FakeTether>> listen(const Endpoint& ep);
  // Listens on `ep` as a booted containerVM's tether would (see above).
  static Result<std::unique_ptr<FakeTether>> boot(const Endpoint& ep, FakeGuestOptions guest);
  // Serves connections one at a time until `stop` is set (or, booted, until the guest halts).
  void run(const std::atomic<bool>& stop);

 private:
  struct Session {
    SessionSpec spec;
    ChannelSet ch;
    bool started = false, running = false;
    ExitStatus exit;
    std::string out;      // stdout not yet accepted by the mux
    uint64_t yesLeft = 0;
    bool stdinClosed = false;
    std::vector<uint64_t> waiters;
  };

  FakeTether(UniqueFd fd, bool isPort) : fd_(std::move(fd)), isPort_(isPort) {}
  void runPort(const std::atomic<bool>& stop);
  void serve(int conn, const std::atomic<bool>& stop);
  void onControl(std::span<const uint8_t> message) override;
  void onData(ChannelId ch, std::span<const uint8_t> data) override;
  void onEof(ChannelId ch) override;
  void onClosed(ChannelId ch) override;

  ResponseMsg handle(uint64_t id, const Request& req);
  ResponseMsg start(uint64_t id, const SessionSpec& spec, const ChannelSet& ch);
  ResponseMsg identify(uint64_t id, const Identity& who);
  void startMain(SessionSpec spec);
  void failBoot(const std::string& message);
  void bind(Session& s, const ChannelSet& ch);
  void begin(Session& s);
  void finish(Session& s, int code, int signal);
  void progress();  // moves simulated output into the mux, completes exits
  void reply(const ResponseMsg& r);
  Session* byStdin(ChannelId ch);
  Session* mainSession();  // booted: the session whose exit halts the guest
  void output(Session& s, std::string_view bytes);  // stdout of a session, into the log too
  void logRecord(LogKind kind, std::string_view bytes);
  void halt();

  UniqueFd fd_;  // listening socket, or the virtio-serial port
  bool isPort_ = false;
  Mux mux_{Role::kGuest};
  std::map<std::string, Session> sessions_;
  int nextPid_ = 100;
  std::optional<FakeGuestOptions> guest_;
  bool halted_ = false;
  bool awaiting_ = false;  // booted with awaitIdentity, no Identity yet
};

}  // namespace vic::vsock
