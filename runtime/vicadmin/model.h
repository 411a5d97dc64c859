// vicadmin's page models: what each page shows, as JSON (the /api/* twins serve exactly these),
// made from the endpoint's Docker API answers by pure functions. The HTML pages render them
// (pages.h); nothing here does I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.h"

namespace vic::vicadmin {
using nlohmann::json;

// One stats sample of a running container (sampler.h).
struct Sample {
  int64_t at = 0;  // unix seconds
  double cpuPercent = 0;
  uint64_t memoryBytes = 0;
};
using Samples = std::map<std::string, std::deque<Sample>>;  // container id -> oldest first

// {"ok": true} or {"ok": false, "reason": "endpoint is down: <why>"}: every page says whether
// its facts came.
json endpointState(const Status& st);

// docker ps --all -> [{id, name, image, state, status, created, ports, networks, cpu, memory}].
json containersModel(const json& ps, const Samples& samples);
// docker images -> [{id, tags, size, created}].
json imagesModel(const json& images);
// docker volume ls -> [{name, driver, store, capacity, labels}].
json volumesModel(const json& volumes);
// docker network ls -> [{name, id, driver, subnets, gateways}].
json networksModel(const json& networks);

// A page's model: {"endpoint": endpointState, "items": items} (items [] when the endpoint is down).
json listPage(const Result<json>& items);

// docker stats' CPU % (moby's calculateCPUPercentUnix: the container's share of the system's
// CPU time between the two samples, times the online CPUs); nullopt without two samples.
std::optional<double> cpuPercent(const json& stats);
// docker stats' memory use (usage minus inactive file cache, as the CLI shows it).
uint64_t memoryUsage(const json& stats);

// "3 d 4 h", "5 min", "12 s" (pure).
std::string humanDuration(int64_t seconds);
// "1.5 GiB", "640 KiB", "12 B" (pure).
std::string humanBytes(uint64_t bytes);

}  // namespace vic::vicadmin
