// The tether control protocol: typed requests and responses carried one per frame on the
// control channel, and the container configuration tether boots with. Both sides use these
// structs; vsock/codec.cc is the only place that turns them into JSON and back.
#pragma once

#include <cstdint>
#include <concepts>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "vsock/wire.h"

namespace vic::vsock {

// Which data channels carry a session's stdio (0 = not attached). The host opens them
// before sending the request; tether opens its side while handling it.
struct ChannelSet {
  ChannelId stdinCh = 0;
  ChannelId stdoutCh = 0;
  ChannelId stderrCh = 0;  // unused with a TTY: the pty merges both streams
};

// A process to run: the main session or an exec.
struct SessionSpec {
  std::string id;                   // "main" for the container process, else the exec id
  std::vector<std::string> argv;
  std::vector<std::string> env;     // KEY=value; PATH defaults as docker does when absent
  std::string workdir;              // "" means "/"
  std::string user;                 // "", "name", "uid", "name:group", "uid:gid"
  std::vector<std::string> groups;  // supplementary groups, names or ids
  bool tty = false;
  bool openStdin = false;
  bool stdinOnce = false;
  bool runBlock = false;  // wait for an Unblock request before starting (no early output lost)
  uint16_t rows = 0, cols = 0;
};

struct NetworkInterface {
  std::string mac;                     // selects the NIC
  std::string name;                    // name inside the container, e.g. eth0
  std::vector<std::string> addresses;  // CIDR, e.g. 172.16.0.2/16
  std::string gateway;
  uint32_t mtu = 0;
};

struct MountSpec {
  std::string disk;    // disk serial (virtio-blk serial) or filesystem label
  std::string target;  // path in the container
  bool readOnly = false;
};

// What tether reads at boot (fw_cfg) and what the port layer stores with the VM.
struct ContainerConfig {
  std::string id;
  std::string name;
  std::string hostname;
  std::string domainname;
  std::string rootDisk = "containerfs";  // label or serial of the root disk
  std::vector<std::string> dns;
  // resolv.conf names tether's own resolver (127.0.0.11), which asks every server in `dns` (the
  // DNS of each network the container is on) and gives the best answer; else `dns` directly.
  bool embeddedDns = false;
  std::vector<std::string> extraHosts;  // "name:address"
  std::vector<NetworkInterface> networks;
  std::vector<MountSpec> mounts;
  SessionSpec main;
};

// ---- requests (host -> tether) ----
struct Ping {};
struct Configure { ContainerConfig config; };
// Instant clone: a containerVM forked from a template learns who it is. The template booted
// without a container and waits for this; answered once the container is entered, after which
// the main session starts as after a cold boot (or waits for Unblock when main.runBlock is set).
// What a template's tether prints on its console once it waits for an identity: the host waits
// for this line, never connecting, so that each clone's tether meets its first host fresh.
inline constexpr const char* kTemplateReadyLine = "instant clone template: awaiting its identity";
struct Identity {
  ContainerConfig config;
  int64_t clockNs = 0;  // the host's CLOCK_REALTIME: the clone's clock is the template's
  std::string seed;     // hex of 64 random bytes from the host, mixed into the clone's RNG and reseeded
  // The template's NIC (probed when it booted) has this MAC: it becomes the container's first
  // network (config.networks[0].mac is set on it), or goes away when there is no network.
  std::string templateMac;
  bool newDevices = false;  // disks or NICs beyond the template's: the PCI bus is rescanned
};
struct Launch { SessionSpec session; ChannelSet channels; };  // the main session
struct Exec { SessionSpec session; ChannelSet channels; };
struct Attach { std::string session; ChannelSet channels; };  // (re)bind stdio channels
struct Unblock { std::string session; };
struct Signal { std::string session; int signal = 0; };
struct Resize { std::string session; uint16_t rows = 0, cols = 0; };
struct CloseStdin { std::string session; };
struct Wait { std::string session; };  // answered when the session has exited
struct ListSessions {};
struct Stat {
  std::string path;
  bool sync = false;  // flush the container's filesystems first (a snapshot of its disk follows)
};
struct ReadFiles {  // tar out on `channel`
  std::string path;
  ChannelId channel = 0;
  bool contentOnly = false, oneFilesystem = false;  // docker export: "/" on its own filesystem
};
struct WriteFiles {  // tar in from `channel`, extracted into the directory `path`
  std::string path;
  ChannelId channel = 0;
  bool keepOwner = false, noOverwriteDirNonDir = false;  // docker cp -a; the CLI's usual flag
};

struct ListProcesses {};  // docker top: the container's processes

// Requests that address an existing session by its id.
template <class T>
concept SessionRequest = requires(const T& r) {
  { r.session } -> std::convertible_to<std::string>;
};

using Request = std::variant<Ping, Configure, Launch, Exec, Attach, Unblock, Signal, Resize,
                             CloseStdin, Wait, ListSessions, Stat, ReadFiles, WriteFiles, Identity, ListProcesses>;

// The session a request addresses, or "" for requests that address none.
inline std::string sessionOf(const Request& req) {
  return std::visit([](const auto& r) -> std::string {
    if constexpr (SessionRequest<std::decay_t<decltype(r)>>) { return r.session; }
    return "";
  }, req);
}

// ---- results (tether -> host) ----
struct Empty {};
struct PingResult {
  uint16_t protocol = 0;
  std::string tetherVersion;
  bool awaitingIdentity = false;  // a template (or a clone of one) that has no container yet
};
struct Started { int pid = 0; };
struct ExitStatus {
  std::string session;
  int exitCode = 0;
  int signal = 0;  // the signal that ended it, or 0
  bool oomKilled = false;
  int64_t startedNs = 0, finishedNs = 0;
  std::string error;  // why it could not start, in docker's words
};
struct SessionInfo {
  std::string id;
  bool running = false;
  int pid = 0;
  std::optional<ExitStatus> exit;
};
struct SessionList { std::vector<SessionInfo> sessions; };
struct FileStat {
  std::string name;
  int64_t size = 0;
  uint32_t mode = 0;  // st_mode
  int64_t mtimeNs = 0;
  std::string linkTarget;
};

// One process of the container, as the guest's /proc has it (tether itself is not listed).
struct ProcessInfo {
  int pid = 0, ppid = 0;
  uint32_t uid = 0;
  std::string user;  // from the container's /etc/passwd ("" when it has none for uid)
  std::string state;  // R, S, D, Z, T...
  std::string tty;    // "pts/0", or "" for none
  int64_t startNs = 0;  // wall clock
  uint64_t cpuNs = 0;   // user + system
  uint64_t rssKiB = 0, vszKiB = 0;
  std::string comm;
  std::vector<std::string> argv;  // empty for a zombie or a kernel thread
};
struct ProcessList {
  std::vector<ProcessInfo> processes;
  uint64_t memTotalKiB = 0;
  int64_t nowNs = 0;  // the guest's clock when it listed them
};

using ResultBody = std::variant<Empty, PingResult, Started, ExitStatus, SessionList, FileStat, ProcessList>;

struct RequestMsg {
  uint64_t id = 0;
  Request body;
};

struct ResponseMsg {
  uint64_t id = 0;
  std::optional<Error> error;  // set: the request failed
  ResultBody body;
};

using Message = std::variant<RequestMsg, ResponseMsg>;

}  // namespace vic::vsock
