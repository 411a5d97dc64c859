// vic-machine create: plan the VCH, then build it step by step with a rollback.
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <functional>

#include "common/files.h"
#include "common/net.h"
#include "hypervisor/libvirt_hypervisor.h"
#include "images/registry_policy.h"
#include "runtime/vic_machine/certs.h"
#include "runtime/vic_machine/vch_internal.h"
#include "runtime/vic_machine/vch_manager.h"

namespace vic::machine {
namespace fs = std::filesystem;
using vch::VchConfig;

namespace {

Result<int> pickPort(const CreateOptions& o, const std::vector<VchConfig>& others) {
  auto taken = [&](int p) { return portTakenByVch(p, others) || !portFree(o.apiAddress, p); };
  if (o.apiPort != 0) {
    if (taken(o.apiPort)) return Error(Errc::kConflict, "port " + std::to_string(o.apiPort) + " on " + o.apiAddress + " is in use");
    return o.apiPort;
  }
  for (int p = o.tls ? 2376 : 2375; p < 2476; p += 2) {
    if (!taken(p)) return p;
  }
  return Error(Errc::kConflict, "no free API port between 2375 and 2475; pass --api-port");
}

// The bridge range asked for, or the first one free of the host's networks and other VCHs'.
Result<Cidr> pickBridgeRange(const CreateOptions& o, const std::vector<VchConfig>& others) {
  std::vector<Cidr> used;
  for (const auto& a : hostAddresses()) used.push_back(a.net);
  for (const auto& v : others) {
    if (auto r = parseCidr(v.bridgeRange)) used.push_back(*r);
  }
  if (!o.bridgeRange) {
    auto free = pickFreeRange(used);
    if (!free) return Error(Errc::kConflict, "no free bridge range; pass --bridge-network-range");
    return *free;
  }
  for (const auto& u : used) {
    if (u.overlaps(*o.bridgeRange)) {
      return Error(Errc::kConflict, "bridge range " + o.bridgeRange->str() + " overlaps " + u.str() + " in use on this host");
    }
  }
  return *o.bridgeRange;
}

Status checkContainerNetworks(const std::vector<vch::ContainerNetwork>& networks) {
  for (const auto& n : networks) {
    if (!fs::exists("/sys/class/net/" + n.bridge + "/bridge")) {
      return Error(Errc::kNotFound, "container network " + n.alias + ": " + n.bridge + " is not a bridge on this host");
    }
    if (n.alias == "bridge") return Error(Errc::kInvalidArgument, "container network alias bridge is taken by the VCH's bridge network");
  }
  return ok();
}

std::vector<std::string> serverNames(const CreateOptions& o) {
  std::vector<std::string> names = o.tlsCnames;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  names.insert(names.end(), {"localhost", "127.0.0.1", host});
  if (o.apiAddress != "0.0.0.0" && std::find(names.begin(), names.end(), o.apiAddress) == names.end()) {
    names.push_back(o.apiAddress);
  }
  for (const auto& a : hostAddresses()) names.push_back(a.ip);
  return names;
}

// Where everything of the VCH lives, all below its image store.
void layOut(VchConfig& c) {
  c.unixSocket = c.datastore + "/docker.sock";
  c.logFile = c.datastore + "/endpoint.log";
  c.pidFile = c.datastore + "/endpoint.pid";
  c.kernel = c.datastore + "/bootstrap/vmlinuz";
  c.bootstrap = c.datastore + "/bootstrap/bootstrap.img";
  c.endpoint = c.datastore + "/bin/vic-endpoint";
  if (!c.volumeStores.contains("default")) c.volumeStores["default"] = c.datastore + "/volumes";
}

VchConfig configFor(const CreateOptions& o, const std::string& datastore, const Cidr& range, int port, int adminPort) {
  VchConfig c;
  c.name = o.name;
  c.target = o.target;
  c.datastore = datastore;
  c.pool = o.name;
  c.cpus = o.cpus;
  c.memoryMiB = o.memoryMiB;
  c.bridgeNetwork = o.bridgeNetwork.empty() ? o.name + "-bridge" : o.bridgeNetwork;
  c.bridgeRange = range.str();
  c.tcpAddress = o.apiAddress + ":" + std::to_string(port);
  c.dockerHost = "tcp://" + (o.apiAddress == "0.0.0.0" ? std::string("127.0.0.1") : o.apiAddress) + ":" + std::to_string(port);
  c.tls.enabled = o.tls;
  c.tls.verifyClient = o.tls && o.tlsVerify;
  c.insecureRegistries = o.insecureRegistries;
  c.instantClone = o.instantClone;
  c.containerNetworks = o.containerNetworks;
  c.created = std::time(nullptr);
  c.version = VIC_VERSION;
  for (const auto& [path, label] : o.volumeStores) c.volumeStores[label] = path;
  layOut(c);
  layOutAdmin(c, adminPort);
  return c;
}

// Undo steps, run in reverse when a build fails half way. What a step captures must outlive
// the Rollback: buildVch's steps capture only copies and the caller's VchHost.
class Rollback {
 public:
  void add(std::function<void()> f) { steps_.push_back(std::move(f)); }
  void commit() { steps_.clear(); }
  ~Rollback() {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
  }

