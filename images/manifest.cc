#include "images/manifest.h"

#include <openssl/evp.h>

#include <ctime>

#include <limits>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "images/reference.h"
#include "images/untrusted.h"

namespace vic::images {
namespace {

using nlohmann::json;

Result<Descriptor> descriptor(const json& j, const std::string& path) {
  FieldReader r(j, path);
  Descriptor d;
  d.mediaType = r.str("mediaType");
  d.digest = r.str("digest", true);
  d.size = r.integer("size", 0, std::numeric_limits<int64_t>::max(), true);
  if (r.ok() && !validDigest(d.digest)) r.fail(r.field("digest") + " is not a sha256 digest: " + printable(d.digest, 80));
  if (const json* p = r.object("platform")) {
    FieldReader pr(*p, r.field("platform"));
    d.hasPlatform = true;
    d.platform.os = pr.str("os");
    d.platform.architecture = pr.str("architecture");
    d.platform.variant = pr.str("variant");
    if (!pr.ok()) r.fail(*pr.problem());
  }
  if (!r.ok()) return Error(Errc::kProtocol, *r.problem());
  return d;
}

// The descriptors in the array `key` of `r`'s object (required).
Result<std::vector<Descriptor>> descriptors(FieldReader& r, std::string_view key) {
  const json* a = r.array(key, true);
  if (!a) return Error(Errc::kProtocol, *r.problem());
  std::vector<Descriptor> out;
  for (size_t i = 0; i < a->size(); ++i) {
    auto d = descriptor((*a)[i], r.field(key) + "[" + std::to_string(i) + "]");
    if (!d) return std::move(d).error();
    out.push_back(std::move(*d));
  }
  return out;
}

Result<std::variant<Manifest, Index>> parseIndex(FieldReader& r, std::string type) {
  Index idx;
  idx.mediaType = type.empty() ? std::string(kOciIndex) : std::move(type);
  auto ms = descriptors(r, "manifests");
  if (!ms) return std::move(ms).error();
  idx.manifests = std::move(*ms);
  return std::variant<Manifest, Index>(std::move(idx));
}

Result<std::variant<Manifest, Index>> parseImageManifest(FieldReader& r, std::string type) {
  Manifest m;
  m.mediaType = type.empty() ? std::string(kOciManifest) : std::move(type);
  const json* config = r.object("config", true);
  if (!config) return Error(Errc::kProtocol, *r.problem());
  auto c = descriptor(*config, "config");
  if (!c) return std::move(c).error();
  m.config = std::move(*c);
  auto layers = descriptors(r, "layers");
  if (!layers) return std::move(layers).error();
  m.layers = std::move(*layers);
  return std::variant<Manifest, Index>(std::move(m));
}

}  // namespace

std::string Platform::str() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }

Result<std::variant<Manifest, Index>> parseManifest(std::string_view body, std::string_view contentType,
                                                    std::string_view ref) {
  std::string what = "malformed manifest for " + std::string(ref);
  if (body.size() > kMaxManifestBytes) return Error(Errc::kProtocol, what + ": larger than 4 MiB");
  auto j = parseJsonObject(body, "manifest for " + std::string(ref), Errc::kProtocol);
  if (!j) return std::move(j).error();
  FieldReader r(*j, "");
  std::string type = r.str("mediaType", false, std::string(contentType.substr(0, contentType.find(';'))));
  int64_t version = r.integer("schemaVersion", 0, std::numeric_limits<int64_t>::max(), true);
  if (!r.ok()) return r.error(Errc::kProtocol, what);
  if (version == 1 || type.find("distribution.manifest.v1+") != std::string::npos) {
    return Error(Errc::kInvalidArgument, "image " + std::string(ref) +
                                             " uses manifest schema 1, which is no longer supported: "
                                             "it must be pushed again as an OCI or Docker schema 2 image");
  }
  if (version != 2) return Error(Errc::kProtocol, what + ": unsupported schemaVersion " + std::to_string(version));
  auto parsed = j->contains("manifests") || type == kOciIndex || type == kDockerList ? parseIndex(r, std::move(type))
                                                                                     : parseImageManifest(r, std::move(type));
  if (!parsed) return std::move(parsed).error().wrap(what);
  return parsed;
}

int64_t parseRfc3339(const std::string& text) {
  std::tm tm{};
  const char* rest = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  return static_cast<int64_t>(::timegm(&tm));  // fraction and 'Z' ignored; offsets are rare in configs
}

Result<ImageConfigInfo> parseImageConfig(std::string_view configJson) {
  const std::string what = "invalid image config";
  if (configJson.size() > kMaxConfigBytes) return Error(Errc::kInvalidArgument, what + ": larger than 8 MiB");
  auto j = parseJsonObject(configJson, "image config");
  if (!j) return std::move(j).error();
  FieldReader r(*j, "");
  ImageConfigInfo info;
  std::string created = r.str("created");
  const json* rootfs = r.object("rootfs", true);
  if (!rootfs) return r.error(Errc::kInvalidArgument, what);
  FieldReader fr(*rootfs, "rootfs");
  info.diffIds = fr.strings("diff_ids", true);
  if (!fr.ok()) return fr.error(Errc::kInvalidArgument, what);
  if (!r.ok()) return r.error(Errc::kInvalidArgument, what);
  for (const auto& d : info.diffIds) {
    if (!validDigest(d)) return Error(Errc::kInvalidArgument, what + ": invalid diff id " + printable(d, 80));
  }
  info.created = parseRfc3339(created);
  return info;
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
