// docker load: images from a `docker save` tarball (manifest.json with Config, RepoTags and
// Layers; both the OCI-layout form of docker 25+ and the older <id>/layer.tar form; the
// tarball and its layers may be gzip- or zstd-compressed). Layers are verified against the
// config's diff ids; a failure leaves the store as it was.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "images/image_store.h"

namespace vic::images {

// Calls `out` with docker's load stream lines ({"stream":"Loaded image: busybox:latest\n"}).
// Returns the ids of the loaded images.
Result<std::vector<std::string>> loadImages(ImageStore& store, const std::string& tarball,
                                            const std::function<void(const std::string&)>& out);

// One manifest.json entry (pure; unit-tested).
struct SavedImage {
  std::string config;                 // path inside the tarball
  std::vector<std::string> repoTags;  // as written by docker: busybox:latest
  std::vector<std::string> layers;
};
Result<std::vector<SavedImage>> parseSaveManifest(const std::string& json);

}  // namespace vic::images
