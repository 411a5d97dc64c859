// /networks: list, inspect, create, remove, connect, disconnect, prune.
#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/filters.h"
#include "runtime/docker/network_json.h"

namespace vic::docker {

namespace {
void publishNetworkEvent(pl::EventBus& bus, const std::string& action, const pl::Scope& s) {
  bus.publish({"network", action, s.id, {{"name", s.name}, {"type", "bridge"}}, pl::nowNs(), 0});
}
}  // namespace

asio::awaitable<void> DockerApi::networkRoute(Ctx& c) {
  const std::string& p = c.req.path;
  const std::string& m = c.req.method;
  auto members = [this](const pl::Scope& s) {
    std::vector<ScopeMember> out;
    for (const auto& ci : pl_.list()) {
      for (const auto& ep : ci.spec.networks) {
        if (ep.scope == s.id) out.push_back({ci.spec.id, ci.spec.name, ep});
      }
    }
    return out;
  };
  if (p == "/networks" && m == "GET") {
    auto filters = parseFilters(c.req.param("filters"), kNetworkFilters);
    if (!filters) co_return co_await c.fail(filters.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : pl_.networks().list()) {
      auto on = members(s);
      if (networkMatches(s, *filters, !on.empty())) out.push_back(networkJson(s, on));
    }
    co_return co_await c.json(200, out);
  }
  if (p == "/networks/create" && m == "POST") {
    auto body = c.body();
    if (!body) co_return co_await c.fail(body.error());
    auto req = scopeRequestFromCreate(*body);
    if (!req) co_return co_await c.fail(req.error());
    auto made = co_await pl_.createNetwork(*req);
    if (!made) co_return co_await c.fail(made.error());
    publishNetworkEvent(pl_.events(), "create", *made);
    nlohmann::json reply = {{"Id", made->id}, {"Warning", ""}};
    co_return co_await c.json(201, reply);
  }
  if (p == "/networks/prune" && m == "POST") {  // as dockerd: user networks no container is on
    auto filters = parseFilters(c.req.param("filters"), kNetworkPruneFilters);
    if (!filters) co_return co_await c.fail(filters.error());
    auto until = pruneUntil(*filters, pl::nowNs());
    if (!until) co_return co_await c.fail(until.error());
    nlohmann::json deleted = nlohmann::json::array();
    for (const auto& s : pl_.networks().list()) {
      if (s.builtin || !members(s).empty() || (*until != 0 && s.createdNs > *until)) continue;
      if (!pruneLabelsMatch(s.labels, *filters)) continue;
      if (!co_await pl_.removeNetwork(s.id)) continue;
      deleted.push_back(s.name);
      publishNetworkEvent(pl_.events(), "destroy", s);
    }
    pl_.events().publish({"network", "prune", "", {{"reclaimed", "0"}}, pl::nowNs(), 0});
    nlohmann::json reply = {{"NetworksDeleted", deleted}};
    co_return co_await c.json(200, reply);
  }
  auto route = routeAfter(p, "/networks/");
  std::string op = route && route->rest ? "/" + *route->rest : "";
  if (!route || (!op.empty() && op != "/connect" && op != "/disconnect")) {
    co_return co_await c.fail(Error(Errc::kNotFound, "page not found"));
  }
  auto scope = pl_.networks().find(route->id);
  if (!scope) co_return co_await c.fail(scope.error());
  if (op.empty() && m == "GET") co_return co_await c.json(200, networkJson(*scope, members(*scope)));
  if (op.empty() && m == "DELETE") {
    auto on = members(*scope);
    if (!on.empty() && !scope->builtin) {
      co_return co_await c.fail(Error(Errc::kForbidden, "error while removing network: network " + scope->name + " id " +
                                                            scope->id + " has active endpoints"));
    }
    if (auto st = co_await pl_.removeNetwork(scope->id); !st) co_return co_await c.fail(st.error());
    publishNetworkEvent(pl_.events(), "destroy", *scope);
    co_return co_await c.empty(204);
  }
  if (m == "POST" && (op == "/connect" || op == "/disconnect")) co_return co_await networkConnect(c, *scope, op == "/connect");
  co_return co_await c.fail(Error(Errc::kNotImplemented, m + " " + p + " is not yet supported by vic"));
}

asio::awaitable<void> DockerApi::networkConnect(Ctx& c, const pl::Scope& s, bool connect) {
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  std::string ref = body->value("Container", "");
  auto found = pl_.find(ref);
  if (!found) co_return co_await c.fail(found.error());
  Status st = ok();
  if (connect) {
    nlohmann::json ep = body->value("EndpointConfig", nlohmann::json::object());
    std::string ip;
    if (ep.contains("IPAMConfig") && ep["IPAMConfig"].is_object()) ip = ep["IPAMConfig"].value("IPv4Address", "");
    std::vector<std::string> aliases;
    if (ep.contains("Aliases") && ep["Aliases"].is_array()) aliases = ep["Aliases"].get<std::vector<std::string>>();
    st = co_await pl_.connect(found->spec.id, s.id, ip, aliases);
  } else {
    st = co_await pl_.disconnect(found->spec.id, s.id);
  }
  if (!st) co_return co_await c.fail(st.error());
  co_return co_await c.empty(200);
}

}  // namespace vic::docker
