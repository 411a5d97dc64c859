#include "runtime/build/build_cache.h"

#include <filesystem>

#include "common/files.h"
#include "common/json.h"
#include "common/time.h"
#include "images/manifest.h"

namespace vic::build {

nlohmann::json BuildCache::load() const {
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return nlohmann::json::object();
  auto j = parseJson(readFile(file_));
  return j.is_object() ? j : nlohmann::json::object();
}

std::optional<ImageState> BuildCache::find(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto all = load();
  auto it = all.find(key);
  if (it == all.end() || !it->is_object() || !it->contains("config") || !(*it)["config"].is_object() ||
      !(*it)["topLayer"].is_string()) {
    return std::nullopt;
  }
  return ImageState{(*it)["config"], (*it)["topLayer"].get<std::string>()};
}

Status BuildCache::put(const std::string& key, const ImageState& state) {
  std::lock_guard lock(mu_);
  auto all = load();
  all[key] = {{"config", state.config}, {"topLayer", state.topLayer}, {"at", nowNs()}};
  while (all.size() > kMaxCacheEntries) {  // the oldest entry goes
    auto oldest = all.begin();
    for (auto it = all.begin(); it != all.end(); ++it) {
      if (it->value("at", int64_t{0}) < oldest->value("at", int64_t{0})) oldest = it;
    }
    all.erase(oldest);
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file_).parent_path(), ec);
  return writeFileAtomically(file_, dumpJson(all), 0600);
}

Status BuildCache::clear() {
  std::lock_guard lock(mu_);
  std::error_code ec;
  std::filesystem::remove(file_, ec);
  if (ec) return Error(Errc::kInternal, "removing the build cache " + file_ + ": " + ec.message());
  return ok();
}

size_t BuildCache::entries() const {
  std::lock_guard lock(mu_);
  return load().size();
}

std::vector<std::string> BuildCache::keys() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  auto all = load();  // items() of a temporary would dangle
  for (const auto& [k, v] : all.items()) out.push_back(k);
  return out;
}

std::string stepKey(const std::string& previous, const std::vector<std::string>& parts) {
  std::string all = std::to_string(previous.size()) + ":" + previous;
  for (const auto& p : parts) all += std::to_string(p.size()) + ":" + p;
  return images::sha256Digest(all);
}

}  // namespace vic::build
