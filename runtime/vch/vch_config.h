// The VCH's configuration: written by vic-machine into the VCH's datastore
// (<datastore>/vch.json), read by the VCH endpoint at start. Pure encode/decode, golden-tested.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "hypervisor/resource_pool.h"

namespace vic::vch {

struct TlsConfig {
  bool enabled = true;        // false: plain HTTP on the TCP port (--no-tls)
  bool verifyClient = true;   // false: --no-tlsverify
  std::string ca, cert, key;  // PEM files (server side)
};

// An existing host bridge shown to docker as a network (vic-machine --container-network):
// containerVMs sit on it directly, with addresses from `ipRange` (vic runs no DHCP client).
struct ContainerNetwork {
  std::string bridge;   // the host's Linux bridge, e.g. br0
  std::string alias;    // the docker network name
  std::string gateway;  // CIDR: the segment's router and prefix, 192.168.1.1/24
  std::string ipRange;  // CIDR inside it that vic may give out, 192.168.1.128/25
  std::vector<std::string> dns;
};

struct VchConfig {
  std::string name;                    // vch1
  std::string target = "qemu:///system";
  std::string datastore;               // absolute directory: images, containers, logs
  std::map<std::string, std::string> volumeStores;  // label -> directory ("default" for anonymous volumes)
  std::string pool;                    // resource pool (cgroup partition) name
  int cpus = 0;                        // pool CPU limit in cores (0: unlimited)
  uint64_t memoryMiB = 0;              // pool memory limit (0: unlimited)
  std::string bridgeNetwork;           // port group name for the default bridge
  std::string bridgeRange = "172.16.0.0/16";
  std::vector<ContainerNetwork> containerNetworks;
  std::string unixSocket;              // docker API on a unix socket (always)
  std::string tcpAddress;              // docker API on TCP, host:port ("" = none)
  std::string dockerHost;              // what clients put in DOCKER_HOST (tcp://127.0.0.1:2376)
  std::string clientCerts;             // DOCKER_CERT_PATH for clients ("" without TLS)
  TlsConfig tls;
  std::string kernel, bootstrap;       // containerVM kernel and bootstrap image (in the datastore)
  std::vector<std::string> insecureRegistries;  // host[:port] or CIDR (dockerd's --insecure-registry rules)
  std::string registryCa;              // PEM CAs that verify registries (--registry-ca), in the datastore ("" = none)
  bool instantClone = true;            // containers fork from a template (false: each boots)
  std::string logFile;                 // the endpoint's log
  std::string pidFile;
  std::string adminAddress{};          // vicadmin's host:port ("" = no vicadmin)
  std::string adminTokenFile{};        // <datastore>/admin-token: the login token, 0600
  std::string adminLogFile{};          // vicadmin's log
  std::string adminPidFile{};
  std::string endpoint;                // the vic-endpoint binary this VCH runs
  int64_t created = 0;                 // unix seconds
  std::string version;                 // vic version that created it
};

std::string encodeVchConfig(const VchConfig& c);
Result<VchConfig> decodeVchConfig(const std::string& json);

// Reads <datastore>/vch.json; writes it atomically.
Result<VchConfig> loadVchConfig(const std::string& file);
Status saveVchConfig(const std::string& file, const VchConfig& c);
// Where a VCH's containerVMs keep their tether sockets: short, as a unix socket path holds 107
// bytes and a datastore path plus a 64-hex container id does not fit.
inline std::string runDir(const std::string& vchName) { return "/run/vic/" + vchName; }
// The limits of the VCH's resource pool (0 in vch.json: none).
hv::PoolLimits poolLimits(const VchConfig& c);
// The Linux bridge of a VCH's default bridge network (at most 15 characters).
std::string bridgeDevice(const std::string& vchName);

}  // namespace vic::vch
