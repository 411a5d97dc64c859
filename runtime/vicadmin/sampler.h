// The containers page's sparklines: every few seconds the running containers' stats (one
// sample each, docker's one-shot) are turned into CPU % (against the previous sample) and
// memory bytes, kept in a ring of the last `keep` samples per container.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "runtime/vicadmin/model.h"
#include "runtime/vicadmin/probe.h"

namespace vic::vicadmin {
using nlohmann::json;

class Sampler {
 public:
  explicit Sampler(size_t keep = 60) : keep_(keep) {}
  // One round: `stats` maps each running container's id to its stats JSON. Containers not in
  // it (stopped, removed) lose their samples.
  void record(int64_t now, const std::map<std::string, json>& stats);
  const Samples& samples() const { return samples_; }

 private:
  size_t keep_;
  Samples samples_;
  std::map<std::string, json> last_;  // each container's previous cpu_stats
};

// The running containers' stats, from the endpoint (blocking; each call bounded by the probe).
Result<std::map<std::string, json>> collectStats(Probe& probe);

}  // namespace vic::vicadmin
