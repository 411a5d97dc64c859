// Transports under the tether channel: plain POSIX, no Boost (tether links this).
//
//   unix:<path>            host side of a virtio-serial port (QEMU chardev socket), or tests
//   vsock:<cid>:<port>     AF_VSOCK (host: needs /dev/vhost-vsock; guest: the vsock driver)
//   port:<device>          guest side of a virtio-serial port, /dev/virtio-ports/<name>
//
// Choice is automatic (chooseGuestEndpoint) with an override string.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace vic::vsock {

inline constexpr uint32_t kTetherVsockPort = 2377;
inline constexpr std::string_view kTetherPortName = "org.vic.tether";
inline constexpr uint32_t kVsockCidAny = 0xFFFFFFFFu;  // VMADDR_CID_ANY
inline constexpr uint32_t kVsockCidHost = 2;           // VMADDR_CID_HOST

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

bool hostHasVsock();   // /dev/vhost-vsock exists: containerVMs can get a vsock device
bool guestHasVsock();  // an AF_VSOCK socket can be created here

// Guest: `override` if set, else the virtio-serial port if present, else vsock.
Result<Endpoint> chooseGuestEndpoint(std::string_view override, std::string_view portDir = "/dev/virtio-ports");

// The sockaddr of a unix or vsock endpoint (the Asio host end builds its endpoint from it).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t size = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};
Result<SocketAddress> socketAddress(const Endpoint& ep);

// Blocking connect (host tools); the fd is close-on-exec.
Result<UniqueFd> connectEndpoint(const Endpoint& ep);
// Listening socket for unix/vsock endpoints (guest vsock, fake tether); close-on-exec.
Result<UniqueFd> listenEndpoint(const Endpoint& ep);
// Guest: opens a virtio-serial port device read/write, non-blocking.
Result<UniqueFd> openPort(const Endpoint& ep);

Status setNonBlocking(int fd);

}  // namespace vic::vsock
