// Transports under the tether channel: plain POSIX, no Boost (tether links this).
//
//   unix:<path>            host side of a virtio-serial port (QEMU chardev socket), or tests
//   vsock:<cid>:<port>     AF_VSOCK (host: needs /dev/vhost-vsock; guest: the vsock driver)
//   port:<device>          guest side of a virtio-serial port, /dev/virtio-ports/<name>
//
// Choice is automatic (chooseGuestEndpoint) with an override string. The host reaches a
// containerVM over AF_VSOCK when the VM has a guest CID, else over its virtio-serial port; the
// guest listens on AF_VSOCK when it has a vsock device, else opens the port: both ends follow the
// VM's definition, so they agree.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace vic::vsock {

inline constexpr uint32_t kTetherVsockPort = 2377;
inline constexpr std::string_view kTetherPortName = "org.vic.tether";
inline constexpr uint32_t kVsockCidAny = 0xFFFFFFFFu;  // VMADDR_CID_ANY
inline constexpr uint32_t kVsockCidHost = 2;           // VMADDR_CID_HOST
// Guest CIDs start here: 0 (hypervisor), 1 (local loopback) and 2 (host) are reserved.
inline constexpr uint32_t kFirstGuestCid = 3;

struct Endpoint {
  enum class Kind { kUnix, kVsock, kPort };
  Kind kind = Kind::kUnix;
  std::string path;  // unix socket or port device
  uint32_t cid = 0;
  uint32_t port = 0;
  std::string str() const;
};

// "unix:/p", "vsock:3:2377", "port:/dev/virtio-ports/x"; a bare path means unix.
Result<Endpoint> parseEndpoint(std::string_view text);

bool hostHasVsock();   // /dev/vhost-vsock can be opened: containerVMs can get a vsock device
bool guestHasVsock();  // an AF_VSOCK socket can be created here
// This machine's own CID when it is a guest with a vsock device (IOCTL_VM_SOCKETS_GET_LOCAL_CID
// on /dev/vsock); none without the device, even when the vsock driver is loaded.
std::optional<uint32_t> guestVsockCid(const char* device = "/dev/vsock");

// Guest (pure): `override` if set; else AF_VSOCK (listening on any CID, kTetherVsockPort) when the
// VM has a vsock device (`localCid`); else the virtio-serial port `portPath` ("" = none).
Result<Endpoint> chooseGuestEndpoint(std::string_view override, std::string_view portPath, std::optional<uint32_t> localCid);
// The host's end for a containerVM: AF_VSOCK to its tether port when it has a CID, else the
// unix socket of its virtio-serial channel.
Endpoint hostEndpoint(const std::string& unixSocket, std::optional<uint32_t> cid);

// The sockaddr of a unix or vsock endpoint (the Asio host end builds its endpoint from it).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t size = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};
Result<SocketAddress> socketAddress(const Endpoint& ep);

// Guest: whether a connection accepted on tether's listener may be served. Over AF_VSOCK only the
// host's (CID 2): vhost-vsock routes nothing else to a guest, this says so again. Unix: tests.
bool fromHost(const sockaddr_storage& peer);

// Blocking connect (host tools); the fd is close-on-exec.
Result<UniqueFd> connectEndpoint(const Endpoint& ep);
// Listening socket for unix/vsock endpoints (guest vsock, fake tether); close-on-exec.
Result<UniqueFd> listenEndpoint(const Endpoint& ep);
// Guest: opens a virtio-serial port device read/write, non-blocking.
Result<UniqueFd> openPort(const Endpoint& ep);

Status setNonBlocking(int fd);

}  // namespace vic::vsock
