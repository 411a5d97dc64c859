#include "runtime/portlayer/template_key.h"

#include <nlohmann/json.hpp>

#include "images/manifest.h"

namespace vic::pl {

using nlohmann::json;

namespace {

json inputsJson(const TemplateInputs& in) {
  return json{{"image", in.imageDigest}, {"hypervisor", in.hypervisor}, {"vcpus", in.vcpus},
              {"memoryMiB", in.memoryMiB}, {"diskBytes", in.diskBytes}, {"layout", in.layout}};
}

}  // namespace

std::string templateKey(const TemplateInputs& in) {
  std::string digest = images::sha256Digest(inputsJson(in).dump());
  return digest.substr(digest.find(':') + 1, 12) + "-" + std::to_string(in.memoryMiB) + "m-" + std::to_string(in.vcpus) + "c";
}

std::string encodeTemplateRecord(const TemplateInputs& in, const std::string& tetherVersion) {
  json j = inputsJson(in);
  j["tether"] = tetherVersion;
  return j.dump() + "\n";
}

Status checkTemplateRecord(const std::string& record, const TemplateInputs& in) {
  auto j = json::parse(record, nullptr, false);
  if (!j.is_object()) return Error(Errc::kProtocol, "its template.json is not a JSON object");
  json want = inputsJson(in);
  for (const auto& [k, v] : want.items()) {
    if (!j.contains(k) || j[k] != v) return Error(Errc::kInvalidArgument, "it was made for another " + k);
  }
  return ok();
}

bool staleTemplateRecord(const std::string& record, const TemplateInputs& current) {
  auto j = json::parse(record, nullptr, false);
  if (!j.is_object() || !j["vcpus"].is_number_integer() || !j["memoryMiB"].is_number_unsigned()) return true;
  TemplateInputs sameShape = current;
  sameShape.vcpus = j["vcpus"].get<int>();
  sameShape.memoryMiB = j["memoryMiB"].get<uint64_t>();
  return !checkTemplateRecord(record, sameShape);
}

}  // namespace vic::pl
