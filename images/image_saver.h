// docker save: images as a tarball that docker load (ours and dockerd's) accepts: manifest.json
// ({Config, RepoTags, Layers} per image), the config blobs, each layer's tar as it was pulled,
// loaded or committed (so its diff id matches the config), and the legacy `repositories` file.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "images/image_store.h"

namespace vic::images {

// `refs` as the user named them (busybox, busybox:1, an id); a name gets its tag in RepoTags,
// an id none. Writes `tarball` whole or not at all.
Status saveImages(const ImageStore& store, const std::vector<std::string>& refs, const std::string& tarball);

// manifest.json for the saved images (pure; unit-tested).
struct SaveEntry {
  std::string configHex;              // the image id's hex
  std::vector<std::string> repoTags;  // familiar: busybox:latest
  std::vector<std::string> layerHexes;  // diff id hexes, bottom first
};
std::string saveManifest(const std::vector<SaveEntry>& entries);

}  // namespace vic::images
