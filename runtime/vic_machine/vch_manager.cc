#include "runtime/vic_machine/vch_manager.h"

#include <algorithm>
#include <filesystem>
#include <regex>

#include "common/files.h"
#include "hypervisor/libvirt_hypervisor.h"
#include "hypervisor/resource_pool.h"
#include "images/registry_policy.h"
#include "runtime/portlayer/port_forward.h"
#include "runtime/vic_machine/vch_internal.h"

namespace vic::machine {
namespace fs = std::filesystem;
using vch::VchConfig;

std::string stateDir() {
  const char* env = std::getenv("VIC_STATE_DIR");
  return env && *env ? env : "/var/lib/vic";
}

std::string registryEntry(const std::string& name) { return stateDir() + "/vchs/" + name; }
std::string configFile(const VchConfig& c) { return c.datastore + "/vch.json"; }

namespace {

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

}  // namespace

Result<VchParts> findParts(const std::string& kernel, const std::string& bootstrap, const std::string& endpoint) {
  std::string self = selfDir();
  // A build tree (runtime/vic_machine/ beside guest/ and runtime/endpoint/), then an installed
  // one (bin/ beside lib/vic/: cmake --install and the Debian package).
  auto k = locate(kernel, {self + "/../../guest/vmlinuz", self + "/../lib/vic/vmlinuz"}, "containerVM kernel");
  auto b = locate(bootstrap, {self + "/../../guest/bootstrap.img", self + "/../lib/vic/bootstrap.img"}, "bootstrap image");
  auto e = locate(endpoint, {self + "/../endpoint/vic-endpoint", self + "/../lib/vic/vic-endpoint"}, "vic-endpoint");
  std::string endpointDir = e ? fs::path(*e).parent_path().string() : "";
  // vic-admin beside the endpoint given, else where this vic-machine's own tree has it
  auto a = locate("", {endpointDir + "/vic-admin", endpointDir + "/../vicadmin/vic-admin", self + "/../vicadmin/vic-admin",
                       self + "/../lib/vic/vic-admin"}, "vic-admin");
  if (!k) return std::move(k).error();
  if (!b) return std::move(b).error();
  if (!e) return std::move(e).error();
  if (!a) return std::move(a).error();
  return VchParts{*k, *b, *e, *a};
}

Status installParts(const VchParts& p, const VchConfig& c) {
  if (auto st = copyInto(p.kernel, c.kernel, fs::perms(0644)); !st) return st;
  if (auto st = copyInto(p.bootstrap, c.bootstrap, fs::perms(0644)); !st) return st;
  if (auto st = copyInto(p.admin, adminBinary(c), fs::perms(0755)); !st) return st;
  return copyInto(p.endpoint, c.endpoint, fs::perms(0755));
}

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

Status upgradeVch(const std::string& name, const Progress& progress) {
  auto c = findVch(name);
  if (!c) return c.error();
  auto parts = findParts("", "", "");
  if (!parts) return parts.error();
  progress("Installing " + parts->endpoint + " and the containerVM kernel and bootstrap image into " + c->datastore);
  if (auto st = installParts(*parts, *c); !st) return st;
  if (c->adminAddress.empty()) {
    if (auto st = addAdmin(*c); !st) return st.error().wrap("adding vicadmin");
    progress("vicadmin will answer on " + adminUrl(*c));
  }
  c->version = VIC_VERSION;
  if (auto st = vch::saveVchConfig(configFile(*c), *c); !st) return st;
  progress("Restarting the endpoint");
  if (auto st = stopEndpoint(*c); !st) return st;
  return startEndpoint(*c, 120, progress);
}

namespace {

struct ContainerVms {
  std::vector<std::string> all, running;
};

// containerVMs are named <vch>-<12 hex> and carry the VCH's name in their metadata.
Result<ContainerVms> containerVmsOf(hv::Hypervisor& hv, const VchConfig& c) {
  auto vms = hv.listVms();
  if (!vms) return std::move(vms).error();
  ContainerVms out;
  const std::regex containerVm(c.name + "-[0-9a-f]{12}");  // VCH names are [a-z0-9_-]: literal
  for (const auto& vm : *vms) {
    if (!std::regex_match(vm, containerVm)) continue;
    auto md = hv.metadata(vm);
    if (!md || !md->contains("vic.spec") || (md->contains("vic.vch") && md->at("vic.vch") != c.name)) continue;
    out.all.push_back(vm);
    auto ps = hv.powerState(vm);
    if (ps && *ps != hv::PowerState::kOff) out.running.push_back(vm);
  }
  return out;
}

// Instant clone templates (<vch>-template-<key>) exist while the endpoint makes one; the frozen
// templates themselves are files in the image store.
std::vector<std::string> templateVmsOf(hv::Hypervisor& hv, const VchConfig& c) {
  std::vector<std::string> out;
  for (const auto& vm : hv.listVms().valueOr(std::vector<std::string>{})) {
    if (vm.rfind(c.name + "-template-", 0) != 0) continue;
    auto md = hv.metadata(vm);
    if (md && md->contains("vic.vch") && md->at("vic.vch") == c.name) out.push_back(vm);
  }
  return out;
}

Status ignoreNotFound(Status st) { return !st && st.error().code() == Errc::kNotFound ? ok() : st; }

// The bridge, then docker networks (<vch>-net-*) and container networks (<vch>-cn-*).
Status removeNetworks(hv::Hypervisor& hv, const VchConfig& c, const Progress& progress) {
  progress("Removing bridge network " + c.bridgeNetwork);
  if (auto st = ignoreNotFound(hv.deletePortGroup(c.bridgeNetwork)); !st) return st;
  for (const auto& pg : hv.listPortGroups().valueOr(std::vector<std::string>{})) {
    if (pg.rfind(c.name + "-net-", 0) != 0 && pg.rfind(c.name + "-cn-", 0) != 0) continue;
    progress("Removing network " + pg);
    if (auto st = ignoreNotFound(hv.deletePortGroup(pg)); !st) return st;
  }
  return ok();
}

// Volume stores outside the image store go with --force only; a non-empty default store is kept
// beside the image store unless forced.
void removeVolumeStores(VchConfig& c, bool force, const Progress& progress) {
  std::error_code ec;
  for (const auto& [label, path] : c.volumeStores) {
    bool inside = path.rfind(c.datastore + "/", 0) == 0;
    if (force && !inside) {
      progress("Removing volume store " + label + " (" + path + ")");
      fs::remove_all(path, ec);
    } else if (!inside) {
      progress("Keeping volume store " + label + " (" + path + "); --force removes it");
    }
  }
  if (!force && fs::exists(c.volumeStores["default"]) && !fs::is_empty(c.volumeStores["default"], ec)) {
    std::string kept = c.datastore + "-volumes";
    fs::rename(c.volumeStores["default"], kept, ec);
    if (!ec) progress("Kept the default volume store at " + kept + "; --force removes it");
  }
}

}  // namespace

// A VCH whose vch.json is gone (its datastore deleted or unmounted), as created by default:
// enough to find what the host still holds under its name.
VchConfig orphanConfig(const std::string& name) {
  VchConfig c;
  c.name = name;
  c.pool = name;
  c.bridgeNetwork = name + "-bridge";
  return c;
}

Status deleteVch(const std::string& name, bool force, const Progress& progress) {
  auto c = findVch(name);
  if (!c && force && c.error().code() == Errc::kNotFound && fs::exists(registryEntry(name))) {
    progress(c.error().message() + ": removing what the host holds under the name " + name);
    c = orphanConfig(name);
  }
  if (!c) return c.error();
  auto hv = hv::LibvirtHypervisor::connect(c->target);
  if (!hv) return std::move(hv).error().wrap("connecting to " + c->target);
  auto vms = containerVmsOf(**hv, *c);
  if (!vms) return vms.error();
  if (!vms->running.empty() && !force) {
    return Error(Errc::kConflict, "VCH " + name + " has " + std::to_string(vms->running.size()) +
                                      " running container(s); stop them or delete with --force");
  }
  progress("Stopping the endpoint");
  if (auto st = stopEndpoint(*c); !st) return st;
  removeEndpointUnit(name);
  // Listed again now that the endpoint is stopped: it may have made or reaped VMs meanwhile, and an
  // --rm container's background reap may still race us (so a VM already gone is no error).
  vms = containerVmsOf(**hv, *c);
  if (!vms) return vms.error();
  progress("Removing " + std::to_string(vms->all.size()) + " containerVM(s)");
  for (const auto& vm : vms->all) {
    if (auto st = ignoreNotFound((*hv)->destroy(vm)); !st) return st.error().wrap("removing containerVM " + vm);
  }
  for (const auto& vm : templateVmsOf(**hv, *c)) {  // one the endpoint was making when it stopped
    progress("Removing template VM " + vm);
    if (auto st = ignoreNotFound((*hv)->destroy(vm)); !st) return st.error().wrap("removing template VM " + vm);
  }
  if (auto st = removeNetworks(**hv, *c, progress); !st) return st;
  progress("Removing port forwarding rules");
  (void)pl::PortForwarder::removeAll(name);
  progress("Removing resource pool " + c->pool);
  if (auto st = ignoreNotFound(hv::ResourcePools().remove(c->pool)); !st) return st;
  removeVolumeStores(*c, force, progress);
  std::error_code ec;
  fs::remove_all(vch::runDir(name), ec);  // the containerVMs' tether sockets
  if (!c->datastore.empty()) {
    progress("Removing image store " + c->datastore);
    fs::remove_all(c->datastore, ec);
    if (ec) return Error(Errc::kIo, "removing " + c->datastore + ": " + ec.message());
  }
  fs::remove(registryEntry(name), ec);
  return ok();
}

Result<std::vector<std::string>> insecureRegistries(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    auto r = images::parseInsecureRegistry(v);
    if (!r) return std::move(r).error();
    if (std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(*r);
  }
  return out;
}

Status installRegistryCa(VchConfig& c, const std::string& pem) {
  std::string file = c.datastore + "/certs/registry-ca.pem";
  std::error_code ec;
  if (pem.empty()) {
    fs::remove(file, ec);
    c.registryCa.clear();
    return ok();
  }
  fs::create_directories(c.datastore + "/certs", ec);
  if (auto st = writeFileAtomically(file, pem, 0644); !st) return st;
  c.registryCa = file;
  return ok();
}

Status configureVch(const std::string& name, const ConfigureOptions& o, const Progress& progress) {
  auto c = findVch(name);
  if (!c) return c.error();
  if (o.insecureRegistries) {
    auto list = insecureRegistries(*o.insecureRegistries);
    if (!list) return list.error();
    c->insecureRegistries = *list;
    std::string all;
    for (const auto& r : *list) all += (all.empty() ? "" : ", ") + r;
    progress("Insecure registries: " + (all.empty() ? std::string("none") : all));
  }
  if (o.registryCaFiles) {
    auto pem = images::readPemCertificates(*o.registryCaFiles);
    if (!pem) return std::move(pem).error().wrap("--registry-ca");
    progress(pem->empty() ? "Removing the registry CA certificates" : "Installing the registry CA certificates (--registry-ca)");
    if (auto st = installRegistryCa(*c, *pem); !st) return st;
  }
  if (o.cpus || o.memoryMiB) {
    if (o.cpus) c->cpus = *o.cpus;
    if (o.memoryMiB) c->memoryMiB = *o.memoryMiB;
    progress("Updating resource pool " + c->pool);
    if (auto st = hv::ResourcePools().update(c->pool, vch::poolLimits(*c)); !st) return st.error().wrap("updating resource pool " + c->pool);
  }
  if (auto st = vch::saveVchConfig(configFile(*c), *c); !st) return st;
  progress("Restarting the endpoint so it takes up the new configuration");
  if (auto st = stopEndpoint(*c); !st) return st;
  return startEndpoint(*c, 120, progress);
}

}  // namespace vic::machine
