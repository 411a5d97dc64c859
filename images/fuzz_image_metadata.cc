// libFuzzer target: every decoder of registry-sent image metadata fed the same hostile bytes:
// manifests and indexes (under each Content-Type we accept), image configs, registry error
// bodies (as pulls and pushes read them). Beyond crashes, leaks and UB, a finding is a decoded value that breaks what the
// puller relies on (sha256 digests, sizes >= 0) or an error message that cannot be
// serialised as JSON (the endpoint sends it to the client).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "images/manifest.h"
#include "images/reference.h"
#include "images/registry_client.h"

namespace {

using namespace vic::images;

void check(bool ok) {
  if (!ok) std::abort();
}

void checkMessage(const vic::Error& e) { (void)nlohmann::json(e.message()).dump(); }  // throws on invalid UTF-8

void checkDescriptor(const Descriptor& d) {
  check(validDigest(d.digest));
  check(d.size >= 0);
}

void manifest(std::string_view body, std::string_view contentType) {
  auto r = parseManifest(body, contentType, "fuzz");
  if (!r) return checkMessage(r.error());
  if (const auto* m = std::get_if<Manifest>(&*r)) {
    checkDescriptor(m->config);
    for (const auto& l : m->layers) checkDescriptor(l);
  } else {
    const auto& idx = std::get<Index>(*r);
    for (const auto& d : idx.manifests) checkDescriptor(d);
    auto picked = selectPlatform(idx, {});
    if (picked) checkDescriptor(*picked);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (std::string_view type : {std::string_view(), kOciIndex, kDockerList, kOciManifest, kDockerManifest}) {
    manifest(in, type);
  }
  auto config = parseImageConfig(in);
  if (config) {
    for (const auto& d : config->diffIds) check(validDigest(d));
  } else {
    checkMessage(config.error());
  }
  auto [code, message] = registryErrorBody(in);
  (void)nlohmann::json(code).dump();
  (void)nlohmann::json(message).dump();
  // docker push's words for an error answer: the body, and the same bytes as a challenge
  for (long status : {401L, 404L, 429L, 500L}) {
    (void)nlohmann::json(registryErrorText(status, in)).dump();
    (void)nlohmann::json(registryErrorText(status, "", in, in)).dump();
  }
  return 0;
}
