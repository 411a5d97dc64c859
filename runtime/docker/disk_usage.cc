#include "runtime/docker/disk_usage.h"

#include <sys/stat.h>

#include <set>

namespace vic::docker {

uint64_t allocatedBytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

ImagesUsage imagesUsage(const std::vector<DfImage>& images, const std::map<std::string, int>& containersPerImage,
                        const std::map<std::string, uint64_t>& layerSizes) {
  auto sizeOf = [&](const std::string& chain) {
    auto it = layerSizes.find(chain);
    return it == layerSizes.end() ? uint64_t{0} : it->second;
  };
  std::map<std::string, int> users;  // chain id -> images that use the layer
  for (const auto& i : images) {
    for (const auto& chain : images::chainIds(i.record.diffIds)) ++users[chain];
  }
  ImagesUsage out;
  for (const auto& [chain, n] : users) out.layersSize += sizeOf(chain);
  for (const auto& i : images) {
    uint64_t shared = 0;
    for (const auto& chain : images::chainIds(i.record.diffIds)) {
      if (users[chain] > 1) shared += sizeOf(chain);
    }
    json s = i.summary;
    auto c = containersPerImage.find(i.record.id);
    s["Containers"] = c == containersPerImage.end() ? 0 : c->second;
    s["SharedSize"] = shared;
    out.images.push_back(std::move(s));
  }
  return out;
}

json containerUsage(json summary, uint64_t sizeRw, uint64_t imageSize) {
  summary["SizeRw"] = sizeRw;
  summary["SizeRootFs"] = sizeRw + imageSize;
  return summary;
}

json volumeUsage(json volume, uint64_t size, size_t refCount) {
  volume["UsageData"] = {{"Size", size}, {"RefCount", refCount}};
  return volume;
}

uint64_t layersFreed(const std::vector<images::LayerRecord>& before, const std::vector<images::LayerRecord>& after) {
  std::set<std::string> left;
  for (const auto& l : after) left.insert(l.chainId);
  uint64_t freed = 0;
  for (const auto& l : before) {
    if (!left.contains(l.chainId)) freed += l.size;
  }
  return freed;
}

}  // namespace vic::docker
