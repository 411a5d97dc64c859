// Docker's networking JSON <-> the port layer's scopes, endpoints and port bindings: what
// `docker run -p/-P/--network/--ip/--network-alias/--link/--dns/--add-host` sends, what
// `docker network create` sends, and what inspect, ps and `docker network inspect` show.
// Pure functions, golden-tested.
#pragma once

#include <nlohmann/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/portlayer/container.h"
#include "runtime/portlayer/network.h"

namespace vic::docker {
using nlohmann::json;

// Reads the networking part of a create body (and the image's ExposedPorts) into the spec.
// Endpoints name their network as the user did; the caller resolves them to scope ids.
Status networkingFromCreate(const json& body, const json& imageConfig, pl::ContainerSpec& s);

// One of a container's networks, resolved for display.
struct AttachedNetwork {
  pl::Scope scope;
  pl::NetworkEndpoint endpoint;
};
// What the endpoint knows about a container beyond its spec and status, for inspect and ps.
struct ContainerView {
  std::vector<AttachedNetwork> networks;
  std::vector<pl::PortBinding> published;          // what a running container got
  std::map<std::string, std::string> volumeDisks;  // volume name -> its disk
  // API before 1.45: the short id is among the Aliases on user-defined networks, as dockerd tells
  // older clients (docker-compose 1.29 reconnects a container whose aliases lack it).
  bool shortIdAlias = false;
};

json networkSettings(const pl::ContainerSpec& s, const ContainerView& v);  // inspect's NetworkSettings
json portSummaries(const pl::ContainerSpec& s, const ContainerView& v);    // ps's Ports
json summaryNetworks(const ContainerView& v);                              // ps's NetworkSettings.Networks

Result<pl::ScopeRequest> scopeRequestFromCreate(const json& body);
// GET /networks/{id}: `containers` are the endpoints on it (id -> name, endpoint).
struct ScopeMember {
  std::string id, name;
  pl::NetworkEndpoint endpoint;
};
json networkJson(const pl::Scope& s, const std::vector<ScopeMember>& containers);

}  // namespace vic::docker
