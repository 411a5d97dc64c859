#include "runtime/vch/endpoint_record.h"

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json.h"
#include "runtime/vch/vch_config.h"

namespace vic::vch {

std::string endpointRecordFile(const std::string& vchName) { return runDir(vchName) + "/endpoint.json"; }

std::string encodeEndpointRecord(const EndpointRecord& r) {
  nlohmann::json j = {{"tetherTransport", r.tetherTransport}, {"accelerator", r.accelerator}};
  return j.dump() + "\n";
}

std::optional<EndpointRecord> decodeEndpointRecord(const std::string& text) {
  auto j = parseJson(text);
  if (!j.is_object()) return std::nullopt;
  auto field = [&j](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  EndpointRecord r{field("tetherTransport"), field("accelerator")};
  if (r.tetherTransport.empty() && r.accelerator.empty()) return std::nullopt;
  return r;
}

Status writeEndpointRecord(const std::string& vchName, const EndpointRecord& r) {
  return writeFileAtomically(endpointRecordFile(vchName), encodeEndpointRecord(r));
}

std::string endpointRecordText(const std::optional<EndpointRecord>& record, bool running) {
  if (!running) {
    return "  tether:        chosen when the endpoint starts (AF_VSOCK where /dev/vhost-vsock works, else virtio-serial)\n"
           "  accelerator:   chosen when the endpoint starts (kvm or tcg: /etc/vic/accel, else whether /dev/kvm opens)\n";
  }
  if (!record) return "  tether:        unknown (the endpoint recorded none; docker info says)\n";
  return "  tether:        " + record->tetherTransport + "\n  accelerator:   " + record->accelerator + "\n";
}

}  // namespace vic::vch
