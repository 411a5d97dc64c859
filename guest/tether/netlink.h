// Network interfaces from the container configuration, over rtnetlink: find the NIC by MAC,
// rename it, set its MTU, add its addresses, bring it up, add the default route.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "vsock/messages.h"

namespace vic::tether {

// Waits up to 5 s for each NIC: after an instant clone's PCI rescan it appears a moment later.
Status configureNetworks(const std::vector<vsock::NetworkInterface>& nics);
// A NIC hot-added while the container runs (docker network connect): configures the ones in
// `now` whose MAC `before` lacks, waiting up to `wait` for each to appear.
Status configureAddedNetworks(const std::vector<vsock::NetworkInterface>& before,
                              const std::vector<vsock::NetworkInterface>& now, std::chrono::milliseconds wait);
// The template's NIC (MAC `templateMac`) takes `mac` (none: it is left for unbindOtherNics).
Status adoptTemplateNic(const std::string& templateMac, const std::string& mac);
// NICs the container has no network for (a clone's stand-in for the template's NIC) are unbound
// from their driver: as with docker, a container sees only the networks it is on.
Status unbindOtherNics(const std::vector<vsock::NetworkInterface>& networks);

}  // namespace vic::tether
