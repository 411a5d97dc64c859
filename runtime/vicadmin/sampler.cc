#include "runtime/vicadmin/sampler.h"

#include "common/json.h"

namespace vic::vicadmin {

void Sampler::record(int64_t now, const std::map<std::string, json>& stats) {
  std::erase_if(samples_, [&stats](const auto& s) { return !stats.contains(s.first); });
  std::erase_if(last_, [&stats](const auto& s) { return !stats.contains(s.first); });
  for (const auto& [id, st] : stats) {
    json cur = st.is_object() && st.contains("cpu_stats") ? st["cpu_stats"] : json::object();
    Sample s{now, 0, memoryUsage(st)};
    if (auto prev = last_.find(id); prev != last_.end()) {
      s.cpuPercent = cpuPercent(json{{"cpu_stats", cur}, {"precpu_stats", prev->second}}).value_or(0);
    }
    last_[id] = cur;
    auto& ring = samples_[id];
    ring.push_back(s);
    while (ring.size() > keep_) ring.pop_front();
  }
}

Result<std::map<std::string, json>> collectStats(Probe& probe) {
  auto ps = probe.docker("/containers/json");
  if (!ps) return std::move(ps).error();
  auto list = parseJson(*ps);
  std::map<std::string, json> out;
  if (!list.is_array()) return out;
  for (const auto& c : list) {
    if (!c.is_object() || !c.contains("Id") || !c["Id"].is_string()) continue;
    std::string id = c["Id"].get<std::string>();
    auto st = probe.docker("/containers/" + id + "/stats?stream=false&one-shot=true");
    if (!st) continue;  // it stopped meanwhile
    auto j = parseJson(*st);
    if (j.is_object()) out[id] = std::move(j);
  }
  return out;
}

}  // namespace vic::vicadmin
