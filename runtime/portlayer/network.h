// Networking in the port layer: docker networks as scopes (a bridge with an address pool),
// each container's endpoints on them, and address management. The containerVMs' metadata
// holds which addresses are taken (the VM is the source of truth); a scope only knows its pool.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/net.h"
#include "common/result.h"
#include "hypervisor/hypervisor.h"

namespace vic::pl {

struct Scope {
  std::string id;    // 64 hex
  std::string name;  // "bridge" for the VCH's default network
  std::string kind = "bridge";  // "bridge": a bridge the VCH made; "external": a host bridge (--container-network)
  Cidr subnet;
  uint32_t gateway = 0;
  Cidr pool;                    // where addresses come from (--ip-range; the subnet when not given)
  bool internal = false;        // no route out of the host
  bool builtin = false;         // made by vic-machine: cannot be removed with docker
  std::string portGroup;        // the libvirt network
  std::string bridge;           // the Linux bridge device
  std::vector<std::string> dns; // name servers the containers use ("" = the gateway's)
  std::map<std::string, std::string> labels;
  int64_t createdNs = 0;
};

std::string encodeScope(const Scope& s);
Result<Scope> decodeScope(const std::string& json);

// A container's place on one scope, chosen at create (or network connect) and kept for good.
struct NetworkEndpoint {
  std::string scope;  // scope id
  std::string ip;     // dotted
  std::string mac;
  std::vector<std::string> aliases;  // --network-alias
};

// One published port: -p [hostIp:][hostPort:]containerPort[/proto]. hostPort 0 asks for a free one.
struct PortBinding {
  std::string proto = "tcp";
  uint16_t containerPort = 0;
  std::string hostIp;  // "" = every host address
  uint16_t hostPort = 0;
  bool operator==(const PortBinding&) const = default;
};

// A free address in the scope's pool: `requested` when given (it must be in the subnet and not
// taken), else the lowest free one. The gateway, network and broadcast addresses are never given.
Result<uint32_t> pickAddress(const Scope& s, const std::string& requested, const std::set<uint32_t>& used);
// 02:42 followed by the address, as docker does: unique on the scope, stable across restarts.
std::string macFor(uint32_t ip);

// What `docker network create` asks for.
struct ScopeRequest {
  std::string name;
  std::string subnet, gateway, ipRange;  // optional; a free /16 is picked when subnet is empty
  bool internal = false;
  std::map<std::string, std::string> labels;
};

// Checks a request against the scopes there are and the host's own ranges, and fills in the
// addresses: docker's messages for overlaps and addresses outside the subnet. Pure.
Result<Scope> planScope(const ScopeRequest& r, const std::vector<Scope>& existing, const std::vector<Cidr>& hostRanges);

// The VCH's scopes: the built-in ones from its configuration and the user's, which live as JSON
// files in <datastore>/networks and as libvirt networks named <vch>-net-<id12>.
class Networks {
 public:
  Networks(hv::Hypervisor& hv, std::string vch, std::string stateDir);

  // Makes sure the port group of a built-in scope exists (vic-machine made it).
  Status addBuiltin(Scope s);
  // Reads the user's scopes and recreates a missing port group (a host reboot).
  Status load();
  // Blocking (port groups); PortLayer::createNetwork/removeNetwork split them around the pool:
  // plan and add/forget on the I/O thread, provision/unprovision (hypervisor, files) off it.
  Result<Scope> create(const ScopeRequest& r);
  Status remove(const std::string& id);
  Result<Scope> plan(const ScopeRequest& r) const;
  Status provision(const Scope& s);
  void add(const Scope& s);
  Result<Scope> removable(const std::string& id) const;
  Status unprovision(const Scope& s);
  void forget(const std::string& id);
  // docker's lookup: full id, name, then unique id prefix. "network x not found".
  Result<Scope> find(const std::string& ref) const;
  std::vector<Scope> list() const;
  const Scope* byId(const std::string& id) const;
  std::string defaultScope() const { return defaultId_; }

 private:
  Status ensurePortGroup(const Scope& s);
  hv::Hypervisor& hv_;
  std::string vch_, dir_;
  std::string defaultId_;
  std::map<std::string, Scope> scopes_;
};

// A scope id derived from a name, so a built-in scope keeps its id across endpoint restarts.
std::string scopeIdFor(const std::string& vch, const std::string& name);

}  // namespace vic::pl
