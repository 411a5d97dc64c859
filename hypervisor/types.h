// The vSphere-equivalent primitives the port layer sees, as plain data. No libvirt here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vic::hv {

struct HostInfo {
  std::string uri;
  int cpus = 0;
  uint64_t memoryBytes = 0;
  std::string accelerator;  // "kvm" or "tcg"
  std::string libvirtVersion;
  std::string hypervisorVersion;  // QEMU's
};

struct DiskSpec {
  std::string path;           // inside the datastore
  std::string serial;         // what tether finds it by
  std::string format = "qcow2";
  bool readOnly = false;
};

struct NicSpec {
  std::string portGroup;  // libvirt network name
  std::string mac;        // fixed, so the container keeps it across restarts
  bool linkDown = false;  // no carrier: nothing passes (a template's NIC for a container without one)
};

// A containerVM (or any VM) as the port layer describes it.
struct VmSpec {
  std::string name;
  int vcpus = 1;
  uint64_t memoryMiB = 512;
  std::string kernel, initrd, cmdline;
  std::vector<DiskSpec> disks;
  std::vector<NicSpec> nics;
  std::string tetherSocket;  // unix socket QEMU listens on for the tether virtio-serial port
  std::string outputLog;     // file QEMU appends the persistent log port to
  std::string consoleLog;    // file for the serial console (debugging), optional
  std::optional<uint32_t> vsockCid;
  std::map<std::string, std::string> fwCfg;  // fw_cfg name -> file
  std::string partition;     // resource pool, e.g. /machine/vch1 ("" = libvirt's default)
  std::map<std::string, std::string> metadata;  // extraConfig equivalent
  // A template's RAM lives in this file, mapped shared so that it stays there when the
  // template is frozen; "" = ordinary anonymous memory. (Clones map it privately: CloneSource.)
  std::string templateMemoryFile;
  std::string uuid;  // "" = libvirt's choice (defineVm keeps an existing VM's)
};

// What a containerVM is forked from (instant clone): a frozen template's files.
struct CloneSource {
  std::string memoryFile;  // the template's RAM, mapped copy-on-write by every clone
  std::string stateFile;   // its device state (CPU, devices, small ROM blocks), read once
  uint64_t memoryMiB = 0;  // must be the clone's memory size
};

// A port group: a Linux bridge with an address range (a libvirt network).
struct PortGroupSpec {
  std::string name;
  std::string bridge;          // Linux bridge name, at most 15 characters
  std::string gateway;         // the host's address on it, CIDR: 172.16.0.1/16
  std::string dhcpStart, dhcpEnd;  // optional range
  bool nat = true;             // route out through the host
  bool external = false;       // `bridge` is the host's own bridge: no address, no DHCP/DNS, no NAT
};

struct HostEntry {
  std::string mac;                 // "" = a DNS entry only (the address is static, no DHCP lease)
  std::string ip;
  std::vector<std::string> names;  // DNS names on the port group; the first is the DHCP host name
};

// What a running VM uses, from its cgroup (CPU time, resident memory) and QEMU (disk I/O).
struct VmStats {
  uint64_t cpuTimeNs = 0;
  int vcpus = 0;
  uint64_t memoryBytes = 0;       // the QEMU process's PSS (shared template pages split), else its RSS
  uint64_t memoryLimitBytes = 0;  // the VM's configured memory
  uint64_t diskReadBytes = 0, diskWriteBytes = 0;
};

enum class PowerState { kOff, kRunning, kPaused, kShuttingDown, kCrashed, kUnknown };
std::string powerStateName(PowerState s);

// kShutDown: the guest powered itself off; its VM process is ending (kStopped follows once
// the hypervisor has cleaned up, a few hundred ms later under libvirt).
// kPaused carries detail "io-error" when QEMU paused the VM because a disk write failed (a full
// datastore: the guest's write waits instead of failing) and "" for every other pause.
enum class VmEventKind { kDefined, kStarted, kShutDown, kStopped, kCrashed, kRemoved, kPaused, kResumed, kOther };
std::string vmEventName(VmEventKind k);

// The connection itself: an event with no VM, kOther, and one of these details. Between the
// two, events are lost: a subscriber re-reads what it needs on "reconnected".
inline constexpr const char* kDisconnected = "disconnected";
inline constexpr const char* kReconnected = "reconnected";
inline constexpr const char* kIoErrorPause = "io-error";

struct VmEvent {
  std::string vm;
  VmEventKind kind = VmEventKind::kOther;
  std::string detail;  // e.g. "shutdown", "destroyed", "failed"
  int64_t runId = 0;   // which run of the VM (Hypervisor::runId) when the event knows it, else 0
};

}  // namespace vic::hv
