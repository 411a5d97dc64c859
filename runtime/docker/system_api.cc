// The system routes: /_ping, /version, /info, /events, /system/df and /build/prune (a VCH has
// no build cache).
#include <sys/utsname.h>

#include <filesystem>

#include "runtime/build/build_cache.h"
#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/disk_usage.h"
#include "runtime/docker/docker_json.h"
#include "runtime/docker/volume_json.h"
#include "runtime/docker/filters.h"
#include "runtime/docker/query.h"

namespace vic::docker {

asio::awaitable<void> DockerApi::ping(Ctx& c) {
  Response r{200, "text/plain; charset=utf-8", "OK",
             {{"Cache-Control", "no-cache, no-store, must-revalidate"}, {"Pragma", "no-cache"}, {"Swarm", "inactive"}}};
  co_await c.reply(r);
}

asio::awaitable<void> DockerApi::version(Ctx& c) {
  utsname u{};
  ::uname(&u);
  nlohmann::json details = {{"ApiVersion", "1.50"}, {"MinAPIVersion", "1.24"}, {"Os", "linux"}, {"Arch", "amd64"},
                            {"KernelVersion", u.release}, {"GitCommit", "vic"}, {"GoVersion", "n/a (C++)"}, {"BuildTime", ""}};
  nlohmann::json v = details;
  v["Version"] = "28.2.2-vic";
  v["Platform"] = {{"Name", "vic " + info_.name}};
  v["Components"] = {{{"Name", "Engine"}, {"Version", "28.2.2-vic"}, {"Details", details}}};
  co_await c.json(200, v);
}

nlohmann::json DockerApi::info() {
  int running = 0, stopped = 0;
  auto all = pl_.list();
  for (const auto& c : all) (c.status.state == pl::RunState::kRunning ? running : stopped)++;
  utsname u{};
  ::uname(&u);
  // docker info prints these pairs under "Storage Driver: vic".
  nlohmann::json driverStatus = nlohmann::json::array({nlohmann::json::array({"VCH", info_.name}),
                                                       nlohmann::json::array({"VCH CPU limit", std::to_string(info_.ncpu) + " CPUs"}),
                                                       nlohmann::json::array({"VCH memory limit", std::to_string(info_.memTotal >> 20) + " MiB"})});
  if (!info_.tetherTransport.empty()) driverStatus.push_back(nlohmann::json::array({"Tether transport", info_.tetherTransport}));
  if (!info_.accelerator.empty()) driverStatus.push_back(nlohmann::json::array({"Accelerator", info_.accelerator}));
  return {{"ID", info_.id}, {"Containers", all.size()}, {"ContainersRunning", running}, {"ContainersPaused", 0},
          {"ContainersStopped", stopped}, {"Images", images_.list().size()}, {"Driver", "vic"},
          {"DriverStatus", driverStatus}, {"SystemStatus", nullptr},
          {"Plugins", {{"Volume", {"vsphere"}}, {"Network", {"bridge"}}, {"Log", {"json-file"}}}},
          {"MemoryLimit", true}, {"SwapLimit", false}, {"CpuCfsPeriod", true}, {"CpuCfsQuota", true},
          {"OomKillDisable", false}, {"IPv4Forwarding", true}, {"Debug", false}, {"NFd", 0}, {"NGoroutines", 0},
          {"SystemTime", rfc3339Nano(pl::nowNs())}, {"LoggingDriver", "json-file"}, {"CgroupDriver", "cgroupfs"},
          {"NEventsListener", 0}, {"KernelVersion", u.release}, {"OperatingSystem", "vic (containerVMs on KVM/QEMU)"},
          {"OSVersion", ""}, {"OSType", "linux"}, {"Architecture", u.machine}, {"IndexServerAddress", "https://index.docker.io/v1/"},
          {"RegistryConfig", registryConfigJson(info_.insecureRegistries)},
          {"NCPU", info_.ncpu}, {"MemTotal", info_.memTotal}, {"DockerRootDir", ""}, {"Name", info_.name},
          {"Labels", nlohmann::json::array()}, {"ExperimentalBuild", false}, {"ServerVersion", "28.2.2-vic"},
          {"Runtimes", {{"vic", {{"path", "containerVM"}}}}}, {"DefaultRuntime", "vic"},
          {"Swarm", {{"NodeID", ""}, {"NodeAddr", ""}, {"LocalNodeState", "inactive"}, {"ControlAvailable", false}, {"Error", ""}, {"RemoteManagers", nullptr}}},
          {"LiveRestoreEnabled", true}, {"Isolation", ""}, {"InitBinary", ""}, {"SecurityOptions", nlohmann::json::array()},
          {"Warnings", nlohmann::json::array()}};
}

// docker events: the kept history since `since` (or only new events without it), then new
// ones as they come, until `until` or the client goes.
asio::awaitable<void> DockerApi::events(Ctx& c) {
  auto filters = parseFilters(c.req.param("filters"), kEventFilters);
  if (!filters) co_return co_await c.fail(filters.error());
  auto since = timestampParam(c.req, "since");
  if (!since) co_return co_await c.fail(since.error());
  auto until = timestampParam(c.req, "until");
  if (!until) co_return co_await c.fail(until.error());
  if (!co_await c.streamHeader(chunkedHeader(200, "application/json"))) co_return;
  uint64_t seen = c.req.param("since").empty() ? pl_.events().lastSeq() : 0;
  while (true) {
    for (const auto& e : pl_.events().since(seen)) {
      seen = e.seq;
      if (e.timeNs < *since || (*until > 0 && e.timeNs > *until) || !eventMatches(e, *filters)) continue;
      if (!co_await c.s.writeAll(chunk(dumpJson(eventJson(e)) + "\n"))) co_return;
    }
    if (*until > 0 && pl::nowNs() > *until) break;
    asio::steady_timer t(io_, std::chrono::milliseconds(500));
    co_await t.async_wait(asio::use_awaitable);  // also re-checks `until` and client liveness
  }
  co_await c.s.writeAll(kLastChunk);
}

namespace {

// GET /system/df?type=...: which parts to measure (every part when none is named).
struct DfParts {
  bool containers = true, images = true, volumes = true, buildCache = true;
};

Result<DfParts> dfParts(const std::vector<std::string>& types) {
  if (types.empty()) return DfParts{};
  DfParts p{false, false, false, false};
  for (const auto& t : types) {
    if (t == "container") p.containers = true;
    else if (t == "image") p.images = true;
    else if (t == "volume") p.volumes = true;
    else if (t == "build-cache") p.buildCache = true;
    else return Error(Errc::kInvalidArgument, "unknown object type: " + t);
  }
  return p;
}

}  // namespace

// docker system df [-v]: images with their shared sizes and users, containers with their
// disks, volumes with theirs and their users; no build cache.
asio::awaitable<void> DockerApi::systemDf(Ctx& c) {
  auto parts = dfParts(c.req.params("type"));
  if (!parts) co_return co_await c.fail(parts.error());
  auto all = pl_.list();
  nlohmann::json out = {{"LayersSize", 0}, {"Images", nullptr}, {"Containers", nullptr}, {"Volumes", nullptr}, {"BuildCache", nullptr}};
  if (parts->images) {
    std::map<std::string, int> uses;
    for (const auto& ci : all) ++uses[ci.spec.imageId];
    std::map<std::string, uint64_t> layerSizes;
    for (const auto& l : images_.layers().list()) layerSizes[l.chainId] = l.size;
    std::vector<DfImage> imgs;
    for (const auto& r : images_.list()) imgs.push_back({r, imageSummary(r, imageConfig(r.id))});
    auto usage = imagesUsage(imgs, uses, layerSizes);
    out["LayersSize"] = usage.layersSize;
    out["Images"] = std::move(usage.images);
  }
  if (parts->containers) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& ci : all) {
      std::string disk = std::filesystem::path(pl_.logFile(ci.spec.id)).parent_path() / "rw.qcow2";
      uint64_t imageSize = images_.find(ci.spec.imageId).valueOr(images::ImageRecord{}).size;
      list.push_back(containerUsage(containerSummary(ci, pl::nowNs(), containerView(ci)), allocatedBytes(disk), imageSize));
    }
    out["Containers"] = std::move(list);
  }
  if (parts->volumes) {
    nlohmann::json list = nlohmann::json::array();
    auto& vols = pl_.volumes();
    for (const auto& v : vols.list()) {
      std::string disk = vols.diskPath(v);
      list.push_back(volumeUsage(volumeJson(v, disk), allocatedBytes(disk), pl_.volumeUsers(v.name).size()));
    }
    out["Volumes"] = std::move(list);
  }
  if (parts->buildCache) out["BuildCache"] = nlohmann::json::array();
  co_await c.json(200, out);
}

// POST /build/prune (docker builder prune, and docker system prune): what dockerd with an
// empty build cache answers, after checking the filters as it does.
asio::awaitable<void> DockerApi::pruneBuildCache(Ctx& c) {
  auto filters = parseFilters(c.req.param("filters"), kBuildPruneFilters);
  if (!filters) co_return co_await c.fail(filters.error());
  // The step cache only names layers that images hold: forgetting it frees no space itself.
  build::BuildCache cache(buildCacheFile(images_));
  auto keys = cache.keys();
  if (auto st = cache.clear(); !st) co_return co_await c.fail(st.error());
  pl_.events().publish({"builder", "prune", "", {{"reclaimed", "0"}}, pl::nowNs(), 0});
  nlohmann::json deleted = nullptr;
  for (const auto& k : keys) deleted.push_back(k.substr(k.find(':') + 1, 25));
  nlohmann::json out = {{"CachesDeleted", deleted}, {"SpaceReclaimed", 0}};
  co_await c.json(200, out);
}

}  // namespace vic::docker
