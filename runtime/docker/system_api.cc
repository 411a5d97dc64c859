// The system routes: /_ping, /version, /info and /events.
#include <sys/utsname.h>

#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/docker_json.h"
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
  return {{"ID", info_.id}, {"Containers", all.size()}, {"ContainersRunning", running}, {"ContainersPaused", 0},
          {"ContainersStopped", stopped}, {"Images", images_.list().size()}, {"Driver", "vic"},
          {"DriverStatus", nlohmann::json::array({nlohmann::json::array({"VCH", info_.name}),
                                                  nlohmann::json::array({"VCH CPU limit", std::to_string(info_.ncpu) + " CPUs"}),
                                                  nlohmann::json::array({"VCH memory limit", std::to_string(info_.memTotal >> 20) + " MiB"})})}, {"SystemStatus", nullptr},
          {"Plugins", {{"Volume", {"vsphere"}}, {"Network", {"bridge"}}, {"Log", {"json-file"}}}},
          {"MemoryLimit", true}, {"SwapLimit", false}, {"CpuCfsPeriod", true}, {"CpuCfsQuota", true},
          {"OomKillDisable", false}, {"IPv4Forwarding", true}, {"Debug", false}, {"NFd", 0}, {"NGoroutines", 0},
          {"SystemTime", rfc3339Nano(pl::nowNs())}, {"LoggingDriver", "json-file"}, {"CgroupDriver", "cgroupfs"},
          {"NEventsListener", 0}, {"KernelVersion", u.release}, {"OperatingSystem", "vic (containerVMs on KVM/QEMU)"},
          {"OSVersion", ""}, {"OSType", "linux"}, {"Architecture", u.machine}, {"IndexServerAddress", "https://index.docker.io/v1/"},
          {"RegistryConfig", {{"InsecureRegistryCIDRs", {"127.0.0.0/8"}}, {"IndexConfigs", nlohmann::json::object()}, {"Mirrors", nlohmann::json::array()}}},
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

}  // namespace vic::docker
