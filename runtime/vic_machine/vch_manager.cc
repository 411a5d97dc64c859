#include "runtime/vic_machine/vch_manager.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "common/files.h"
#include "common/process.h"
#include "common/unique_fd.h"
#include "hypervisor/datastore.h"
#include "hypervisor/libvirt_hypervisor.h"
#include "hypervisor/resource_pool.h"
#include "runtime/portlayer/port_forward.h"
#include "runtime/vic_machine/certs.h"

namespace vic::machine {
namespace fs = std::filesystem;
using vch::VchConfig;

std::string stateDir() {
  const char* env = std::getenv("VIC_STATE_DIR");
  return env && *env ? env : "/var/lib/vic";
}

namespace {

std::string registryEntry(const std::string& name) { return stateDir() + "/vchs/" + name; }
std::string configFile(const VchConfig& c) { return c.datastore + "/vch.json"; }
std::string unitName(const std::string& name) { return "vic-endpoint-" + name + ".service"; }
bool hasSystemd() { return fs::exists("/run/systemd/system"); }

std::string selfDir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "." : p.parent_path().string();
}

// The first existing candidate, or an error naming them all.
Result<std::string> locate(const std::string& given, const std::vector<std::string>& candidates, const std::string& what) {
  if (!given.empty()) {
    if (fs::exists(given)) return fs::absolute(given).string();
    return Error(Errc::kNotFound, what + " not found at " + given);
  }
  std::string tried;
  for (const auto& c : candidates) {
    if (fs::exists(c)) return fs::canonical(c).string();
    tried += " " + c;
  }
  return Error(Errc::kNotFound, what + " not found (looked at" + tried + "); build it or pass its path");
}

int portOf(const std::string& hostPort) {
  auto colon = hostPort.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(hostPort.c_str() + colon + 1);
}

Result<int> pickPort(const CreateOptions& o, const std::vector<VchConfig>& others) {
  auto taken = [&](int p) {
    for (const auto& v : others) {
      if (portOf(v.tcpAddress) == p) return true;
    }
    return !portFree(o.apiAddress, p);
  };
  if (o.apiPort != 0) {
    if (taken(o.apiPort)) return Error(Errc::kConflict, "port " + std::to_string(o.apiPort) + " on " + o.apiAddress + " is in use");
    return o.apiPort;
  }
  for (int p = o.tls ? 2376 : 2375; p < 2476; p += 2) {
    if (!taken(p)) return p;
  }
  return Error(Errc::kConflict, "no free API port between 2375 and 2475; pass --api-port");
}


// Undo steps run in reverse when create fails half way.
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

// Copies through <to>.new + rename: a running endpoint or QEMU keeps the file it opened.
Status copyInto(const std::string& from, const std::string& to, fs::perms mode) {
  std::error_code ec;
  fs::create_directories(fs::path(to).parent_path(), ec);
  fs::copy_file(from, to + ".new", fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::permissions(to + ".new", mode, ec);
  if (!ec) fs::rename(to + ".new", to, ec);
  if (ec) return Error(Errc::kIo, "copying " + from + " to " + to + ": " + ec.message());
  return ok();
}

// GET /info over the endpoint's unix socket; true on a 200.
bool infoAnswers(const std::string& socketPath) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socketPath.size() >= sizeof sa.sun_path) return false;
  std::strcpy(sa.sun_path, socketPath.c_str());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return false;
  std::string req = "GET /info HTTP/1.1\r\nHost: vch\r\nConnection: close\r\n\r\n";
  if (::write(fd.get(), req.data(), req.size()) != static_cast<ssize_t>(req.size())) return false;
  char buf[64] = {};
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  return n > 12 && std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 200", 0) == 0;
}

std::string lastLines(const std::string& file, size_t n) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) out += "\n  " + lines[i];
  return out;
}

