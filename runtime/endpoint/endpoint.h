// The VCH endpoint: one daemon per VCH. Reads the VCH configuration, rebuilds state from
// libvirt and the datastore, and serves the Docker API on the VCH's unix socket and TCP port.
#pragma once

#include "common/result.h"
#include "runtime/vch/vch_config.h"

namespace vic::endpoint {

// Runs until SIGTERM/SIGINT. Errors before serving are returned.
Status run(const vch::VchConfig& config);

}  // namespace vic::endpoint
