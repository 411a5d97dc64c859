#include "vsock/transport.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

Result<sockaddr_un> unixAddress(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return Error(Errc::kInvalidArgument, "socket path too long: " + path);
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

sockaddr_vm vsockAddress(uint32_t cid, uint32_t port) {
  sockaddr_vm a{};
  a.svm_family = AF_VSOCK;
  a.svm_cid = cid;
  a.svm_port = port;
  return a;
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

Result<Endpoint> chooseGuestEndpoint(std::string_view override, std::string_view portDir) {
  if (!override.empty()) return parseEndpoint(override);
  std::string port = std::string(portDir) + "/" + std::string(kTetherPortName);
  struct stat st{};
  if (::stat(port.c_str(), &st) == 0) return Endpoint{Endpoint::Kind::kPort, port, 0, 0};
  if (guestHasVsock()) return Endpoint{Endpoint::Kind::kVsock, "", kVsockCidAny, kTetherVsockPort};
  return Error(Errc::kUnavailable, "no tether transport: neither " + port + " nor AF_VSOCK is available");
}

Result<UniqueFd> connectEndpoint(const Endpoint& ep) {
  if (ep.kind == Endpoint::Kind::kPort) return Error(Errc::kInvalidArgument, "cannot connect to a port device");
  int family = ep.kind == Endpoint::Kind::kUnix ? AF_UNIX : AF_VSOCK;
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::fromErrno("socket for " + ep.str());
  int rc;
  if (ep.kind == Endpoint::Kind::kUnix) {
    auto a = unixAddress(ep.path);
    if (!a) return std::move(a).error();
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*a), sizeof *a);
  } else {
    auto a = vsockAddress(ep.cid, ep.port);
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) return Error::fromErrno("connecting to " + ep.str());
  return fd;
}

Result<UniqueFd> listenEndpoint(const Endpoint& ep) {
  if (ep.kind == Endpoint::Kind::kPort) return Error(Errc::kInvalidArgument, "cannot listen on a port device");
  int family = ep.kind == Endpoint::Kind::kUnix ? AF_UNIX : AF_VSOCK;
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::fromErrno("socket for " + ep.str());
  int rc;
  if (ep.kind == Endpoint::Kind::kUnix) {
    auto a = unixAddress(ep.path);
    if (!a) return std::move(a).error();
    ::unlink(ep.path.c_str());
    rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*a), sizeof *a);
  } else {
    auto a = vsockAddress(ep.cid, ep.port);
    rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) return Error::fromErrno("binding " + ep.str());
  if (::listen(fd.get(), 4) != 0) return Error::fromErrno("listening on " + ep.str());
  return fd;
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
