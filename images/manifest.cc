#include "images/manifest.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace vic::images {
namespace {

using nlohmann::json;

Descriptor descriptor(const json& j) {
  Descriptor d;
  d.mediaType = j.value("mediaType", "");
  d.digest = j.at("digest").get<std::string>();
  d.size = j.value("size", int64_t{0});
  if (j.contains("platform") && j["platform"].is_object()) {
    d.hasPlatform = true;
    d.platform.os = j["platform"].value("os", "");
    d.platform.architecture = j["platform"].value("architecture", "");
    d.platform.variant = j["platform"].value("variant", "");
  }
  return d;
}

}  // namespace

std::string Platform::str() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }

Result<std::variant<Manifest, Index>> parseManifest(std::string_view body, std::string_view contentType,
                                                    std::string_view ref) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return Error(Errc::kProtocol, "manifest for " + std::string(ref) + " is not a JSON object");
  std::string type = j.value("mediaType", std::string(contentType.substr(0, contentType.find(';'))));
  if (j.value("schemaVersion", 0) == 1 || type.find("distribution.manifest.v1+") != std::string::npos) {
    return Error(Errc::kInvalidArgument, "image " + std::string(ref) +
                                             " uses manifest schema 1, which is no longer supported: "
                                             "it must be pushed again as an OCI or Docker schema 2 image");
  }
  try {
    if (j.contains("manifests") || type == kOciIndex || type == kDockerList) {
      Index idx;
      idx.mediaType = type.empty() ? std::string(kOciIndex) : type;
      for (const auto& m : j.at("manifests")) idx.manifests.push_back(descriptor(m));
      return std::variant<Manifest, Index>(idx);
    }
    Manifest m;
    m.mediaType = type.empty() ? std::string(kOciManifest) : type;
    m.config = descriptor(j.at("config"));
    for (const auto& l : j.at("layers")) m.layers.push_back(descriptor(l));
    return std::variant<Manifest, Index>(m);
  } catch (const json::exception& e) {
    return Error(Errc::kProtocol, "malformed manifest for " + std::string(ref) + ": " + e.what());
  }
}

Platform normalise(Platform p) {
  if (p.os.empty()) p.os = "linux";
  if (p.architecture == "aarch64") p.architecture = "arm64";
  if (p.architecture == "x86_64" || p.architecture == "x86-64") p.architecture = "amd64";
  if (p.architecture == "arm64" && p.variant.empty()) p.variant = "v8";
  if (p.architecture == "arm" && p.variant.empty()) p.variant = "v7";
  return p;
}

Result<Platform> parsePlatform(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  Platform p;
  if (parts.size() == 1) {
    p.architecture = parts[0];
  } else if (parts.size() <= 3) {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  }
  for (const auto& part : parts) {
    if (part.empty() || parts.size() > 3) {
      return Error(Errc::kInvalidArgument, "\"" + std::string(text) + "\": unknown operating system or architecture: invalid argument");
    }
  }
  return normalise(p);
}

Result<Descriptor> selectPlatform(const Index& index, const Platform& want) {
  Platform w = normalise(want);
  for (const auto& d : index.manifests) {
    if (!d.hasPlatform) return d;
    Platform p = normalise(d.platform);
    if (p.os == w.os && p.architecture == w.architecture && (w.variant.empty() || p.variant == w.variant)) return d;
  }
  return Error(Errc::kNotFound, "no matching manifest for " + w.str() + " in the manifest list entries");
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr); }
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::update(const void* data, size_t n) { EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, n); }

std::string Sha256::digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string sha256Digest(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.digest();
}

bool knownLayerType(std::string_view t) {
  return t == "application/vnd.oci.image.layer.v1.tar" || t == "application/vnd.oci.image.layer.v1.tar+gzip" ||
         t == "application/vnd.oci.image.layer.v1.tar+zstd" ||
         t == "application/vnd.docker.image.rootfs.diff.tar.gzip";
}

}  // namespace vic::images
