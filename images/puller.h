// Pulling an image (docker pull): resolve the manifest (platform from an index), fetch and
// verify the config, download missing layers in parallel, check each layer's diff id, write
// layers into the LayerStore in order, then record the image. Emits docker's JSON progress
// lines. Any failure leaves the store as it was: this pull's layers and downloads go.
#pragma once

#include <functional>
#include <string>

#include "common/result.h"
#include "images/image_store.h"
#include "images/manifest.h"
#include "images/registry_client.h"

namespace vic::images {

struct PullOptions {
  Platform platform;
  RegistryOptions registry;
  int parallel = 3;  // concurrent layer downloads
};

// Called with one JSON progress line at a time (from any thread, never concurrently).
using ProgressSink = std::function<void(const std::string& line)>;

// Fields of an image config the store and the runtime need (pure; unit-tested).
struct ImageConfigInfo {
  std::vector<std::string> diffIds;
  int64_t created = 0;
};
Result<ImageConfigInfo> parseImageConfig(const std::string& configJson);
int64_t parseRfc3339(const std::string& text);  // unix seconds; 0 when unparsable

class Puller {
 public:
  Puller(ImageStore& store, std::string workDir) : store_(store), workDir_(std::move(workDir)) {}
  Result<ImageRecord> pull(const std::string& reference, const PullOptions& opts, const ProgressSink& progress);

 private:
  ImageStore& store_;
  std::string workDir_;  // downloads in flight (cleaned when the store opens)
};

}  // namespace vic::images
