// What vic-machine does to a host: create, list, inspect, configure, restart and delete VCHs.
// A VCH is a resource pool, a bridge port group, a datastore directory (images, containers,
// the endpoint's log, certificates, vch.json) and one vic-endpoint daemon. VCHs are found
// through <state dir>/vchs/<name>, which holds the path of the VCH's vch.json.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "hypervisor/hypervisor.h"
#include "hypervisor/resource_pool.h"
#include "runtime/vch/vch_config.h"
#include "runtime/vic_machine/flags.h"

namespace vic::machine {

using Progress = std::function<void(const std::string&)>;

struct CreateOptions {
  std::string name = "vch1";
  std::string target = "qemu:///system";
  std::string imageStore;  // datastore directory; default <state>/<name>
  std::vector<std::pair<std::string, std::string>> volumeStores;  // path, label
  int cpus = 0;            // pool limit in CPUs, 0 = none
  uint64_t memoryMiB = 0;  // pool limit, 0 = none
  std::string bridgeNetwork;         // default <name>-bridge
  std::optional<Cidr> bridgeRange;   // default: the first free 172.16-31.0.0/16
  bool tls = true, tlsVerify = true;
  std::vector<std::string> tlsCnames;
  std::string apiAddress = "0.0.0.0";
  int apiPort = 0;  // 0: 2376 with TLS, 2375 without, or the next free one
  int adminPort = 0;  // vicadmin's; 0: 2378, or the next free one
  std::vector<std::string> insecureRegistries;  // host[:port] or CIDR, as dockerd's --insecure-registry
  std::vector<std::string> registryCaFiles;     // PEM files of CAs that verify registries (--registry-ca)
  bool instantClone = true;
  std::vector<vch::ContainerNetwork> containerNetworks;  // host bridges shown as docker networks
  std::string kernel, bootstrap, endpoint;  // default: found beside vic-machine
  int timeoutSeconds = 120;
};

std::string stateDir();  // $VIC_STATE_DIR or /var/lib/vic

Result<vch::VchConfig> findVch(const std::string& name);
std::vector<vch::VchConfig> listVchs();

// planVch, then buildVch on this host: libvirt at opts.target, cgroup pools, the endpoint daemon.
Result<vch::VchConfig> createVch(CreateOptions opts, const Progress& progress);

// The containerVM kernel, bootstrap image and endpoint binary a VCH is made from.
struct VchParts {
  std::string kernel, bootstrap, endpoint, admin;  // admin: the vic-admin binary
};

// What createVch decides before it touches the host.
struct VchPlan {
  vch::VchConfig config;
  VchParts parts;                        // copied into the image store
  std::string bridgeGateway;             // "172.16.0.1/16"
  std::vector<std::string> serverNames;  // what the TLS server certificate names
  int timeoutSeconds = 120;              // for the endpoint to answer
  std::string registryCaPem;             // the --registry-ca certificates, written to config.registryCa
};
Result<VchPlan> planVch(CreateOptions opts);

// The endpoint daemon as building a VCH drives it: startEndpoint/stopEndpoint, or a fake.
class EndpointDaemon {
 public:
  virtual ~EndpointDaemon() = default;
  virtual Status start(const vch::VchConfig& cfg, int timeoutSeconds, const Progress& progress) = 0;
  virtual Status stop(const vch::VchConfig& cfg) = 0;
};

// What buildVch acts on. The caller owns each and keeps it alive past buildVch's return.
struct VchHost {
  hv::PoolManager& pools;
  hv::Hypervisor& hypervisor;
  EndpointDaemon& endpoint;
};
// Carries out a plan: image store, parts, resource pool, bridge network, certificates, vch.json,
// the registry entry, the endpoint. A step that fails undoes every earlier one, in reverse.
Result<vch::VchConfig> buildVch(const VchPlan& plan, VchHost& host, const Progress& progress);
Status deleteVch(const std::string& name, bool force, const Progress& progress);
// Copies the endpoint, kernel and bootstrap image found beside this vic-machine into the VCH
// and restarts its endpoint (running containers keep running; new ones boot the new image).
Status upgradeVch(const std::string& name, const Progress& progress);
// vic-machine configure: what is given replaces what the VCH has (an empty list clears it, as
// VIC's configure took a registry list whole); the endpoint restarts to take it up.
struct ConfigureOptions {
  std::optional<int> cpus;
  std::optional<uint64_t> memoryMiB;
  std::optional<std::vector<std::string>> insecureRegistries;
  std::optional<std::vector<std::string>> registryCaFiles;
};
Status configureVch(const std::string& name, const ConfigureOptions& o, const Progress& progress);

// --insecure-registry values checked and normalised as dockerd does (a scheme dropped, CIDRs
// masked, duplicates once), or the first one refused.
Result<std::vector<std::string>> insecureRegistries(const std::vector<std::string>& values);
// The PEM of --registry-ca files written to <datastore>/certs/registry-ca.pem and recorded in `c`
// (no certificates: the file is removed and nothing recorded).
Status installRegistryCa(vch::VchConfig& c, const std::string& pem);

// The VCH's daemons, the endpoint and vicadmin: each started detached (setsid, its own pid
// file), or through systemd where the host runs it. startEndpoint waits until the API answers
// /info, then starts vicadmin and waits until its port accepts; stopEndpoint stops both.
Status startEndpoint(const vch::VchConfig& cfg, int timeoutSeconds, const Progress& progress);
Status stopEndpoint(const vch::VchConfig& cfg);
std::optional<int> endpointPid(const vch::VchConfig& cfg);  // running endpoint's pid
std::optional<int> adminPid(const vch::VchConfig& cfg);     // running vicadmin's pid
// The systemd units that start them at boot (after libvirtd) and after a crash.
std::string endpointUnitText(const vch::VchConfig& cfg);
std::string adminUnitText(const vch::VchConfig& cfg);
std::string adminBinary(const vch::VchConfig& cfg);  // <datastore>/bin/vic-admin, beside the endpoint

// vicadmin's login token (<datastore>/admin-token, 0600): made when missing; rotate replaces it,
// which ends every vicadmin session. Returns the token.
Result<std::string> adminToken(const vch::VchConfig& cfg, bool rotate);
// Gives a VCH made before vicadmin its address, token, log and pid files (upgrade).
Status addAdmin(vch::VchConfig& cfg);
// Where vicadmin is reached, for users: https://127.0.0.1:2378/ (http without TLS).
std::string adminUrl(const vch::VchConfig& cfg);

// Text for users: the env file, and what inspect prints.
std::string envFileText(const vch::VchConfig& cfg);
std::string inspectText(const vch::VchConfig& cfg, bool running);
// Every container's disk chain (its writable layer down to scratch) and every volume's disk,
// as `qemu-img info --backing-chain` sees them.
Result<std::string> disksText(const vch::VchConfig& cfg);

}  // namespace vic::machine
