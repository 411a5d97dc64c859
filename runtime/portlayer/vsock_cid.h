// AF_VSOCK for the tether channel: which transport a VCH uses (decided once, when its endpoint
// starts), and for each of its containerVMs and templates a guest CID that no other VM on the host
// has, whatever VCH (or nobody's) it belongs to.
//
// Where "in use" comes from: libvirt, every domain on the host (hv::Hypervisor::vsockCids: each
// defined domain's CID and each running one's live CID). A CID belongs to a VM from its definition
// to its undefinition, and libvirt keeps definitions across reboots and endpoint restarts, so it is
// the one record that is never stale: a removed VM's CID is free again at once, and VMs that are
// not vic's count too. A record of our own under /run would be empty after a reboot while the
// definitions (and their CIDs) are still there. What libvirt cannot do is make "choose a free CID,
// then define the VM with it" one step: two endpoints (or two creates in one) could choose the same
// one. So that step runs under a host-wide lock, flock(2) on a file under /run/vic that every
// endpoint takes. Only the lock lives in /run (a reboot clears it, and nothing is lost with it:
// the next endpoint creates it again).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"
#include "hypervisor/hypervisor.h"

namespace vic::pl {

// The lowest guest CID (3 or more: 0, 1 and 2 are reserved, VMADDR_CID_ANY is no CID) that is not
// in `inUse`: a removed VM's CID is given again. kUnavailable when none is left.
Result<uint32_t> allocateVsockCid(const std::set<uint32_t>& inUse);

// flock(2) on `path` (created 0600 if missing), held until destroyed. Blocks.
class HostLock {
 public:
  static Result<HostLock> acquire(const std::string& path);

 private:
  explicit HostLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

// Blocking: under the host-wide lock at `lockPath`, reads the CIDs every VM on the host holds,
// chooses a free one and calls `define(cid)` with it (which defines the VM that takes it).
Result<uint32_t> defineWithFreeCid(hv::Hypervisor& hv, const std::string& lockPath,
                                   const std::function<Status(uint32_t cid)>& define);

// The tether transport of a VCH. `forced` is VIC_TETHER_TRANSPORT from the endpoint's environment:
// "virtio-serial" forces it (tests, or a host whose vhost-vsock misbehaves); "" or "auto" lets the
// host decide: AF_VSOCK when /dev/vhost-vsock can be opened, else virtio-serial.
inline constexpr const char* kTransportEnv = "VIC_TETHER_TRANSPORT";
struct TetherTransport {
  bool vsock = false;
  std::string description;  // what docker info and vic-machine inspect print
};
Result<TetherTransport> chooseTetherTransport(bool hostHasVsock, std::string_view forced);

}  // namespace vic::pl
