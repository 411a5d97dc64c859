#include "runtime/vch/vch_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json.h"

namespace vic::vch {
using nlohmann::json;

std::string encodeVchConfig(const VchConfig& c) {
  json j = {{"name", c.name},
            {"target", c.target},
            {"datastore", c.datastore},
            {"volumeStores", c.volumeStores},
            {"pool", {{"name", c.pool}, {"cpus", c.cpus}, {"memoryMiB", c.memoryMiB}}},
            {"bridge", {{"network", c.bridgeNetwork}, {"range", c.bridgeRange}}},
            {"containerNetworks", json::array()},
            {"api", {{"unix", c.unixSocket}, {"tcp", c.tcpAddress}, {"dockerHost", c.dockerHost}, {"clientCerts", c.clientCerts},
                     {"tls", {{"enabled", c.tls.enabled}, {"verifyClient", c.tls.verifyClient},
                              {"ca", c.tls.ca}, {"cert", c.tls.cert}, {"key", c.tls.key}}}}},
            {"kernel", c.kernel},
            {"bootstrap", c.bootstrap},
            {"insecureRegistries", c.insecureRegistries},
            {"registryCa", c.registryCa},
            {"instantClone", c.instantClone},
            {"logFile", c.logFile},
            {"pidFile", c.pidFile},
            {"admin", {{"address", c.adminAddress}, {"tokenFile", c.adminTokenFile}, {"logFile", c.adminLogFile},
                       {"pidFile", c.adminPidFile}}},
            {"endpoint", c.endpoint},
            {"created", c.created},
            {"version", c.version}};
  for (const auto& n : c.containerNetworks) {
    j["containerNetworks"].push_back({{"bridge", n.bridge}, {"alias", n.alias}, {"gateway", n.gateway}, {"ipRange", n.ipRange}, {"dns", n.dns}});
  }
  return j.dump(2) + "\n";
}

Result<VchConfig> decodeVchConfig(const std::string& text) {
  auto parsed = parseJsonObject(text, "VCH configuration");
  if (!parsed) return std::move(parsed).error();
  json& j = *parsed;
  VchConfig c;
  try {
    c.name = j.at("name").get<std::string>();
    c.target = j.value("target", c.target);
    c.datastore = j.at("datastore").get<std::string>();
    c.volumeStores = j.value("volumeStores", std::map<std::string, std::string>{});
    auto pool = j.value("pool", json::object());
    c.pool = pool.value("name", "");
    c.cpus = pool.value("cpus", 0);
    c.memoryMiB = pool.value("memoryMiB", uint64_t{0});
    auto bridge = j.value("bridge", json::object());
    c.bridgeNetwork = bridge.value("network", "");
    c.bridgeRange = bridge.value("range", c.bridgeRange);
    for (const auto& n : j.value("containerNetworks", json::array())) {
      c.containerNetworks.push_back({n.at("bridge").get<std::string>(), n.at("alias").get<std::string>(), n.value("gateway", ""),
                                     n.value("ipRange", ""), n.value("dns", std::vector<std::string>{})});
    }
    auto api = j.value("api", json::object());
    c.unixSocket = api.value("unix", "");
    c.tcpAddress = api.value("tcp", "");
    c.dockerHost = api.value("dockerHost", "");
    c.clientCerts = api.value("clientCerts", "");
    auto tls = api.value("tls", json::object());
    c.tls.enabled = tls.value("enabled", true);
    c.tls.verifyClient = tls.value("verifyClient", true);
    c.tls.ca = tls.value("ca", "");
    c.tls.cert = tls.value("cert", "");
    c.tls.key = tls.value("key", "");
    c.kernel = j.value("kernel", "");
    c.bootstrap = j.value("bootstrap", "");
    c.insecureRegistries = j.value("insecureRegistries", std::vector<std::string>{});
    c.registryCa = j.value("registryCa", "");
    c.instantClone = j.value("instantClone", true);
    c.logFile = j.value("logFile", "");
    c.pidFile = j.value("pidFile", "");
    c.endpoint = j.value("endpoint", "");
    auto admin = j.value("admin", json::object());
    c.adminAddress = admin.value("address", "");
    c.adminTokenFile = admin.value("tokenFile", "");
    c.adminLogFile = admin.value("logFile", "");
    c.adminPidFile = admin.value("pidFile", "");
    c.created = j.value("created", int64_t{0});
    c.version = j.value("version", "");
  } catch (const json::exception& e) {
    return Error(Errc::kInvalidArgument, std::string("VCH configuration: ") + e.what());
  }
  if (c.name.empty() || c.datastore.empty()) return Error(Errc::kInvalidArgument, "VCH configuration needs a name and a datastore");
  return c;
}

hv::PoolLimits poolLimits(const VchConfig& c) {
  hv::PoolLimits l;
  if (c.cpus > 0) l.cpus = c.cpus;
  if (c.memoryMiB > 0) l.memoryBytes = c.memoryMiB << 20;
  return l;
}

Result<VchConfig> loadVchConfig(const std::string& file) {
  if (!std::filesystem::exists(file)) return Error(Errc::kNotFound, "no VCH configuration at " + file);
  auto c = decodeVchConfig(readFile(file));
  if (!c) return std::move(c).error().wrap("reading " + file);
  return c;
}

Status saveVchConfig(const std::string& file, const VchConfig& c) { return writeFileAtomically(file, encodeVchConfig(c)); }

std::string bridgeDevice(const std::string& name) {
  if (name.size() <= 11) return "vic-" + name;
  return "vic-" + std::to_string(std::hash<std::string>{}(name) % 100000000);
}

}  // namespace vic::vch
