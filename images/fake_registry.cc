#include "images/fake_registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <stdexcept>

namespace vic::images {

FakeRegistry::FakeRegistry() : listener_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (!listener_ || ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener_.get(), 16) != 0 || ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("fake registry: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeRegistry::~FakeRegistry() {
  stop_ = true;
  thread_.join();
}

std::string FakeRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }

void FakeRegistry::set(const std::string& path, Answer a) {
  std::lock_guard lock(mu_);
  answers_[path] = std::move(a);
}

std::vector<FakeRegistry::Request> FakeRegistry::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeRegistry::serve() {
  while (!stop_) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn) answer(conn.get());
  }
}

namespace {

std::string readHead(int fd) {
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < (64 << 10)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
  }
  return head;
}

std::string headerOf(const std::string& head, const char* name) {
  size_t pos = 0;
  std::string key = std::string("\r\n") + name + ":";
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    if (strncasecmp(head.c_str() + pos, key.c_str(), key.size()) == 0) {
      size_t start = head.find_first_not_of(' ', pos + key.size());
      return head.substr(start, head.find("\r\n", start) - start);
    }
    pos += 2;
  }
  return "";
}

void sendAll(int fd, const std::string& data) {
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client stopped reading: that is often the point
    off += static_cast<size_t>(n);
  }
}

}  // namespace

void FakeRegistry::answer(int fd) {
  std::string head = readHead(fd);
  size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return;
  std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
  Answer a{404, {}, R"({"errors":[{"code":"NOT_FOUND","message":"no such thing"}]})"};
  {
    std::lock_guard lock(mu_);
    requests_.push_back({target, headerOf(head, "authorization")});
    if (auto it = answers_.find(target.substr(0, target.find('?'))); it != answers_.end()) a = it->second;
  }
  std::string out = "HTTP/1.1 " + std::to_string(a.status) + " X\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(a.body.size()) + "\r\n";
  for (const auto& [k, v] : a.headers) out += k + ": " + v + "\r\n";
  sendAll(fd, out + "\r\n");
  sendAll(fd, a.body);
}

}  // namespace vic::images
