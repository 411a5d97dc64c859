// IP basics shared by vic-machine, the port layer and tether: CIDR ranges, interface addresses,
// the host's addresses, whether a port is free. Pure except hostAddresses() and portFree().
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic {

struct Cidr {
  uint32_t base = 0;  // host order, masked
  int prefix = 0;
  std::string str() const;
  uint32_t size() const { return prefix == 0 ? 0xffffffffu : (1u << (32 - prefix)); }
  uint32_t mask() const { return prefix == 0 ? 0 : ~0u << (32 - prefix); }
  bool contains(uint32_t addr) const { return (addr & mask()) == base; }
  bool overlaps(const Cidr& o) const;
};
// "10.0.0.0/8", "10.1.2.3" (/32); the address is masked to the prefix.
Result<Cidr> parseCidr(const std::string& text);

// An interface address as `ip addr add` takes it: IPv4 or IPv6, the address kept whole.
struct IpPrefix {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};  // network order; the first 4 bytes for IPv4
  uint8_t prefix = 0;
};
// "172.16.0.2/16", "fd00::2/64"; a bare address gets the full-length prefix.
Result<IpPrefix> parseIpPrefix(const std::string& text);
// A dotted IPv4 address; "" and junk are errors.
Result<uint32_t> parseIp(const std::string& text);
std::string ipString(uint32_t addr);
// The gateway of a bridge range (its first host address) in CIDR form: "172.16.0.1/16".
std::string gatewayOf(const Cidr& c);
// The first /16 from 172.16.0.0 up to 172.31.0.0, then 10.100-199.0.0/16, that overlaps nothing in `used`.
std::optional<Cidr> pickFreeRange(const std::vector<Cidr>& used);

struct HostAddress {
  std::string ip;
  Cidr net;
  std::string interface;
};
std::vector<HostAddress> hostAddresses();
// True when `port` can be bound on `address` ("0.0.0.0" for any) for TCP.
bool portFree(const std::string& address, int port);

}  // namespace vic
