#include "vsock/transport.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

namespace vic::vsock {
namespace {

Result<uint32_t> parseU32(std::string_view s, std::string_view what) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return Error(Errc::kInvalidArgument, "bad " + std::string(what) + " '" + std::string(s) + "'");
  }
  return v;
}

}  // namespace

std::string Endpoint::str() const {
  switch (kind) {
    case Kind::kUnix: return "unix:" + path;
    case Kind::kPort: return "port:" + path;
    case Kind::kVsock: return "vsock:" + std::to_string(cid) + ":" + std::to_string(port);
  }
  return "?";
}

Result<Endpoint> parseEndpoint(std::string_view text) {
  Endpoint ep;
  if (text.starts_with("vsock:")) {
    auto rest = text.substr(6);
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return Error(Errc::kInvalidArgument, "vsock endpoint needs cid:port");
    auto cid = parseU32(rest.substr(0, colon), "vsock cid");
    if (!cid) return std::move(cid).error();
    auto port = parseU32(rest.substr(colon + 1), "vsock port");
    if (!port) return std::move(port).error();
    ep.kind = Endpoint::Kind::kVsock;
    ep.cid = *cid;
    ep.port = *port;
    return ep;
  }
  if (text.starts_with("port:")) {
    ep.kind = Endpoint::Kind::kPort;
    ep.path = std::string(text.substr(5));
  } else {
    ep.path = std::string(text.starts_with("unix:") ? text.substr(5) : text);
  }
  if (ep.path.empty()) return Error(Errc::kInvalidArgument, "empty endpoint path in '" + std::string(text) + "'");
  return ep;
}

bool hostHasVsock() { return ::access("/dev/vhost-vsock", R_OK | W_OK) == 0; }

bool guestHasVsock() {
  int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::optional<uint32_t> guestVsockCid(const char* device) {
  UniqueFd fd(::open(device, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  unsigned int cid = VMADDR_CID_ANY;
  if (::ioctl(fd.get(), IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) != 0) return std::nullopt;
  if (cid == VMADDR_CID_ANY || cid < kFirstGuestCid) return std::nullopt;  // the driver, but no device
  return cid;
}

Result<Endpoint> chooseGuestEndpoint(std::string_view override, std::string_view portPath, std::optional<uint32_t> localCid) {
  if (!override.empty()) return parseEndpoint(override);
  if (localCid) return Endpoint{Endpoint::Kind::kVsock, "", kVsockCidAny, kTetherVsockPort};
  if (!portPath.empty()) return Endpoint{Endpoint::Kind::kPort, std::string(portPath), 0, 0};
  return Error(Errc::kUnavailable, "no tether transport: neither a vsock device nor the virtio-serial port " +
                                       std::string(kTetherPortName));
}

Endpoint hostEndpoint(const std::string& unixSocket, std::optional<uint32_t> cid) {
  if (cid) return Endpoint{Endpoint::Kind::kVsock, "", *cid, kTetherVsockPort};
  return Endpoint{Endpoint::Kind::kUnix, unixSocket, 0, 0};
}

Result<SocketAddress> socketAddress(const Endpoint& ep) {
  SocketAddress sa;
  if (ep.kind == Endpoint::Kind::kUnix) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (ep.path.size() >= sizeof a.sun_path) return Error(Errc::kInvalidArgument, "socket path too long: " + ep.path);
    std::memcpy(a.sun_path, ep.path.c_str(), ep.path.size() + 1);
    std::memcpy(&sa.storage, &a, sizeof a);
    sa.size = sizeof a;
  } else if (ep.kind == Endpoint::Kind::kVsock) {
    sockaddr_vm a{};
    a.svm_family = AF_VSOCK;
    a.svm_cid = ep.cid;
    a.svm_port = ep.port;
    std::memcpy(&sa.storage, &a, sizeof a);
    sa.size = sizeof a;
  } else {
    return Error(Errc::kInvalidArgument, ep.str() + " is a device, not a socket");
  }
  return sa;
}

bool fromHost(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_UNIX) return true;
  if (peer.ss_family != AF_VSOCK) return false;
  sockaddr_vm vm{};
  std::memcpy(&vm, &peer, sizeof vm);
  return vm.svm_cid == kVsockCidHost;
}

namespace {

// A close-on-exec stream socket for `ep` plus its address.
Result<std::pair<UniqueFd, SocketAddress>> streamSocket(const Endpoint& ep) {
  auto addr = socketAddress(ep);
  if (!addr) return std::move(addr).error();
  UniqueFd fd(::socket(addr->family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::fromErrno("socket for " + ep.str());
  return std::pair(std::move(fd), *addr);
}

}  // namespace

Result<UniqueFd> connectEndpoint(const Endpoint& ep) {
  auto sock = streamSocket(ep);
  if (!sock) return std::move(sock).error();
  auto& [fd, addr] = *sock;
  if (::connect(fd.get(), addr.get(), addr.size) != 0) return Error::fromErrno("connecting to " + ep.str());
  return std::move(fd);
}

Result<UniqueFd> listenEndpoint(const Endpoint& ep) {
  auto sock = streamSocket(ep);
  if (!sock) return std::move(sock).error();
  auto& [fd, addr] = *sock;
  if (ep.kind == Endpoint::Kind::kUnix) ::unlink(ep.path.c_str());
  if (::bind(fd.get(), addr.get(), addr.size) != 0) return Error::fromErrno("binding " + ep.str());
  if (::listen(fd.get(), 4) != 0) return Error::fromErrno("listening on " + ep.str());
  return std::move(fd);
}

Result<UniqueFd> openPort(const Endpoint& ep) {
  UniqueFd fd(::open(ep.path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) return Error::fromErrno("opening " + ep.path);
  return fd;
}

Status setNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return Error::fromErrno("fcntl O_NONBLOCK");
  return ok();
}

}  // namespace vic::vsock
