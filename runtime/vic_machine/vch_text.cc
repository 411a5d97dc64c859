// What vic-machine prints about a VCH: the env file, inspect, and the disks of its containers.
#include <filesystem>

#include "common/files.h"
#include "common/json.h"
#include "common/id.h"
#include "hypervisor/datastore.h"
#include "runtime/vch/endpoint_record.h"
#include "runtime/vic_machine/vch_manager.h"

namespace vic::machine {
namespace fs = std::filesystem;
using vch::VchConfig;

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
  for (const auto& r : c.insecureRegistries) out += "  insecure registry: " + r + "\n";
  if (!c.registryCa.empty()) out += "  registry CAs:  " + c.registryCa + "\n";
  auto record = running ? vch::decodeEndpointRecord(readFile(vch::endpointRecordFile(c.name))) : std::nullopt;
  out += vch::endpointRecordText(record, running);
  out += "  endpoint log:  " + c.logFile + "\n";
  if (!c.adminAddress.empty()) out += "  vicadmin:      " + c.adminAddress + ", log " + c.adminLogFile + "\n";
  out += "  version:       " + c.version + "\n\nConnect with:\n";
  std::string env = envFileText(c);
  for (size_t pos = 0, nl; (nl = env.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    out += "  export " + env.substr(pos, nl - pos) + "\n";
  }
  if (c.adminAddress.empty()) return out;
  out += "\nThe VCH's admin page (vicadmin): " + adminUrl(c) + "\n  log in with the token from: vic-machine admin-token --name " + c.name + "\n";
  if (c.tls.enabled && c.tls.verifyClient) out += "  or present the client certificate in " + c.clientCerts + "\n";
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
    auto cfg = parseJson(readFile(e.path().string() + "/config.json"));
    std::string name = cfg.is_object() ? cfg.value("name", "") : "";
    auto info = ds->info("containers/" + id + "/rw.qcow2");
    if (!info) return std::move(info).error();
    out += "  " + name + " (" + shortId(id) + "): " + mib(info->virtualSize) + " virtual, " + mib(info->actualSize) + " written\n";
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
