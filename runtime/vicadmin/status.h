// The status page's facts and checks. Each check has a stable id (endpoint, libvirt, pool,
// datastore, volume-store:<label>, registry:<host>, firewall:<chain>), a verdict and the
// reason; a check that cannot be made fails with why, and never stops the others.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/vch/vch_config.h"
#include "runtime/vicadmin/probe.h"

namespace vic::vicadmin {
using nlohmann::json;

// Below this a datastore or volume store fails its check: the port layer refuses creates and
// starts under 64 MiB free (port_layer_space.cc).
inline constexpr uint64_t kMinFreeBytes = uint64_t{64} << 20;

// The VCH's firewall chains (runtime/portlayer/port_forward.cc): {table, chain}.
std::vector<std::pair<std::string, std::string>> firewallChains(const std::string& vchName);
// The configured registries vicadmin probes: host[:port] entries of insecureRegistries (CIDRs skipped).
std::vector<std::string> probedRegistries(const vch::VchConfig& cfg);

// Gathers everything the status page shows (blocking: run it on a BlockingPool).
json gatherStatus(const vch::VchConfig& cfg, Probe& probe);

}  // namespace vic::vicadmin
