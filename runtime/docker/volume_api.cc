// /volumes: list, inspect, create, remove, prune.

#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/disk_usage.h"
#include "runtime/docker/filters.h"
#include "runtime/docker/volume_json.h"

namespace vic::docker {

namespace {
void publishVolumeEvent(pl::EventBus& bus, const std::string& action, const std::string& name) {
  bus.publish({"volume", action, name, {{"driver", "vsphere"}}, pl::nowNs(), 0});
}
}  // namespace

asio::awaitable<void> DockerApi::volumeRoute(Ctx& c) {
  const std::string& p = c.req.path;
  const std::string& m = c.req.method;
  auto& vols = pl_.volumes();
  if (p == "/volumes" && m == "GET") {
    auto filters = parseFilters(c.req.param("filters"), kVolumeFilters);
    if (!filters) co_return co_await c.fail(filters.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& v : vols.list()) {
      if (volumeMatches(v, *filters, !pl_.volumeUsers(v.name).empty())) list.push_back(volumeJson(v, vols.diskPath(v)));
    }
    nlohmann::json reply = {{"Volumes", list}, {"Warnings", nlohmann::json::array()}};
    co_return co_await c.json(200, reply);
  }
  if (p == "/volumes/create" && m == "POST") {
    auto body = c.body();
    if (!body) co_return co_await c.fail(body.error());
    auto req = volumeRequestFromCreate(*body);
    if (!req) co_return co_await c.fail(req.error());
    auto made = vols.create(*req);
    if (!made) co_return co_await c.fail(made.error());
    publishVolumeEvent(pl_.events(), "create", made->name);
    co_return co_await c.json(201, volumeJson(*made, vols.diskPath(*made)));
  }
  if (p == "/volumes/prune" && m == "POST") {
    auto filters = parseFilters(c.req.param("filters"), kVolumePruneFilters);
    if (!filters) co_return co_await c.fail(filters.error());
    auto all = volumePruneAll(*filters);  // docker 23+: anonymous volumes only unless all
    if (!all) co_return co_await c.fail(all.error());
    nlohmann::json deleted = nlohmann::json::array();
    uint64_t reclaimed = 0;
    for (const auto& v : vols.list()) {
      if (!pl_.volumeUsers(v.name).empty() || (!v.anonymous && !*all) || !pruneLabelsMatch(v.labels, *filters)) continue;
      uint64_t size = allocatedBytes(vols.diskPath(v));
      if (vols.remove(v.name)) {
        deleted.push_back(v.name);
        reclaimed += size;
        publishVolumeEvent(pl_.events(), "destroy", v.name);
      }
    }
    pl_.events().publish({"volume", "prune", "", {{"reclaimed", std::to_string(reclaimed)}}, pl::nowNs(), 0});
    nlohmann::json reply = {{"VolumesDeleted", deleted}, {"SpaceReclaimed", reclaimed}};
    co_return co_await c.json(200, reply);
  }
  auto route = routeAfter(p, "/volumes/");
  if (!route || route->rest) co_return co_await c.fail(Error(Errc::kNotFound, "page not found"));
  auto v = vols.find(route->id);
  if (!v) co_return co_await c.fail(v.error());
  if (m == "GET") co_return co_await c.json(200, volumeJson(*v, vols.diskPath(*v)));
  if (m == "DELETE") {
    auto users = pl_.volumeUsers(v->name);
    if (!users.empty()) {
      std::string list;
      for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
      co_return co_await c.fail(Error(Errc::kConflict, "remove " + v->name + ": volume is in use - [" + list + "]"));
    }
    if (auto st = vols.remove(v->name); !st) co_return co_await c.fail(st.error());
    publishVolumeEvent(pl_.events(), "destroy", v->name);
    co_return co_await c.empty(204);
  }
  co_return co_await c.fail(Error(Errc::kNotImplemented, m + " " + p + " is not yet supported by vic"));
}

}  // namespace vic::docker
