#include "common/net.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "common/unique_fd.h"

namespace vic {

std::string ipString(uint32_t addr) {
  in_addr a{htonl(addr)};
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string Cidr::str() const { return ipString(base) + "/" + std::to_string(prefix); }

bool Cidr::overlaps(const Cidr& o) const {
  int p = std::min(prefix, o.prefix);
  uint32_t mask = p == 0 ? 0 : ~0u << (32 - p);
  return (base & mask) == (o.base & mask);
}

Result<IpPrefix> parseIpPrefix(const std::string& text) {
  IpPrefix c;
  auto slash = text.find('/');
  std::string addr = text.substr(0, slash);
  if (::inet_pton(AF_INET, addr.c_str(), c.addr.data()) == 1) {
    c.family = AF_INET;
    c.prefix = 32;
  } else if (::inet_pton(AF_INET6, addr.c_str(), c.addr.data()) == 1) {
    c.family = AF_INET6;
    c.prefix = 128;
  } else {
    return Error(Errc::kInvalidArgument, "invalid IP address: " + addr);
  }
  if (slash != std::string::npos) {
    std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos || std::stoi(p) > c.prefix) {
      return Error(Errc::kInvalidArgument, "invalid prefix length in " + text);
    }
    c.prefix = static_cast<uint8_t>(std::stoi(p));
  }
  return c;
}

Result<Cidr> parseCidr(const std::string& text) {
  auto p = parseIpPrefix(text);
  if (!p || p->family != AF_INET) return Error(Errc::kInvalidArgument, "invalid CIDR address: " + text);
  uint32_t addr = 0;
  std::memcpy(&addr, p->addr.data(), sizeof addr);
  uint32_t mask = p->prefix == 0 ? 0 : ~0u << (32 - p->prefix);
  return Cidr{ntohl(addr) & mask, p->prefix};
}

std::string gatewayOf(const Cidr& c) { return ipString(c.base + 1) + "/" + std::to_string(c.prefix); }

std::optional<Cidr> pickFreeRange(const std::vector<Cidr>& used) {
  std::vector<Cidr> candidates;
  for (uint32_t b = 16; b < 32; ++b) candidates.push_back({(172u << 24) | (b << 16), 16});
  for (uint32_t b = 100; b < 200; ++b) candidates.push_back({(10u << 24) | (b << 16), 16});
  for (const auto& c : candidates) {
    if (std::none_of(used.begin(), used.end(), [&](const Cidr& u) { return u.overlaps(c); })) return c;
  }
  return std::nullopt;
}

Result<uint32_t> parseIp(const std::string& text) {
  in_addr a{};
  if (::inet_pton(AF_INET, text.c_str(), &a) != 1) return Error(Errc::kInvalidArgument, "invalid IPv4 address: \"" + text + "\"");
  return ntohl(a.s_addr);
}


std::vector<HostAddress> hostAddresses() {
  std::vector<HostAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (auto* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !a->ifa_netmask) continue;
    uint32_t ip = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
    uint32_t mask = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr);
    out.push_back({ipString(ip), Cidr{ip & mask, __builtin_popcount(mask)}, a->ifa_name});
  }
  ::freeifaddrs(list);
  return out;
}

bool portFree(const std::string& address, int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  auto addr = parseCidr(address);
  sa.sin_addr.s_addr = htonl(addr ? addr->base : 0);
  return fd.get() >= 0 && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
}

}  // namespace vic
