// Registry manifests and indexes (OCI and Docker schema 2), platform selection, digests.
// Pure: bytes in, structs out; digests are computed over the exact bytes received.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace vic::images {

inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
// What we ask registries for, most capable first (an OCI-only Accept gets 404 on distribution).
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

// What we read of a registry's answers at most (docker caps manifests at 4 MiB); a larger
// body is refused while it downloads.
inline constexpr size_t kMaxManifestBytes = 4 << 20;  // manifests and indexes
inline constexpr size_t kMaxConfigBytes = 8 << 20;    // image configs
inline constexpr size_t kMaxTokenBytes = 1 << 20;     // token responses
inline constexpr size_t kMaxErrorBytes = 64 << 10;    // error bodies (the rest is dropped)

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
  std::string str() const;  // linux/arm64/v8
};

struct Descriptor {
  std::string mediaType;
  std::string digest;
  int64_t size = 0;
  bool hasPlatform = false;
  Platform platform;
};

struct Manifest {
  std::string mediaType;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct Index {
  std::string mediaType;
  std::vector<Descriptor> manifests;
};

// Total over hostile input: wrong types, missing fields, negative sizes, digests that are not
// sha256 and documents over kMaxManifestBytes are errors naming the field, never a throw.
// `contentType` is the response's Content-Type (used when the body does not say).
// `ref` names the image in the schema-1 refusal.
Result<std::variant<Manifest, Index>> parseManifest(std::string_view body, std::string_view contentType,
                                                    std::string_view ref);

// Fields of an image config the store and the runtime need (total like parseManifest).
struct ImageConfigInfo {
  std::vector<std::string> diffIds;
  int64_t created = 0;
};
Result<ImageConfigInfo> parseImageConfig(std::string_view configJson);
int64_t parseRfc3339(const std::string& text);  // unix seconds; 0 when unparsable

// "linux/arm64/v8", "arm64" (os linux), normalised like containerd: aarch64 -> arm64,
// arm64 without variant -> v8, arm without variant -> v7, x86_64 -> amd64.
Result<Platform> parsePlatform(std::string_view text);
Platform normalise(Platform p);

// The first entry for `want`; entries without a platform match anything.
Result<Descriptor> selectPlatform(const Index& index, const Platform& want);

// Streaming sha256 (OpenSSL EVP); digest() gives "sha256:<hex>".
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t n);
  std::string digest();

 private:
  void* ctx_;
};

std::string sha256Digest(std::string_view bytes);  // "sha256:<hex>"

// A layer media type we can unpack (tar, tar+gzip, tar+zstd, Docker's gzip layer).
bool knownLayerType(std::string_view mediaType);

}  // namespace vic::images
