// docker system df (GET /system/df) and the prunes' reclaimed space: what the VCH measured,
// shaped as dockerd answers. Image numbers are layer sizes (uncompressed tar bytes, dockerd's
// DiffSize, the sizes `docker images` shows); containers and volumes are the bytes their qcow2
// disks take on the datastore. Pure but for allocatedBytes.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "images/image_store.h"

namespace vic::docker {

using nlohmann::json;

// The bytes a file takes on disk (its allocated blocks: a sparse qcow2 counts what it holds);
// 0 when it is missing.
uint64_t allocatedBytes(const std::string& path);

// One image for df: its record and its summary as `docker images` gets it (imageSummary).
struct DfImage {
  images::ImageRecord record;
  json summary;
};
struct ImagesUsage {
  uint64_t layersSize = 0;  // every layer some image uses, counted once
  json images = json::array();
};
// Each summary gets Containers (how many containers use the image, from `containersPerImage`)
// and SharedSize (the bytes of its layers another image also uses); `layerSizes` by chain id.
ImagesUsage imagesUsage(const std::vector<DfImage>& images, const std::map<std::string, int>& containersPerImage,
                        const std::map<std::string, uint64_t>& layerSizes);

// A container summary with SizeRw (its own disk) and SizeRootFs (that plus its image).
json containerUsage(json summary, uint64_t sizeRw, uint64_t imageSize);
// A volume with UsageData: its disk's bytes and how many containers name it.
json volumeUsage(json volume, uint64_t size, size_t refCount);

// The layer bytes a removal freed: the sizes of the layers in `before` that `after` lacks.
uint64_t layersFreed(const std::vector<images::LayerRecord>& before, const std::vector<images::LayerRecord>& after);

}  // namespace vic::docker
