// Pushing an image (docker push): for each tag, every layer is made a gzip blob (layer_gzip.h),
// looked for in the registry (HEAD), mounted from another repository of the same registry that
// an image with the layer came from, or uploaded; then the config blob (the stored bytes, so its
// digest is the image id) and a Docker schema 2 manifest, PUT by tag. Emits dockerd's JSON
// progress lines. The store only gains the pushed digest as a repo digest (docker's digest
// reference); a failed push leaves it as it was. push() never throws.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "images/image_store.h"
#include "images/manifest.h"
#include "images/puller.h"
#include "images/reference.h"
#include "images/registry_client.h"

namespace vic::images {

inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";

struct PushOptions {
  RegistryOptions registry;
  int parallel = 5;  // concurrent layer uploads (dockerd's max-concurrent-uploads)
};

struct PushedTag {
  std::string tag, digest;  // the manifest's digest
  size_t size = 0;          // the manifest's bytes
};

class Pusher {
 public:
  Pusher(ImageStore& store, std::string workDir) : store_(store), workDir_(std::move(workDir)) {}
  // `name`: a repository with a tag (that tag) or without (every tag of it, as dockerd does for
  // `docker push --all-tags`).
  Result<std::vector<PushedTag>> push(const std::string& name, const PushOptions& opts, const ProgressSink& progress);

 private:
  struct Session;
  Result<std::vector<PushedTag>> pushOrThrow(const std::string& name, Session& s);
  Result<PushedTag> pushTag(Session& s, const std::string& tag, const ImageRecord& image);

  ImageStore& store_;
  std::string workDir_;  // compressed layers in flight
};

// The pure parts, golden-tested.

// A Docker schema 2 manifest exactly as distribution writes it (3-space indent, its field order).
std::string schema2Manifest(const Descriptor& config, const std::vector<Descriptor>& layers);

// What `docker push <ref>` pushes: (tag, image) pairs, sorted by tag; dockerd's errors when
// the repository has no tag here ("An image does not exist locally with the tag: x") or the tag
// named is not one of them ("tag does not exist: x:1").
Result<std::vector<std::pair<std::string, ImageRecord>>> pushTargets(const Reference& ref,
                                                                     const std::vector<ImageRecord>& images);

// Other repositories (paths) of `ref`'s registry that an image holding `chainId` came from or
// went to (its repo digests, the newest of each image first), at most `max`: where a blob may be
// mounted from. Known without asking anyone: no mount is tried for a blob never seen there.
std::vector<std::string> mountCandidates(const Reference& ref, const std::string& chainId,
                                         const std::vector<ImageRecord>& images, size_t max = 3);

}  // namespace vic::images
