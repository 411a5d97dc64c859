#include "guest/tether/dns_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "common/unique_fd.h"

namespace vic::tether {

namespace {
constexpr size_t kHeader = 12;
constexpr size_t kMaxMessage = 4096;  // EDNS answers beyond 512 bytes over UDP
constexpr int kUpstreamTimeoutMs = 2000;
constexpr int kMaxInFlight = 64;

int rcode(const std::vector<uint8_t>& r) { return r[3] & 0x0F; }
int answers(const std::vector<uint8_t>& r) { return (r[6] << 8) | r[7]; }

bool answersQuery(std::span<const uint8_t> query, const std::vector<uint8_t>& r) {
  if (r.size() < kHeader || query.size() < kHeader) return false;
  bool isResponse = (r[2] & 0x80) != 0;
  return isResponse && r[0] == query[0] && r[1] == query[1];
}

std::mutex upstreamsMu;
std::vector<std::string> upstreams;  // guarded by upstreamsMu
std::atomic<int> inFlight{0};
std::once_flag started;
Status startStatus = ok();

std::vector<std::string> currentUpstreams() {
  std::lock_guard lock(upstreamsMu);
  return upstreams;
}

// Sends the query to every upstream at once and collects what comes back within the timeout.
std::vector<std::vector<uint8_t>> askAll(std::span<const uint8_t> query, const std::vector<std::string>& servers) {
  std::vector<std::vector<uint8_t>> got(servers.size());
  std::vector<UniqueFd> fds;
  std::vector<pollfd> polls;
  std::vector<size_t> index;
  for (size_t i = 0; i < servers.size(); ++i) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(53);
    if (::inet_pton(AF_INET, servers[i].c_str(), &to.sin_addr) != 1) continue;
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) continue;
    if (::send(fd.get(), query.data(), query.size(), 0) < 0) continue;
    polls.push_back({fd.get(), POLLIN, 0});
    index.push_back(i);
    fds.push_back(std::move(fd));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kUpstreamTimeoutMs);
  size_t pending = polls.size();
  while (pending > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || ::poll(polls.data(), polls.size(), static_cast<int>(left)) <= 0) break;
    for (size_t p = 0; p < polls.size(); ++p) {
      if (!(polls[p].revents & (POLLIN | POLLERR))) continue;
      std::vector<uint8_t> buf(kMaxMessage);
      ssize_t n = ::recv(polls[p].fd, buf.data(), buf.size(), 0);
      polls[p].fd = -1;  // one datagram each; poll ignores negative fds
      --pending;
      if (n > 0) {
        buf.resize(static_cast<size_t>(n));
        got[index[p]] = std::move(buf);
      }
    }
  }
  return got;
}

void answer(int fd, std::vector<uint8_t> query, sockaddr_storage from, socklen_t fromLen) {
  auto responses = askAll(query, currentUpstreams());
  if (auto best = pickResponse(query, responses)) {
    const auto& r = responses[*best];
    (void)::sendto(fd, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), fromLen);
  } else if (query.size() >= kHeader) {  // nobody answered: SERVFAIL, so the client need not wait out its own timeout
    query[2] = static_cast<uint8_t>(query[2] | 0x80);
    query[3] = static_cast<uint8_t>((query[3] & 0xF0) | 2);
    (void)::sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&from), fromLen);
  }
  --inFlight;
}

void serve(int fd) {
  for (;;) {
    std::vector<uint8_t> query(kMaxMessage);
    sockaddr_storage from{};
    socklen_t fromLen = sizeof from;
    ssize_t n = ::recvfrom(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
    if (n < static_cast<ssize_t>(kHeader)) continue;
    if (inFlight.load() >= kMaxInFlight) continue;  // a flood: dropped, the client retries
    query.resize(static_cast<size_t>(n));
    ++inFlight;
    std::thread(answer, fd, std::move(query), from, fromLen).detach();
  }
}

Status listen() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::fromErrno("embedded DNS socket");
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(53);
  ::inet_pton(AF_INET, kEmbeddedDnsAddress, &at.sin_addr);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) return Error::fromErrno("binding the embedded DNS to 127.0.0.11:53");
  std::thread(serve, fd.release()).detach();
  return ok();
}
}  // namespace

std::optional<size_t> pickResponse(std::span<const uint8_t> query, const std::vector<std::vector<uint8_t>>& responses) {
  std::optional<size_t> withAnswers, exists, any;
  for (size_t i = 0; i < responses.size(); ++i) {
    const auto& r = responses[i];
    if (!answersQuery(query, r)) continue;
    if (!any) any = i;
    if (rcode(r) != 0) continue;
    if (!exists) exists = i;
    if (answers(r) > 0 && !withAnswers) withAnswers = i;
  }
  return withAnswers ? withAnswers : exists ? exists : any;
}

Status serveEmbeddedDns(const std::vector<std::string>& servers) {
  {
    std::lock_guard lock(upstreamsMu);
    upstreams = servers;
  }
  std::call_once(started, [] { startStatus = listen(); });
  return startStatus;
}

}  // namespace vic::tether