// fork, setsid, fork: the endpoint belongs to no shell and no session of ours.
Status spawnDetached(const VchConfig& cfg) {
  pid_t child = ::fork();
  if (child < 0) return Error(Errc::kIo, "fork failed");
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(cfg.logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
    if (in < 0 || out < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
    std::string file = configFile(cfg);
    ::execl(cfg.endpoint.c_str(), cfg.endpoint.c_str(), "--config", file.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return ok();
}

Status installUnit(const VchConfig& cfg) {
  std::string unit = "[Unit]\nDescription=vic VCH endpoint " + cfg.name + "\nAfter=libvirtd.service\n\n[Service]\nExecStart=" +
                     cfg.endpoint + " --config " + configFile(cfg) + "\nRestart=on-failure\nStandardOutput=append:" +
                     cfg.logFile + "\nStandardError=append:" + cfg.logFile + "\n\n[Install]\nWantedBy=multi-user.target\n";
  if (auto st = writeFileAtomically("/etc/systemd/system/" + unitName(cfg.name), unit); !st) return st;
  if (auto r = runChecked({"systemctl", "daemon-reload"}, "systemctl daemon-reload"); !r) return std::move(r).error();
  auto r = runChecked({"systemctl", "enable", "--now", unitName(cfg.name)}, "starting " + unitName(cfg.name));
  return r ? ok() : Status(std::move(r).error());
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

}  // namespace

Result<VchConfig> findVch(const std::string& name) {
  if (auto st = validateVchName(name); !st) return st.error();
  std::string entry = registryEntry(name);
  if (!fs::exists(entry)) return Error(Errc::kNotFound, "no VCH named " + name + " (see vic-machine ls)");
  std::string file = readFile(entry);
  while (!file.empty() && (file.back() == '\n' || file.back() == ' ')) file.pop_back();
  return vch::loadVchConfig(file);
}

std::vector<VchConfig> listVchs() {
  std::vector<VchConfig> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(stateDir() + "/vchs", ec)) {
    if (auto c = findVch(e.path().filename().string())) out.push_back(*c);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::optional<int> endpointPid(const VchConfig& cfg) {
  int pid = std::atoi(readFile(cfg.pidFile).c_str());
  if (pid <= 0 || ::kill(pid, 0) != 0) return std::nullopt;
  std::string cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (cmdline.find("vic-endpoint") == std::string::npos) return std::nullopt;
  return pid;
}

Status startEndpoint(const VchConfig& cfg, int timeoutSeconds, const Progress& progress) {
  if (endpointPid(cfg)) return Error(Errc::kConflict, "the endpoint of " + cfg.name + " is already running");
  progress("Starting the VCH endpoint (log: " + cfg.logFile + ")");
  std::error_code ec;
  fs::remove(cfg.pidFile, ec);
  if (auto st = hasSystemd() ? installUnit(cfg) : spawnDetached(cfg); !st) return st;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  bool sawPid = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (infoAnswers(cfg.unixSocket)) {
      progress("The endpoint answers on " + cfg.unixSocket + (cfg.tcpAddress.empty() ? "" : " and " + cfg.tcpAddress));
      return ok();
    }
    bool alive = endpointPid(cfg).has_value();
    sawPid = sawPid || alive;
    if (sawPid && !alive) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Error(Errc::kUnavailable, "the endpoint of " + cfg.name + " did not come up; the end of " + cfg.logFile + ":" +
                                       lastLines(cfg.logFile, 8));
}

Status stopEndpoint(const VchConfig& cfg) {
  if (hasSystemd() && fs::exists("/etc/systemd/system/" + unitName(cfg.name))) {
    auto r = runChecked({"systemctl", "stop", unitName(cfg.name)}, "stopping " + unitName(cfg.name));
    if (!r) return std::move(r).error();
  }
  auto pid = endpointPid(cfg);
  if (!pid) return ok();
  ::kill(*pid, SIGTERM);
  for (int i = 0; i < 100 && endpointPid(cfg); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (endpointPid(cfg)) ::kill(*pid, SIGKILL);
  for (int i = 0; i < 50 && endpointPid(cfg); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return endpointPid(cfg) ? Error(Errc::kIo, "the endpoint (pid " + std::to_string(*pid) + ") did not stop") : ok();
}

namespace {

struct Parts {
  std::string kernel, bootstrap, endpoint;
};

// The kernel, bootstrap image and endpoint a VCH is made from: given, or beside vic-machine
// (in the build tree or an installed share/).
Result<Parts> findParts(const std::string& kernel, const std::string& bootstrap, const std::string& endpoint) {
  std::string self = selfDir();
  auto k = locate(kernel, {self + "/../../guest/vmlinuz", self + "/../share/vic/vmlinuz"}, "containerVM kernel");
  auto b = locate(bootstrap, {self + "/../../guest/bootstrap.img", self + "/../share/vic/bootstrap.img"}, "bootstrap image");
  auto e = locate(endpoint, {self + "/../endpoint/vic-endpoint", self + "/vic-endpoint"}, "vic-endpoint");
  if (!k) return std::move(k).error();
  if (!b) return std::move(b).error();
  if (!e) return std::move(e).error();
  return Parts{*k, *b, *e};
}

Status installParts(const Parts& p, const VchConfig& c) {
  if (auto st = copyInto(p.kernel, c.kernel, fs::perms(0644)); !st) return st;
  if (auto st = copyInto(p.bootstrap, c.bootstrap, fs::perms(0644)); !st) return st;
  return copyInto(p.endpoint, c.endpoint, fs::perms(0755));
}

}  // namespace

Status upgradeVch(const std::string& name, const Progress& progress) {
  auto c = findVch(name);
  if (!c) return c.error();
  auto parts = findParts("", "", "");
  if (!parts) return parts.error();
  progress("Installing " + parts->endpoint + " and the containerVM kernel and bootstrap image into " + c->datastore);
  if (auto st = installParts(*parts, *c); !st) return st;
  c->version = VIC_VERSION;
  if (auto st = vch::saveVchConfig(configFile(*c), *c); !st) return st;
  progress("Restarting the endpoint");
  if (auto st = stopEndpoint(*c); !st) return st;
  return startEndpoint(*c, 120, progress);
}

Result<VchConfig> createVch(CreateOptions o, const Progress& progress) {
  if (auto st = validateVchName(o.name); !st) return st.error();
  if (fs::exists(registryEntry(o.name))) return Error(Errc::kConflict, "a VCH named " + o.name + " already exists");
  if (!o.tls) o.tlsVerify = false;
  auto parts = findParts(o.kernel, o.bootstrap, o.endpoint);
  if (!parts) return std::move(parts).error();

  auto others = listVchs();
  VchConfig c;
  c.name = o.name;
  c.target = o.target;
  c.datastore = fs::absolute(o.imageStore.empty() ? stateDir() + "/" + o.name : o.imageStore).lexically_normal().string();
  if (fs::exists(c.datastore) && !fs::is_empty(c.datastore)) {
    return Error(Errc::kConflict, "image store " + c.datastore + " is not empty; pick another --image-store");
  }
  std::vector<Cidr> usedRanges;
  for (const auto& a : hostAddresses()) usedRanges.push_back(a.net);
  for (const auto& v : others) {
    if (auto r = parseCidr(v.bridgeRange)) usedRanges.push_back(*r);
  }
  auto range = o.bridgeRange ? std::optional<Cidr>(o.bridgeRange) : pickFreeRange(usedRanges);
  if (!range) return Error(Errc::kConflict, "no free bridge range; pass --bridge-network-range");
  for (const auto& u : usedRanges) {
    if (o.bridgeRange && u.overlaps(*range)) return Error(Errc::kConflict, "bridge range " + range->str() + " overlaps " + u.str() + " in use on this host");
  }
  auto port = pickPort(o, others);
  if (!port) return std::move(port).error();

  c.pool = o.name;
  c.cpus = o.cpus;
  c.memoryMiB = o.memoryMiB;
  c.bridgeNetwork = o.bridgeNetwork.empty() ? o.name + "-bridge" : o.bridgeNetwork;
  c.bridgeRange = range->str();
  c.unixSocket = c.datastore + "/docker.sock";
  c.tcpAddress = o.apiAddress + ":" + std::to_string(*port);
  c.dockerHost = "tcp://" + (o.apiAddress == "0.0.0.0" ? std::string("127.0.0.1") : o.apiAddress) + ":" + std::to_string(*port);
  c.tls.enabled = o.tls;
  c.tls.verifyClient = o.tlsVerify;
  c.insecureRegistries = o.insecureRegistries;
  for (const auto& n : o.containerNetworks) {
    if (!fs::exists("/sys/class/net/" + n.bridge + "/bridge")) {
      return Error(Errc::kNotFound, "container network " + n.alias + ": " + n.bridge + " is not a bridge on this host");
    }
    if (n.alias == "bridge") return Error(Errc::kInvalidArgument, "container network alias bridge is taken by the VCH's bridge network");
  }
  c.containerNetworks = o.containerNetworks;
  c.logFile = c.datastore + "/endpoint.log";
  c.pidFile = c.datastore + "/endpoint.pid";
  c.kernel = c.datastore + "/bootstrap/vmlinuz";
  c.bootstrap = c.datastore + "/bootstrap/bootstrap.img";
  c.endpoint = c.datastore + "/bin/vic-endpoint";
  c.created = std::time(nullptr);
  c.version = VIC_VERSION;
  for (const auto& [path, label] : o.volumeStores) c.volumeStores[label] = path;
  if (!c.volumeStores.contains("default")) c.volumeStores["default"] = c.datastore + "/volumes";

  Rollback undo;
  progress("Creating image store " + c.datastore);
  std::error_code ec;
  fs::create_directories(c.datastore, ec);
  if (ec) return Error(Errc::kIo, "creating " + c.datastore + ": " + ec.message());
  undo.add([d = c.datastore] { std::error_code e; fs::remove_all(d, e); });
  for (const auto& [label, path] : c.volumeStores) {
    fs::create_directories(path, ec);
    if (ec) return Error(Errc::kIo, "creating volume store " + label + " at " + path + ": " + ec.message());
  }
  progress("Copying the containerVM kernel, bootstrap image and endpoint into the image store");
  if (auto st = installParts(*parts, c); !st) return st.error();

  progress("Creating resource pool " + c.pool + " (cpu " + (c.cpus ? std::to_string(c.cpus) : "unlimited") + ", memory " +
           (c.memoryMiB ? std::to_string(c.memoryMiB) + " MiB" : "unlimited") + ")");
  hv::ResourcePools pools;
  hv::PoolLimits limits;
  if (c.cpus) limits.cpus = c.cpus;
  if (c.memoryMiB) limits.memoryBytes = c.memoryMiB << 20;
  if (auto st = pools.create(c.pool, limits); !st) return st.error().wrap("creating resource pool " + c.pool);
  undo.add([&pools, p = c.pool] { (void)pools.remove(p); });

  auto hv = hv::LibvirtHypervisor::connect(c.target);
  if (!hv) return std::move(hv).error().wrap("connecting to " + c.target);
  progress("Creating bridge network " + c.bridgeNetwork + " (" + c.bridgeRange + ")");
  hv::PortGroupSpec pg{c.bridgeNetwork, vch::bridgeDevice(c.name), gatewayOf(*range), "", "", true};
  if (auto st = (*hv)->createPortGroup(pg); !st) return st.error().wrap("creating bridge network " + c.bridgeNetwork);
  undo.add([&hv, n = c.bridgeNetwork] { (void)(*hv)->deletePortGroup(n); });

  if (c.tls.enabled) {
    progress(std::string("Generating CA, server and client certificates") + (c.tls.verifyClient ? "" : " (client verification off)"));
    auto certs = generateCerts(c.datastore + "/certs", c.name, serverNames(o));
    if (!certs) return std::move(certs).error();
    c.tls.ca = certs->ca;
    c.tls.cert = certs->serverCert;
    c.tls.key = certs->serverKey;
    c.clientCerts = certs->clientDir;
  }
  if (auto st = vch::saveVchConfig(configFile(c), c); !st) return st.error();
  fs::create_directories(stateDir() + "/vchs", ec);
  if (auto st = writeFileAtomically(registryEntry(c.name), configFile(c) + "\n"); !st) return st.error();
  undo.add([n = c.name] { std::error_code e; fs::remove(registryEntry(n), e); });
  if (auto st = writeFileAtomically(c.datastore + "/" + c.name + ".env", envFileText(c)); !st) return st.error();

  if (auto st = startEndpoint(c, o.timeoutSeconds, progress); !st) {
    (void)stopEndpoint(c);
    return st.error();
  }
  undo.commit();
  return c;
}

Status deleteVch(const std::string& name, bool force, const Progress& progress) {
  auto c = findVch(name);
  if (!c) return c.error();
  auto hv = hv::LibvirtHypervisor::connect(c->target);
  if (!hv) return std::move(hv).error().wrap("connecting to " + c->target);
  auto vms = (*hv)->listVms();
  if (!vms) return vms.error();
  // containerVMs are named <vch>-<12 hex> and carry the VCH's name in their metadata
  std::vector<std::string> mine, running;
  const std::regex containerVm(c->name + "-[0-9a-f]{12}");  // VCH names are [a-z0-9_-]: literal
  for (const auto& vm : *vms) {
    if (!std::regex_match(vm, containerVm)) continue;
    auto md = (*hv)->metadata(vm);
    if (!md || !md->contains("vic.spec") || (md->contains("vic.vch") && md->at("vic.vch") != c->name)) continue;
    mine.push_back(vm);
    auto ps = (*hv)->powerState(vm);
    if (ps && *ps != hv::PowerState::kOff) running.push_back(vm);
  }
  if (!running.empty() && !force) {
    return Error(Errc::kConflict, "VCH " + name + " has " + std::to_string(running.size()) +
                                      " running container(s); stop them or delete with --force");
  }
  progress("Stopping the endpoint");
  if (auto st = stopEndpoint(*c); !st) return st;
  if (hasSystemd() && fs::exists("/etc/systemd/system/" + unitName(name))) {
    (void)runProcess({"systemctl", "disable", unitName(name)});
    fs::remove("/etc/systemd/system/" + unitName(name));
  }
  progress("Removing " + std::to_string(mine.size()) + " containerVM(s)");
  for (const auto& vm : mine) {
    if (auto st = (*hv)->destroy(vm); !st) return st.error().wrap("removing containerVM " + vm);
  }
  progress("Removing bridge network " + c->bridgeNetwork);
  if (auto st = (*hv)->deletePortGroup(c->bridgeNetwork); !st && st.error().code() != Errc::kNotFound) return st;
  for (const auto& pg : (*hv)->listPortGroups().valueOr(std::vector<std::string>{})) {  // docker networks and container networks
    if (pg.rfind(name + "-net-", 0) != 0 && pg.rfind(name + "-cn-", 0) != 0) continue;
    progress("Removing network " + pg);
    if (auto st = (*hv)->deletePortGroup(pg); !st && st.error().code() != Errc::kNotFound) return st;
  }
  progress("Removing port forwarding rules");
  (void)pl::PortForwarder::removeAll(name);
  progress("Removing resource pool " + c->pool);
  if (auto st = hv::ResourcePools().remove(c->pool); !st && st.error().code() != Errc::kNotFound) return st;
  std::error_code ec;
  for (const auto& [label, path] : c->volumeStores) {
    bool inside = path.rfind(c->datastore + "/", 0) == 0;
    if (force && !inside) {
      progress("Removing volume store " + label + " (" + path + ")");
      fs::remove_all(path, ec);
    } else if (!inside) {
      progress("Keeping volume store " + label + " (" + path + "); --force removes it");
    }
  }
  if (!force && fs::exists(c->volumeStores["default"]) && !fs::is_empty(c->volumeStores["default"], ec)) {
    std::string kept = c->datastore + "-volumes";
    fs::rename(c->volumeStores["default"], kept, ec);
    if (!ec) progress("Kept the default volume store at " + kept + "; --force removes it");
  }
  fs::remove_all(vch::runDir(name), ec);  // the containerVMs' tether sockets
  progress("Removing image store " + c->datastore);
  fs::remove_all(c->datastore, ec);
  if (ec) return Error(Errc::kIo, "removing " + c->datastore + ": " + ec.message());
  fs::remove(registryEntry(name), ec);
  return ok();
}

Status configureVch(const std::string& name, std::optional<int> cpus, std::optional<uint64_t> memoryMiB, const Progress& progress) {
  auto c = findVch(name);
  if (!c) return c.error();
  if (cpus) c->cpus = *cpus;
  if (memoryMiB) c->memoryMiB = *memoryMiB;
  hv::PoolLimits limits;
  limits.cpus = c->cpus ? std::optional<double>(c->cpus) : std::optional<double>(-1);
  limits.memoryBytes = c->memoryMiB ? std::optional<uint64_t>(c->memoryMiB << 20) : std::nullopt;
  progress("Updating resource pool " + c->pool);
  if (auto st = hv::ResourcePools().update(c->pool, limits); !st) return st.error().wrap("updating resource pool " + c->pool);
  if (auto st = vch::saveVchConfig(configFile(*c), *c); !st) return st;
  progress("Restarting the endpoint so it reports the new limits");
  if (auto st = stopEndpoint(*c); !st) return st;
  return startEndpoint(*c, 120, progress);
}

std::string envFileText(const VchConfig& c) {
  std::string out = "DOCKER_HOST=" + c.dockerHost + "\n";
  if (c.tls.enabled && c.tls.verifyClient) out += "DOCKER_TLS_VERIFY=1\nDOCKER_CERT_PATH=" + c.clientCerts + "\n";
  else if (c.tls.enabled) out += "DOCKER_TLS=1\n";
  return out;
}

std::string inspectText(const VchConfig& c, bool running) {
  std::string tls = !c.tls.enabled ? "off (plain HTTP)" : c.tls.verifyClient ? "on, client certificates required" : "on, no client verification";
  std::string out = "VCH " + c.name + "\n";
  out += "  status:        endpoint " + std::string(running ? "running" : "stopped") + "\n";
  out += "  target:        " + c.target + "\n";
  out += "  image store:   " + c.datastore + "\n";
  for (const auto& [label, path] : c.volumeStores) out += "  volume store:  " + label + " -> " + path + "\n";
  out += "  resource pool: " + c.pool + " (cpu " + (c.cpus ? std::to_string(c.cpus) : "unlimited") + ", memory " +
         (c.memoryMiB ? std::to_string(c.memoryMiB) + " MiB" : "unlimited") + ")\n";
  out += "  bridge:        " + c.bridgeNetwork + " " + c.bridgeRange + "\n";
  out += "  API:           " + c.tcpAddress + ", unix://" + c.unixSocket + "; TLS " + tls + "\n";
  out += "  endpoint log:  " + c.logFile + "\n";
  out += "  version:       " + c.version + "\n\nConnect with:\n";
  std::string env = envFileText(c);
  for (size_t pos = 0, nl; (nl = env.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    out += "  export " + env.substr(pos, nl - pos) + "\n";
  }
  return out;
}

Result<std::string> disksText(const VchConfig& c) {
  auto ds = hv::Datastore::open(c.datastore);
  if (!ds) return std::move(ds).error();
  auto mib = [](uint64_t b) { return std::to_string((b + (1 << 19)) >> 20) + " MiB"; };
  std::string out = "containers of " + c.name + " (chains relative to " + c.datastore + "):\n";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(c.datastore + "/containers", ec)) {
    std::string id = e.path().filename().string();
    auto cfg = nlohmann::json::parse(readFile(e.path().string() + "/config.json"), nullptr, false);
    std::string name = cfg.is_object() ? cfg.value("name", "") : "";
    auto info = ds->info("containers/" + id + "/rw.qcow2");
    if (!info) return std::move(info).error();
    out += "  " + name + " (" + id.substr(0, 12) + "): " + mib(info->virtualSize) + " virtual, " + mib(info->actualSize) + " written\n";
    for (const auto& link : info->chain) out += "    " + link + "\n";
  }
  out += "volumes:\n";
  for (const auto& [label, dir] : c.volumeStores) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string disk = e.path().string() + "/disk.qcow2";
      if (fs::exists(disk)) out += "  " + e.path().filename().string() + " (" + label + "): " + disk + "\n";
    }
  }
  return out;
}

}  // namespace vic::machine
