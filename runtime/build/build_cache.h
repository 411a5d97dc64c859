// The classic builder's cache: a step's result by a key made of everything that decides it (the
// image before it, the instruction, the build args it sees, the files it copies). Kept in one
// JSON file on the datastore, written atomically; a hit whose layer has gone is a miss.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "common/result.h"
#include "runtime/build/build_host.h"

namespace vic::build {

inline constexpr size_t kMaxCacheEntries = 4096;  // the oldest go first beyond this

class BuildCache {
 public:
  explicit BuildCache(std::string file) : file_(std::move(file)) {}
  std::optional<ImageState> find(const std::string& key) const;
  Status put(const std::string& key, const ImageState& state);
  Status clear();           // docker builder prune
  size_t entries() const;
  std::vector<std::string> keys() const;  // "sha256:..." each

 private:
  nlohmann::json load() const;  // {} when missing or unreadable
  std::string file_;
  mutable std::mutex mu_;
};

// A step's key: sha256 over the previous key and the step's parts, each length-prefixed.
std::string stepKey(const std::string& previous, const std::vector<std::string>& parts);

}  // namespace vic::build