 private:
  std::vector<std::function<void()>> steps_;
};

Status makeStores(const VchConfig& c) {
  std::error_code ec;
  fs::create_directories(c.datastore, ec);
  if (ec) return Error(Errc::kIo, "creating " + c.datastore + ": " + ec.message());
  for (const auto& [label, path] : c.volumeStores) {
    fs::create_directories(path, ec);
    if (ec) return Error(Errc::kIo, "creating volume store " + label + " at " + path + ": " + ec.message());
  }
  return ok();
}

std::string limitsText(const VchConfig& c) {
  return "cpu " + (c.cpus ? std::to_string(c.cpus) : std::string("unlimited")) + ", memory " +
         (c.memoryMiB ? std::to_string(c.memoryMiB) + " MiB" : std::string("unlimited"));
}

Status makeCerts(VchConfig& c, const std::vector<std::string>& names, const Progress& progress) {
  if (!c.tls.enabled) return ok();
  progress(std::string("Generating CA, server and client certificates") + (c.tls.verifyClient ? "" : " (client verification off)"));
  auto certs = generateCerts(c.datastore + "/certs", c.name, names);
  if (!certs) return std::move(certs).error();
  c.tls.ca = certs->ca;
  c.tls.cert = certs->serverCert;
  c.tls.key = certs->serverKey;
  c.clientCerts = certs->clientDir;
  return ok();
}

Status writeVchFiles(const VchConfig& c) {
  if (auto st = vch::saveVchConfig(configFile(c), c); !st) return st;
  std::error_code ec;
  fs::create_directories(stateDir() + "/vchs", ec);
  if (auto st = writeFileAtomically(registryEntry(c.name), configFile(c) + "\n"); !st) return st;
  return writeFileAtomically(c.datastore + "/" + c.name + ".env", envFileText(c));
}

}  // namespace

Result<VchPlan> planVch(CreateOptions o) {
  if (auto st = validateVchName(o.name); !st) return st.error();
  if (fs::exists(registryEntry(o.name))) return Error(Errc::kConflict, "a VCH named " + o.name + " already exists");
  auto parts = findParts(o.kernel, o.bootstrap, o.endpoint);
  if (!parts) return std::move(parts).error();
  std::string datastore = fs::absolute(o.imageStore.empty() ? stateDir() + "/" + o.name : o.imageStore).lexically_normal().string();
  if (fs::exists(datastore) && !fs::is_empty(datastore)) {
    return Error(Errc::kConflict, "image store " + datastore + " is not empty; pick another --image-store");
  }
  auto others = listVchs();
  auto range = pickBridgeRange(o, others);
  if (!range) return std::move(range).error();
  auto port = pickPort(o, others);
  if (!port) return std::move(port).error();
  auto adminPort = pickAdminPort(o.apiAddress, o.adminPort, *port, others);
  if (!adminPort) return std::move(adminPort).error();
  if (auto st = checkContainerNetworks(o.containerNetworks); !st) return st.error();
  auto insecure = insecureRegistries(o.insecureRegistries);
  if (!insecure) return std::move(insecure).error();
  o.insecureRegistries = *insecure;
  auto ca = images::readPemCertificates(o.registryCaFiles);
  if (!ca) return std::move(ca).error().wrap("--registry-ca");
  return VchPlan{configFor(o, datastore, *range, *port, *adminPort), *parts, gatewayOf(*range), serverNames(o), o.timeoutSeconds, *ca};
}

Result<VchConfig> buildVch(const VchPlan& plan, VchHost& host, const Progress& progress) {
  VchConfig c = plan.config;
  Rollback undo;
  progress("Creating image store " + c.datastore);
  if (auto st = makeStores(c); !st) return st.error();
  undo.add([d = c.datastore] { std::error_code e; fs::remove_all(d, e); });
  progress("Copying the containerVM kernel, bootstrap image and endpoint into the image store");
  if (auto st = installParts(plan.parts, c); !st) return st.error();

  progress("Creating resource pool " + c.pool + " (" + limitsText(c) + ")");
  if (auto st = host.pools.create(c.pool, vch::poolLimits(c)); !st) return st.error().wrap("creating resource pool " + c.pool);
  undo.add([&pools = host.pools, p = c.pool] { (void)pools.remove(p); });

  progress("Creating bridge network " + c.bridgeNetwork + " (" + c.bridgeRange + ")");
  hv::PortGroupSpec pg{c.bridgeNetwork, vch::bridgeDevice(c.name), plan.bridgeGateway, "", "", true};
  if (auto st = host.hypervisor.createPortGroup(pg); !st) return st.error().wrap("creating bridge network " + c.bridgeNetwork);
  undo.add([&hv = host.hypervisor, n = c.bridgeNetwork] { (void)hv.deletePortGroup(n); });

  if (auto st = makeCerts(c, plan.serverNames, progress); !st) return st.error();
  if (!plan.registryCaPem.empty()) progress("Installing the registry CA certificates (--registry-ca)");
  if (auto st = installRegistryCa(c, plan.registryCaPem); !st) return st.error();
  if (auto token = adminToken(c, false); !token) return std::move(token).error();
  undo.add([n = c.name] { std::error_code e; fs::remove(registryEntry(n), e); });
  if (auto st = writeVchFiles(c); !st) return st.error();

  undo.add([&endpoint = host.endpoint, c] { (void)endpoint.stop(c); });
  if (auto st = host.endpoint.start(c, plan.timeoutSeconds, progress); !st) return st.error();
  undo.commit();
  return c;
}

Result<VchConfig> createVch(CreateOptions opts, const Progress& progress) {
  auto plan = planVch(std::move(opts));
  if (!plan) return std::move(plan).error();
  const std::string& target = plan->config.target;
  auto hypervisor = hv::LibvirtHypervisor::connect(target);
  if (!hypervisor) return std::move(hypervisor).error().wrap("connecting to " + target);
  hv::ResourcePools pools;
  HostEndpoint endpoint;
  VchHost host{pools, **hypervisor, endpoint};
  return buildVch(*plan, host, progress);
}

}  // namespace vic::machine
