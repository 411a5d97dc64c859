// What the vic-machine sources share among themselves; not for other users.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/vch/vch_config.h"
#include "runtime/vic_machine/vch_manager.h"

namespace vic::machine {

std::string registryEntry(const std::string& name);  // <state>/vchs/<name>: holds the vch.json path
std::string configFile(const vch::VchConfig& c);      // <datastore>/vch.json

// The parts given, or found beside vic-machine (in the build tree or an installed share/).
Result<VchParts> findParts(const std::string& kernel, const std::string& bootstrap, const std::string& endpoint);
// Copies them to where the VCH's configuration says they live.
Status installParts(const VchParts& p, const vch::VchConfig& c);

// host:port -> port (0 when there is none).
int portOf(const std::string& hostPort);
// Whether another VCH's API or vicadmin listens on the port.
bool portTakenByVch(int port, const std::vector<vch::VchConfig>& others);
// vicadmin's port on `address`: `wanted` when free, else 2378 or the next free one; never apiPort.
Result<int> pickAdminPort(const std::string& address, int wanted, int apiPort, const std::vector<vch::VchConfig>& others);
// Sets the VCH's vicadmin address (the API's host) and its token, log and pid files.
void layOutAdmin(vch::VchConfig& c, int port);

// The endpoint as this host runs it: startEndpoint and stopEndpoint.
class HostEndpoint : public EndpointDaemon {
 public:
  Status start(const vch::VchConfig& cfg, int timeoutSeconds, const Progress& progress) override {
    return startEndpoint(cfg, timeoutSeconds, progress);
  }
  Status stop(const vch::VchConfig& cfg) override { return stopEndpoint(cfg); }
};
// Disables and removes the endpoint's systemd unit, where there is one.
void removeEndpointUnit(const std::string& vchName);

}  // namespace vic::machine
