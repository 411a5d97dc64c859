// The tether server: one poll loop that serves the host channel, runs the sessions, copies
// their stdio between processes and channels (with credits), writes the main session's
// output and exit record to the persistent log, reaps every child, and powers off when the
// main session has ended.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "common/unique_fd.h"
#include "vsock/archive.h"
#include "guest/tether/spawn.h"
#include "vsock/log_record.h"
#include "vsock/mux.h"
#include "vsock/transport.h"

namespace vic::tether {

struct ServerOptions {
  vsock::Endpoint endpoint;  // port: or vsock:
  UniqueFd logFd;            // persistent log port; may be invalid
  std::string version;       // bootstrap image version, reported by ping
  // Instant clone template mode: booted without a container, tether answers ping with
  // awaitingIdentity and serves nothing else until an Identity request, in whichever fork of the
  // frozen template receives it: prepareClone, then boot() with the Identity's config.
  bool awaitIdentity = false;
  // Makes a fork of the template its own machine: clock, RNG, devices (boot.h's prepareClone).
  // `seed` is who.seed decoded.
  std::function<Status(const vsock::Identity& who, std::span<const uint8_t> seed)> prepareClone;
  // Everything between the initramfs and the container's first process; errors end the boot.
  std::function<Status(const vsock::ContainerConfig&)> enter;
};

class Server : vsock::MuxHandler {
 public:
  static Result<std::unique_ptr<Server>> create(ServerOptions opts);
  // Enters the container (opts.enter) and starts its main session, or, when entering fails,
  // ends the boot with exit 125 (failBoot) and returns why. Cold boot: the config from fw_cfg.
  Status boot(vsock::ContainerConfig config);
  // Records a failure that happened before the main session could start (bad disk, bad
  // config): it becomes the main session's exit status, written to the log at once.
  void failBoot(int exitCode, const std::string& message);
  // Serves until the main session has ended and its output is flushed (or a deadline), or
  // until stop() (tests: tether itself never stops serving).
  void run();
  void stop() { stopping_ = true; }  // any thread

 private:
  struct Session {
    vsock::SessionSpec spec;
    vsock::ChannelSet ch;
    Process proc;
    bool isMain = false, started = false, exited = false, finalized = false;
    bool collected = false;  // a Wait has been answered with its exit
    vsock::ExitStatus exit;
    int64_t exitedAtNs = 0;
    std::string stdinBuf;
    bool stdinEof = false;
    std::vector<uint64_t> waiters;
  };

  // A docker cp stream on one data channel: a tar going out, or one coming in.
  struct Transfer {
    uint64_t requestId = 0;
    std::unique_ptr<vsock::ArchiveSource> source;
    std::unique_ptr<vsock::ArchiveSink> sink;
    vsock::TarReader reader;
  };

  explicit Server(ServerOptions opts);
  vsock::ResponseMsg startTransfer(uint64_t id, const vsock::Request& req);
  void pumpTransfers();
  void endTransfer(vsock::ChannelId ch, vsock::ResponseMsg r);
  void onControl(std::span<const uint8_t> message) override;
  void onData(vsock::ChannelId ch, std::span<const uint8_t> data) override;
  void onEof(vsock::ChannelId ch) override;
  void onClosed(vsock::ChannelId ch) override;

  void startMain();
  vsock::ResponseMsg handle(uint64_t id, const vsock::Request& req);
  vsock::ResponseMsg identify(uint64_t id, const vsock::Identity& who);
  vsock::ResponseMsg handleSession(uint64_t id, Session& s, const vsock::Request& req);
  vsock::ResponseMsg create(uint64_t id, const vsock::SessionSpec& spec, const vsock::ChannelSet& ch, bool isMain);
  vsock::ResponseMsg stat(uint64_t id, const std::string& path);
  void bind(Session& s, const vsock::ChannelSet& ch);
  void start(Session& s);
  void reap();
  void killAllBut(const Session& main);
  bool execsCollected() const;
  void pumpSession(Session& s, int64_t now);
  bool readOutput(Session& s, UniqueFd& fd, vsock::ChannelId ch, vsock::LogKind kind, bool drainFreely);
  void writeStdin(Session& s);
  void finalize(Session& s);
  void reply(const vsock::ResponseMsg& r);
  void log(vsock::LogKind kind, std::span<const uint8_t> data);
  void serveChannel(short revents);
  void disconnect();
  Session* byStdin(vsock::ChannelId ch);

  ServerOptions opts_;
  vsock::ContainerConfig config_;  // from boot(): empty while a template awaits its identity
  bool awaiting_ = false;
  std::atomic<bool> stopping_{false};
  vsock::Mux mux_{vsock::Role::kGuest};
  UniqueFd conn_;      // the port, or the accepted vsock connection
  UniqueFd listener_;  // vsock only
  UniqueFd sigFd_;
  bool hostGone_ = true;
  // A host's first bytes were read but nothing written to it yet. virtio-serial reads 0 and
  // polls HUP until the host's open notice (a control message, raced by the data) arrives: an
  // end of file then is not the host leaving.
  bool unconfirmed_ = false;
  std::map<std::string, Session> sessions_;
  std::map<vsock::ChannelId, Transfer> transfers_;
  bool mainDone_ = false;
  int64_t shutdownDeadlineNs_ = 0;
};

}  // namespace vic::tether
