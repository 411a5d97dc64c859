// Network interfaces from the container configuration, over rtnetlink: find the NIC by MAC,
// rename it, set its MTU, add its addresses, bring it up, add the default route.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "vsock/messages.h"

namespace vic::tether {

struct Cidr {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};
  uint8_t prefix = 0;
};

// "172.16.0.2/16", "fd00::2/64"; a bare address gets the full-length prefix. Pure.
Result<Cidr> parseCidr(const std::string& text);

Status configureNetworks(const std::vector<vsock::NetworkInterface>& nics);
// A NIC hot-added while the container runs (docker network connect): configures the ones in
// `now` whose MAC `before` lacks, waiting up to `wait` for each to appear.
Status configureAddedNetworks(const std::vector<vsock::NetworkInterface>& before,
                              const std::vector<vsock::NetworkInterface>& now, std::chrono::milliseconds wait);

}  // namespace vic::tether
