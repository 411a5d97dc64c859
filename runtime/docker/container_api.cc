// The container routes: create, list, inspect, start/stop/restart/kill, wait, rename,
// resize, remove and diff; each handing off to the port layer. Attach, logs and stats are in
// container_io_api.cc, cp and export in archive_api.cc, exec in exec_api.cc.
#include <sys/stat.h>

#include <filesystem>

#include "runtime/docker/api.h"
#include "runtime/docker/top_json.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/docker_json.h"
#include "runtime/docker/filters.h"
#include "runtime/docker/query.h"

namespace vic::docker {

// What inspect and ps show beyond the spec: networks, the ports a running container got, volume disks.
ContainerView DockerApi::containerView(const pl::ContainerInfo& c) {
  ContainerView v;
  for (const auto& ep : c.spec.networks) {
    if (const auto* s = pl_.networks().byId(ep.scope)) v.networks.push_back({*s, ep});
  }
  if (c.status.state == pl::RunState::kRunning) v.published = pl_.publishedPorts(c.spec.id);
  for (const auto& m : c.spec.volumes) {
    if (auto vol = pl_.volumes().find(m.name)) v.volumeDisks[m.name] = pl_.volumes().diskPath(*vol);
  }
  return v;
}

asio::awaitable<void> DockerApi::create(Ctx& c) {
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  std::string imageRef = body->contains("Image") && (*body)["Image"].is_string() ? (*body)["Image"].get<std::string>() : "";
  if (imageRef.empty()) co_return co_await c.fail(Error(Errc::kInvalidArgument, "config cannot be empty in order to create a container"));
  auto image = images_.find(imageRef);
  if (!image) co_return co_await c.fail(image.error());
  auto spec = specFromCreate(*body, c.req.param("name"), *image, imageConfig(image->id), pl::nowNs());
  if (!spec) co_return co_await c.fail(spec.error());
  for (auto& ep : spec->networks) {  // the networks as the user named them -> scope ids
    auto scope = pl_.networks().find(ep.scope);
    if (!scope) co_return co_await c.fail(scope.error());
    ep.scope = scope->id;
  }
  auto made = co_await pl_.create(*spec);
  if (!made) co_return co_await c.fail(made.error());
  nlohmann::json out = {{"Id", made->id}, {"Warnings", nlohmann::json::array()}};
  co_return co_await c.json(201, out);
}

asio::awaitable<void> DockerApi::containerRoute(Ctx& c, const std::string& ref, const std::string& op) {
  const std::string& m = c.req.method;
  auto found = pl_.find(ref);
  if (!found) co_return co_await c.fail(found.error());
  std::string id = found->spec.id;
  if (op == "json" && m == "GET") {
    auto view = containerView(*found);
    view.shortIdAlias = !versionAtLeast(c.req.apiVersion, 45);
    co_return co_await c.json(200, containerInspect(*found, pl_.logFile(id), view));
  }
  if (op == "start" && m == "POST") co_return co_await c.status(co_await pl_.start(id), 204);
  if ((op == "stop" || op == "restart") && m == "POST") co_return co_await stop(c, *found, op == "restart");
  if (op == "kill" && m == "POST") co_return co_await kill(c, ref, id);
  if (op == "wait" && m == "POST") co_return co_await wait(c, id);
  if (op == "attach" && m == "POST") co_return co_await attach(c, id);
  if (op == "logs" && m == "GET") co_return co_await logs(c, id);
  if (op == "archive" && (m == "GET" || m == "HEAD" || m == "PUT")) co_return co_await archive(c, id);
  if (op == "export" && m == "GET") co_return co_await exportContainer(c, id);
  if (op == "changes" && m == "GET") co_return co_await changes(c, id);
  if (op == "stats" && m == "GET") co_return co_await stats(c, id);
  if (op == "resize" && m == "POST") co_return co_await resize(c, id);
  if (op == "rename" && m == "POST") co_return co_await rename(c, id);
  if (op == "update" && m == "POST") co_return co_await update(c, id);
  if (op == "top" && m == "GET") co_return co_await top(c, id);
  if (op == "pause" && m == "POST") co_return co_await c.status(co_await pl_.pause(id), 204);
  if (op == "unpause" && m == "POST") co_return co_await c.status(co_await pl_.unpause(id), 204);
  if (op == "exec" && m == "POST") co_return co_await execCreate(c, id);
  if (op.empty() && m == "DELETE") co_return co_await remove(c, id);
  co_return co_await c.fail(notImplemented(m + " /containers/{id}/" + op));
}

asio::awaitable<void> DockerApi::stop(Ctx& c, const pl::ContainerInfo& found, bool restart) {
  auto timeout = optionalIntParam(c.req, "t");
  if (!timeout) co_return co_await c.fail(timeout.error());
  const std::string& id = found.spec.id;
  auto st = co_await pl_.stop(id, *timeout);
  if (restart && (st || st.error().code() == Errc::kNotModified)) {
    st = co_await pl_.start(id);
    if (st) pl::publishContainerEvent(pl_.events(), id, found.spec.name, found.spec.imageRef, "restart");
  }
  co_await c.status(st, 204);
}

// docker names the container as the user did: "Cannot kill container: web: Container <id> is not running".
asio::awaitable<void> DockerApi::kill(Ctx& c, const std::string& ref, const std::string& id) {
  int sig = signalNumber(c.req.param("signal", "KILL"));
  if (sig <= 0) co_return co_await c.fail(Error(Errc::kInvalidArgument, "Invalid signal: " + c.req.param("signal")));
  Status st = co_await pl_.kill(id, sig);
  if (!st) co_return co_await c.fail(Error(st.error().code(), "Cannot kill container: " + ref + ": " + st.error().message()));
  co_await c.empty(204);
}

asio::awaitable<void> DockerApi::top(Ctx& c, const std::string& id) {
  auto list = co_await pl_.processes(id);
  if (!list) co_return co_await c.fail(list.error());
  auto j = topJson(*list, c.req.param("ps_args"));
  if (!j) co_return co_await c.fail(j.error());
  co_await c.json(200, *j);
}

asio::awaitable<void> DockerApi::resize(Ctx& c, const std::string& id) {
  auto h = dimensionParam(c.req, "h");
  if (!h) co_return co_await c.fail(h.error());
  auto w = dimensionParam(c.req, "w");
  if (!w) co_return co_await c.fail(w.error());
  co_await c.status(co_await pl_.resize(id, "main", *h, *w), 200);
}

asio::awaitable<void> DockerApi::rename(Ctx& c, const std::string& id) {
  std::string name = c.req.param("name");
  if (!pl::validName(name)) {
    co_return co_await c.fail(Error(Errc::kInvalidArgument, "Invalid container name (" + name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  co_await c.status(co_await pl_.rename(id, name), 204);
}

// docker update: the restart policy, live; memory and CPUs from the next start (a VM keeps what
// it booted with: no balloon, no CPU hotplug), with a warning when it runs. Other resources have
// no containerVM equivalent: refused rather than ignored.
asio::awaitable<void> DockerApi::update(Ctx& c, const std::string& id) {
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  if (!body->is_object()) co_return co_await c.fail(Error(Errc::kInvalidArgument, "update: the body must be a JSON object"));
  auto number = [&](const char* k) { return (*body).contains(k) && (*body)[k].is_number() ? (*body)[k].get<int64_t>() : int64_t{0}; };
  for (const char* k : {"MemoryReservation", "MemorySwap", "CpuShares", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems",
                        "PidsLimit", "BlkioWeight", "KernelMemory"}) {
    const auto& v = body->contains(k) ? (*body)[k] : nlohmann::json();
    bool set = (v.is_number() && v.get<double>() != 0) || (v.is_string() && !v.get<std::string>().empty());
    if (set) co_return co_await c.fail(Error(Errc::kNotImplemented, std::string("docker update of ") + k + " is not supported by a VCH: a containerVM has no such control"));
  }
  nlohmann::json out = {{"Warnings", nlohmann::json::array()}};
  int64_t memory = number("Memory"), nanoCpus = number("NanoCpus"), cpuCount = number("CpuCount");
  if (memory < 0 || nanoCpus < 0 || cpuCount < 0) co_return co_await c.fail(Error(Errc::kInvalidArgument, "invalid resources: negative value"));
  if (memory > 0 || nanoCpus > 0 || cpuCount > 0) {
    std::optional<uint64_t> mem;
    std::optional<int> cpus;
    if (memory > 0) mem = std::max<uint64_t>(kMinMemoryMiB, static_cast<uint64_t>(memory) >> 20);
    if (nanoCpus > 0 || cpuCount > 0) cpus = static_cast<int>(std::max<int64_t>({1, cpuCount, (nanoCpus + 999999999) / 1000000000}));
    if (auto st = co_await pl_.setResources(id, mem, cpus); !st) co_return co_await c.fail(st.error());
    auto now = pl_.find(id);
    if (now && now->status.state == pl::RunState::kRunning) {
      out["Warnings"].push_back("memory and CPU changes apply when the container next starts: a running containerVM keeps what it booted with");
    }
  }
  if (!body->contains("RestartPolicy")) co_return co_await c.json(200, out);
  auto policy = restartPolicyFrom(*body, false);
  if (!policy) co_return co_await c.fail(policy.error());
  if (auto st = co_await pl_.setRestartPolicy(id, *policy); !st) co_return co_await c.fail(st.error());
  co_return co_await c.json(200, out);
}

asio::awaitable<void> DockerApi::remove(Ctx& c, const std::string& id) {
  co_await c.status(co_await pl_.remove(id, c.req.flag("force"), c.req.flag("v")), 204);
}

asio::awaitable<void> DockerApi::wait(Ctx& c, const std::string& id) {
  std::string cond = c.req.param("condition", "not-running");
  pl::WaitCondition wc = cond == "next-exit" ? pl::WaitCondition::kNextExit
                         : cond == "removed" ? pl::WaitCondition::kRemoved
                                             : pl::WaitCondition::kNotRunning;
  if (!co_await c.streamHeader(chunkedHeader(200, "application/json"))) co_return;  // the CLI starts only after this
  auto st = co_await pl_.wait(id, wc);
  nlohmann::json out = st ? nlohmann::json{{"StatusCode", st->exitCode}, {"Error", nullptr}}
                          : nlohmann::json{{"StatusCode", -1}, {"Error", {{"Message", st.error().message()}}}};
  if (st && !st->error.empty()) out["Error"] = {{"Message", st->error}};
  co_await c.s.writeAll(chunk(dumpJson(out) + "\n"));
  co_await c.s.writeAll(kLastChunk);
}

asio::awaitable<void> DockerApi::listContainers(Ctx& c) {
  auto filters = parseFilters(c.req.param("filters"), kContainerFilters);
  if (!filters) co_return co_await c.fail(filters.error());
  auto limit = intParam(c.req, "limit", -1);  // as docker: 0 or less is no limit
  if (!limit) co_return co_await c.fail(limit.error());
  bool all = c.req.flag("all") || filters->contains("status") || filters->contains("exited");
  auto ancestorOf = [&](const std::string& ref, const std::string& imageId) {
    auto img = images_.find(ref);
    return img && img->id == imageId;
  };
  auto list = pl_.list();
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.spec.createdNs > b.spec.createdNs; });
  nlohmann::json out = nlohmann::json::array();
  for (const auto& ci : list) {
    if (*limit > 0 && static_cast<int>(out.size()) >= *limit) break;
    if (!all && ci.status.state != pl::RunState::kRunning && !ci.status.restarting) continue;  // docker's: restarting is running
    if (containerMatches(ci, *filters, ancestorOf)) out.push_back(containerSummary(ci, pl::nowNs(), containerView(ci)));
  }
  co_return co_await c.json(200, out);
}

// docker container prune: every container not running (and matching the filters) is removed,
// as docker rm would; the space is what their disks held.
asio::awaitable<void> DockerApi::pruneContainers(Ctx& c) {
  auto filters = parseFilters(c.req.param("filters"), kContainerPruneFilters);
  if (!filters) co_return co_await c.fail(filters.error());
  auto until = pruneUntil(*filters, pl::nowNs());
  if (!until) co_return co_await c.fail(until.error());
  nlohmann::json deleted = nlohmann::json::array();
  uint64_t reclaimed = 0;
  for (const auto& ci : pl_.list()) {
    if (!containerPrunable(ci, *filters, *until)) continue;
    struct stat st {};
    std::string disk = std::filesystem::path(pl_.logFile(ci.spec.id)).parent_path() / "rw.qcow2";
    uint64_t bytes = ::stat(disk.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
    if (!co_await pl_.remove(ci.spec.id, false, false)) continue;  // started meanwhile: kept, as docker
    deleted.push_back(ci.spec.id);
    reclaimed += bytes;
  }
  pl_.events().publish({"container", "prune", "", {{"reclaimed", std::to_string(reclaimed)}}, pl::nowNs(), 0});
  nlohmann::json out = {{"ContainersDeleted", deleted}, {"SpaceReclaimed", reclaimed}};
  co_return co_await c.json(200, out);
}

// docker diff: the container's changes against its image.
asio::awaitable<void> DockerApi::changes(Ctx& c, const std::string& id) {
  auto d = co_await pl_.diff(id);
  if (!d) co_return co_await c.fail(d.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& ch : *d) out.push_back({{"Path", ch.path}, {"Kind", static_cast<int>(ch.kind)}});
  co_return co_await c.json(200, out);
}

}  // namespace vic::docker
