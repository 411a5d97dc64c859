#include "runtime/vicadmin/docker_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "common/unique_fd.h"

namespace vic::vicadmin {

namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<std::string> dechunk(std::string_view in) {
  std::string out;
  while (true) {
    auto eol = in.find("\r\n");
    if (eol == std::string_view::npos) return Error(Errc::kProtocol, "truncated chunked body");
    size_t len = 0;
    try {
      len = std::stoul(std::string(in.substr(0, eol)), nullptr, 16);
    } catch (const std::exception&) {
      return Error(Errc::kProtocol, "bad chunk size");
    }
    in.remove_prefix(eol + 2);
    if (len == 0) return out;
    if (in.size() < len) return Error(Errc::kProtocol, "truncated chunk");
    out.append(in.substr(0, len));
    in.remove_prefix(std::min(in.size(), len + 2));
  }
}

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // the next read or write reports it
  }
}

Result<UniqueFd> connectUnix(const std::string& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.size() >= sizeof addr.sun_path) return Error(Errc::kInvalidArgument, "socket path too long: " + socket);
  std::memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Error::fromErrno("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Error(Errc::kUnavailable, "no endpoint listening on " + socket + ": " + std::strerror(errno));
  }
  return fd;
}

}  // namespace

Result<HttpAnswer> parseHttpResponse(std::string_view raw) {
  auto end = raw.find("\r\n\r\n");
  if (end == std::string_view::npos) return Error(Errc::kProtocol, "incomplete HTTP response header");
  std::string head(raw.substr(0, end));
  std::string_view body = raw.substr(end + 4);
  HttpAnswer a;
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) return Error(Errc::kProtocol, "not an HTTP response");
  a.status = std::atoi(head.c_str() + 9);
  std::string h = lower(head);
  if (h.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    auto d = dechunk(body);
    if (!d) return std::move(d).error();
    a.body = std::move(*d);
    return a;
  }
  if (auto cl = h.find("\r\ncontent-length:"); cl != std::string::npos) {
    size_t n = std::strtoull(h.c_str() + cl + 17, nullptr, 10);
    if (body.size() < n) return Error(Errc::kProtocol, "truncated body");
    body = body.substr(0, n);
  }
  a.body = std::string(body);
  return a;
}

Result<std::string> unixGet(const std::string& socket, const std::string& target, std::chrono::milliseconds timeout,
                            size_t limit) {
  auto deadline = Clock::now() + timeout;
  auto fd = connectUnix(socket);
  if (!fd) return std::move(fd).error();
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: docker\r\nUser-Agent: vic-admin\r\nConnection: close\r\n\r\n";
  auto tooSlow = Error(Errc::kTimeout, "no answer to GET " + target + " within " + std::to_string(timeout.count()) + " ms");
  for (size_t sent = 0; sent < req.size();) {
    if (!waitFor(fd->get(), POLLOUT, deadline)) return tooSlow;
    ssize_t n = ::send(fd->get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return Error::fromErrno("sending to " + socket);
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[64 * 1024];
  while (true) {
    if (!waitFor(fd->get(), POLLIN, deadline)) return tooSlow;
    ssize_t n = ::recv(fd->get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return Error::fromErrno("reading from " + socket);
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (raw.size() > limit) return Error(Errc::kProtocol, "answer to GET " + target + " larger than " + std::to_string(limit) + " bytes");
  }
  auto a = parseHttpResponse(raw);
  if (!a) return std::move(a).error().wrap("GET " + target);
  if (a->status < 200 || a->status > 299) {
    return Error(a->status == 404 ? Errc::kNotFound : Errc::kUnavailable,
                 "GET " + target + ": status " + std::to_string(a->status) + ": " + a->body.substr(0, 200));
  }
  return std::move(a->body);
}

}  // namespace vic::vicadmin
