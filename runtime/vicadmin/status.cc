#include "runtime/vicadmin/status.h"

#include <future>

#include "common/json.h"
#include "runtime/portlayer/port_forward.h"
#include "runtime/vicadmin/model.h"

namespace vic::vicadmin {

namespace {

json check(const std::string& id, const std::string& name, const Status& st, const std::string& okReason) {
  return {{"id", id}, {"name", name}, {"ok", st.hasValue()}, {"reason", st ? okReason : st.error().message()}};
}

json spaceCheck(Probe& p, const std::string& id, const std::string& name, const std::string& dir) {
  auto space = p.diskSpace(dir);
  if (!space) return check(id, name, space.error(), "");
  std::string text = humanBytes(space->freeBytes) + " free of " + humanBytes(space->totalBytes) + " (" + dir + ")";
  if (space->freeBytes < kMinFreeBytes) return check(id, name, Error(Errc::kUnavailable, "only " + text), "");
  return check(id, name, ok(), text);
}

json poolFacts(const vch::VchConfig& cfg, Probe& p, json& checks) {
  auto pool = p.pool();
  if (!pool) {
    checks.push_back(check("pool", "resource pool", pool.error(), ""));
    return {{"name", cfg.pool}};
  }
  json j = {{"name", cfg.pool}, {"cpuLimit", nullptr}, {"memoryLimit", nullptr},
            {"memoryUsed", pool->usage.memoryBytes}, {"cpuSeconds", pool->usage.cpuNanos / 1000000000}};
  std::string text = cfg.pool.empty() ? "no pool: containerVMs use the host's resources" : cfg.pool + ": ";
  if (!cfg.pool.empty()) {
    text += "CPU " + (pool->limits.cpus ? std::to_string(*pool->limits.cpus).substr(0, 4) : std::string("unlimited"));
    text += ", memory " + humanBytes(pool->usage.memoryBytes) + " used of " +
            (pool->limits.memoryBytes ? humanBytes(*pool->limits.memoryBytes) : std::string("unlimited"));
  }
  if (pool->limits.cpus) j["cpuLimit"] = *pool->limits.cpus;
  if (pool->limits.memoryBytes) j["memoryLimit"] = *pool->limits.memoryBytes;
  checks.push_back(check("pool", "resource pool", ok(), text));
  return j;
}

json libvirtFacts(const vch::VchConfig& cfg, Probe& p, json& checks) {
  auto lv = p.libvirt();
  if (!lv) {
    checks.push_back(check("libvirt", "libvirtd connection", lv.error(), ""));
    return json::object();
  }
  checks.push_back(check("libvirt", "libvirtd connection", ok(),
                         cfg.target + ": libvirt " + lv->libvirtVersion + ", QEMU " + lv->hypervisorVersion + ", " +
                             std::to_string(lv->vms.size()) + " VMs of this VCH"));
  return {{"libvirtVersion", lv->libvirtVersion}, {"qemuVersion", lv->hypervisorVersion}, {"vms", lv->vms}};
}

// The endpoint: /_ping, then /version and /info for the page's facts.
Status endpointFacts(Probe& p, json& out) {
  auto ping = p.docker("/_ping");
  if (!ping) return std::move(ping).error();
  auto version = parseJson(p.docker("/version").valueOr(std::string()));
  auto info = parseJson(p.docker("/info").valueOr(std::string()));
  if (version.is_object()) out["dockerVersion"] = version.value("Version", "");
  if (version.is_object()) out["apiVersion"] = version.value("ApiVersion", "");
  if (info.is_object()) {
    out["containers"] = info.value("Containers", 0);
    out["running"] = info.value("ContainersRunning", 0);
    out["images"] = info.value("Images", 0);
  }
  return ok();
}

void registryChecks(const vch::VchConfig& cfg, Probe& p, json& checks) {
  std::vector<std::pair<std::string, std::future<Status>>> probes;
  for (const auto& r : probedRegistries(cfg)) {
    auto one = [&p, r] { return p.registry(r, true); };
    probes.emplace_back(r, std::async(std::launch::async, one));  // 3 s each at worst, together
  }
  for (auto& [r, f] : probes) checks.push_back(check("registry:" + r, "registry " + r, f.get(), "GET /v2/ answered"));
}

}  // namespace

std::vector<std::pair<std::string, std::string>> firewallChains(const std::string& vchName) {
  std::string prefix = pl::chainPrefix(vchName);
  return {{"nat", prefix + "-DNAT"}, {"nat", prefix + "-POST"}, {"filter", prefix + "-FWD"}, {"filter", prefix + "-IN"}};
}

std::vector<std::string> probedRegistries(const vch::VchConfig& cfg) {
  std::vector<std::string> out;
  for (const auto& r : cfg.insecureRegistries) {
    if (!r.empty() && r.find('/') == std::string::npos) out.push_back(r);
  }
  return out;
}

json gatherStatus(const vch::VchConfig& cfg, Probe& p) {
  json out = {{"vch", cfg.name}, {"version", cfg.version}, {"generatedAt", p.now()}};
  json checks = json::array();
  Status endpoint = endpointFacts(p, out);
  out["endpoint"] = endpointState(endpoint);
  Status shown = endpoint;
  if (!endpoint) shown = endpoint.error().wrap("endpoint is down");
  checks.push_back(check("endpoint", "endpoint (Docker API)", shown, "answers on " + cfg.unixSocket));
  if (auto start = p.endpointStart(); start && endpoint) {
    out["endpointStarted"] = start->startedAt;
    out["uptime"] = p.now() - start->startedAt;
    out["accelerator"] = start->record.accelerator;
    out["transport"] = start->record.tetherTransport;
  }
  out["libvirt"] = libvirtFacts(cfg, p, checks);
  out["pool"] = poolFacts(cfg, p, checks);
  checks.push_back(spaceCheck(p, "datastore", "datastore", cfg.datastore));
  for (const auto& [label, dir] : cfg.volumeStores) checks.push_back(spaceCheck(p, "volume-store:" + label, "volume store " + label, dir));
  registryChecks(cfg, p, checks);
  for (const auto& [table, chain] : firewallChains(cfg.name)) {
    checks.push_back(check("firewall:" + chain, "firewall chain " + chain, p.firewallChain(table, chain), "present in table " + table));
  }
  out["checks"] = checks;
  bool all = true;
  for (const auto& c : checks) all = all && c["ok"].get<bool>();
  out["healthy"] = all;
  return out;
}

}  // namespace vic::vicadmin
