// Pulling an image (docker pull): resolve the manifest (platform from an index), fetch and
// verify the config, download missing layers in parallel, check each layer's diff id, write
// layers into the LayerStore in order, then record the image. Emits docker's JSON progress
// lines. Any failure leaves the store as it was: this pull's layers and downloads go. pull()
// never throws: it is the last-resort boundary for whatever a hostile registry provokes.
#pragma once

#include <functional>
#include <string>

#include "common/result.h"
#include "images/image_store.h"
#include "images/manifest.h"
#include "images/registry_client.h"

namespace vic::images {

inline constexpr size_t kMaxLayers = 1000;  // per image (docker's overlay2 stops at 125)

struct PullOptions {
  Platform platform;
  RegistryOptions registry;
  int parallel = 3;  // concurrent layer downloads
};

// Called with one JSON progress line at a time (from any thread, never concurrently).
using ProgressSink = std::function<void(const std::string& line)>;

class Puller {
 public:
  Puller(ImageStore& store, std::string workDir) : store_(store), workDir_(std::move(workDir)) {}
  Result<ImageRecord> pull(const std::string& reference, const PullOptions& opts, const ProgressSink& progress);

 private:
  struct Undo;
  Result<ImageRecord> pullOrThrow(const std::string& reference, const PullOptions& opts, const ProgressSink& progress,
                                  Undo& undo);

  ImageStore& store_;
  std::string workDir_;  // downloads in flight (cleaned when the store opens)
};

}  // namespace vic::images
