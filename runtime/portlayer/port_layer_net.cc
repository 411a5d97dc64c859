// The port layer's networking: addresses at create, the tether's network configuration,
// published ports and DNS names while a container runs, network connect/disconnect.
#include <filesystem>

#include "common/log.h"
#include "runtime/portlayer/port_layer.h"
#include "runtime/portlayer/port_layer_keys.h"

namespace vic::pl {

using vsock::Request;

namespace {
constexpr const char* kPortsKey = "vic.ports";  // the host ports a running container got
}  // namespace

std::set<uint32_t> PortLayer::usedAddresses(const std::string& scope) const {
  std::set<uint32_t> used;
  for (const auto* table : {&specs_, &creating_}) {
    for (const auto& [id, s] : *table) {
      for (const auto& n : s.networks) {
        if (n.scope != scope) continue;
        if (auto ip = parseIp(n.ip)) used.insert(*ip);
      }
    }
  }
  return used;
}

Status PortLayer::assignAddress(NetworkEndpoint& ep, const std::string& requestedIp) const {
  const Scope* s = nets_.byId(ep.scope);
  if (!s) return Error(Errc::kNotFound, "network " + ep.scope + " not found");
  if (!requestedIp.empty() && s->id == nets_.defaultScope()) {
    return Error(Errc::kInvalidArgument, "user specified IP address is supported on user defined networks only");
  }
  auto ip = pickAddress(*s, requestedIp, usedAddresses(ep.scope));
  if (!ip) return std::move(ip).error();
  ep.ip = ipString(*ip);
  ep.mac = macFor(*ip);
  return ok();
}

Status PortLayer::assignAddresses(ContainerSpec& spec) const {
  std::set<std::string> seen;
  for (auto& ep : spec.networks) {
    if (!seen.insert(ep.scope).second) return Error(Errc::kConflict, "container is already connected to network " + ep.scope);
    std::string requested = ep.ip;
    if (auto st = assignAddress(ep, requested); !st) return st;
  }
  return ok();
}

void PortLayer::fillNetworkConfig(const ContainerSpec& spec, vsock::ContainerConfig& cfg) const {
  cfg.networks.clear();
  bool first = true;
  std::vector<std::string> dns;
  for (const auto& ep : spec.networks) {
    const Scope* s = nets_.byId(ep.scope);
    if (!s) continue;
    vsock::NetworkInterface nic;
    nic.mac = ep.mac;
    nic.name = "eth" + std::to_string(cfg.networks.size());
    nic.addresses = {ep.ip + "/" + std::to_string(s->subnet.prefix)};
    if (first) nic.gateway = ipString(s->gateway);  // the primary network carries the default route
    for (const auto& server : s->dns.empty() ? std::vector<std::string>{ipString(s->gateway)} : s->dns) {
      if (std::find(dns.begin(), dns.end(), server) == dns.end()) dns.push_back(server);
    }
    first = false;
    cfg.networks.push_back(nic);
  }
  // --dns wins; else tether's resolver asks each network's DNS (the names of its containers)
  if (cfg.dns.empty() && !dns.empty()) {
    cfg.dns = dns;
    cfg.embeddedDns = true;
  }
  // links: the alias names the linked container's address on a network both share
  for (const auto& link : spec.links) {
    auto colon = link.find(':');
    std::string target = link.substr(0, colon), alias = colon == std::string::npos ? target : link.substr(colon + 1);
    for (const auto& [id, other] : specs_) {
      if (other.name != target) continue;
      for (const auto& theirs : other.networks) {
        for (const auto& mine : spec.networks) {
          if (theirs.scope == mine.scope) cfg.extraHosts.push_back(alias + ":" + theirs.ip);
        }
      }
    }
  }
}

std::vector<std::string> PortLayer::dnsNames(const ContainerSpec& spec, const NetworkEndpoint& ep) {
  std::vector<std::string> names{spec.name};
  for (const auto& a : ep.aliases) names.push_back(a);
  if (!spec.config.hostname.empty() && spec.config.hostname != spec.name) names.push_back(spec.config.hostname);
  if (spec.config.hostname != shortId(spec.id)) names.push_back(shortId(spec.id));
  return names;
}

// The scopes' DNS servers learn (or forget) the container's names while it runs.
void PortLayer::announce(const ContainerSpec& spec, bool up) {
  for (const auto& ep : spec.networks) {
    const Scope* s = nets_.byId(ep.scope);
    if (!s || s->kind == "external") continue;  // an external network's DNS is not ours
    hv::HostEntry e{"", ep.ip, dnsNames(spec, ep)};
    onHost([this, up, e, pg = s->portGroup, what = "DNS names of " + spec.name + " on " + s->name] {
      auto st = up ? hv_.setHostEntry(pg, e) : hv_.removeHostEntry(pg, e);
      if (!st && (up || st.error().code() != Errc::kNotFound)) log::warn("portlayer", what + ": " + st.error().message());
    });
  }
}

void PortLayer::onHost(std::function<void()> update) { asio::post(hostUpdates_, std::move(update)); }

asio::awaitable<void> PortLayer::syncHost() {
  auto done = []() -> asio::awaitable<void> { co_return; };
  co_await asio::co_spawn(hostUpdates_, done, asio::use_awaitable);
}

Result<std::vector<PortBinding>> PortLayer::reservePorts(const ContainerSpec& spec) {
  if (spec.ports.empty()) return std::vector<PortBinding>{};
  if (spec.networks.empty()) return Error(Errc::kInvalidArgument, "ports cannot be published on a container without a network");
  const Scope* s = nets_.byId(spec.networks[0].scope);
  if (s && s->internal) return Error(Errc::kInvalidArgument, "ports cannot be published on internal network " + s->name);
  return forwarder_.reserve(spec.id, spec.name, spec.ports);
}

// Rebuilds the VCH's forwarding rules from the containers that run now.
void PortLayer::refreshForwards() {
  std::vector<Forward> all;
  for (const auto& [id, ports] : published_) {
    auto it = specs_.find(id);
    if (it == specs_.end() || it->second.networks.empty()) continue;
    const auto& ep = it->second.networks[0];
    const Scope* s = nets_.byId(ep.scope);
    if (!s) continue;
    for (const auto& p : ports) all.push_back({p, ep.ip, s->bridge, s->subnet});
  }
  onHost([this, all] {
    if (auto st = firewall_.apply(all); !st) log::warn("portlayer", "port forwarding: " + st.error().message());
  });
}

asio::awaitable<Status> PortLayer::publish(const std::string& id) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  auto got = reservePorts(*spec);
  if (!got) co_return std::move(got).error();
  if (got->empty() && !spec->annotations.count(kPortsKey)) co_return ok();
  std::map<std::string, std::string> ports{{kPortsKey, encodePorts(*got)}};  // no braced list in co_await (GCC 12)
  if (auto st = co_await setAnnotations(id, ports); !st) {
    forwarder_.release(id);
    co_return st;
  }
  if (!got->empty()) published_[id] = *got;
  co_return ok();
}

void PortLayer::networkUp(const std::string& id) {
  auto spec = specOf(id);
  if (!spec) return;
  announced_.insert(id);
  announce(*spec, true);
  if (published_.count(id)) refreshForwards();
}

void PortLayer::networkDown(const std::string& id) {
  auto spec = specOf(id);
  if (spec && announced_.erase(id)) announce(*spec, false);  // once: a removal also sees the stop event
  forwarder_.release(id);
  if (published_.erase(id)) refreshForwards();
}

// After an endpoint restart: a running container gets its host ports, rules and names back.
void PortLayer::restoreNetwork(const ContainerSpec& spec) {
  auto it = spec.annotations.find(kPortsKey);
  auto ports = it == spec.annotations.end() ? std::vector<PortBinding>{} : decodePorts(it->second);
  if (!ports.empty()) {
    auto held = forwarder_.reserve(spec.id, spec.name, ports);
    if (!held) log::warn("portlayer", "host ports of " + spec.name + ": " + held.error().message());
    published_[spec.id] = ports;  // the rules still matter even if a port could not be held
  }
  announced_.insert(spec.id);
  announce(spec, true);
}

std::vector<PortBinding> PortLayer::publishedPorts(const std::string& id) const {
  auto it = published_.find(id);
  return it == published_.end() ? std::vector<PortBinding>{} : it->second;
}

asio::awaitable<Status> PortLayer::connect(const std::string& id, const std::string& scope, const std::string& ip,
                                           const std::vector<std::string>& aliases) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  const Scope* s = nets_.byId(scope);
  if (!s) co_return Error(Errc::kNotFound, "network " + scope + " not found");
  for (const auto& ep : spec->networks) {
    if (ep.scope == scope) co_return Error(Errc::kForbidden, "endpoint with name " + spec->name + " already exists in network " + s->name);
  }
  NetworkEndpoint ep{scope, "", "", aliases};
  if (auto st = assignAddress(ep, ip); !st) co_return st;
  bool running = statusOf(*spec).state == RunState::kRunning;
  std::string vm = vmName(id);
  spec->networks.push_back(ep);
  if (!running) {  // defined anew: its first NIC where an instant clone template has it
    if (auto st = co_await redefine(*spec); !st) co_return st;
    events_.publish({"network", "connect", scope, {{"name", s->name}, {"type", "bridge"}, {"container", id}}, nowNs(), 0});
    co_return ok();
  }
  hv::NicSpec nic{s->portGroup, ep.mac};
  auto plug = [this, vm, nic] { return hv_.attachNic(vm, nic); };
  if (auto st = co_await offload(plug); !st) co_return st;
  auto unplug = [this, vm, mac = ep.mac] { (void)hv_.detachNic(vm, mac); return ok(); };
  if (auto st = co_await saveSpec(*spec); !st) {
    co_await offload(unplug);
    co_return st;
  }
  if (running) {  // tether configures the new NIC once it shows up in the guest
    auto conn = co_await connection(id);
    if (!conn) co_return std::move(conn).error().wrap("configuring the new network of " + spec->name);
    Request configure = vsock::Configure{tetherConfig(*spec, false)};
    auto r = co_await (*conn)->call(configure);
    if (!r) co_return std::move(r).error().wrap("configuring the new network of " + spec->name);
    announce(*spec, true);
    co_await syncHost();
  }
  events_.publish({"network", "connect", scope, {{"name", s->name}, {"type", "bridge"}, {"container", id}}, nowNs(), 0});
  co_return ok();
}

asio::awaitable<Status> PortLayer::disconnect(const std::string& id, const std::string& scope) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  const Scope* s = nets_.byId(scope);
  auto it = std::find_if(spec->networks.begin(), spec->networks.end(), [&](const auto& ep) { return ep.scope == scope; });
  if (it == spec->networks.end()) {
    co_return Error(Errc::kForbidden, "container " + shortId(id) + " is not connected to network " + (s ? s->name : scope));
  }
  bool running = statusOf(*spec).state == RunState::kRunning;
  if (running && it == spec->networks.begin() && published_.count(id)) {
    co_return Error(Errc::kConflict, "container " + spec->name + " publishes ports on network " + (s ? s->name : scope) + ": stop it first");
  }
  if (!running) {  // defined anew: a NIC left behind moves to the first NIC's place
    spec->networks.erase(it);
    if (auto st = co_await redefine(*spec); !st) co_return st;
    events_.publish({"network", "disconnect", scope, {{"name", s ? s->name : scope}, {"type", "bridge"}, {"container", id}}, nowNs(), 0});
    co_return ok();
  }
  announce(*spec, false);
  std::string vm = vmName(id), mac = it->mac;
  auto unplug = [this, vm, mac] { return hv_.detachNic(vm, mac); };
  if (auto st = co_await offload(unplug); !st && st.error().code() != Errc::kNotFound) co_return st;
  spec->networks.erase(it);
  if (auto st = co_await saveSpec(*spec); !st) co_return st;
  announce(*spec, true);
  co_await syncHost();
  events_.publish({"network", "disconnect", scope, {{"name", s ? s->name : scope}, {"type", "bridge"}, {"container", id}}, nowNs(), 0});
  co_return ok();
}

asio::awaitable<Result<Scope>> PortLayer::createNetwork(const ScopeRequest& r) {
  auto s = nets_.plan(r);
  if (!s) co_return s;
  for (const auto& other : nets_.list()) {  // another create may have finished meanwhile
    if (other.name == s->name) co_return Error(Errc::kConflict, "network with name " + s->name + " already exists");
  }
  auto provision = [this, scope = *s] { return nets_.provision(scope); };
  if (auto st = co_await offload(provision); !st) co_return std::move(st).error();
  nets_.add(*s);
  co_return s;
}

asio::awaitable<Status> PortLayer::removeNetwork(const std::string& id) {
  auto s = nets_.removable(id);
  if (!s) co_return std::move(s).error();
  auto unprovision = [this, scope = *s] { return nets_.unprovision(scope); };
  if (auto st = co_await offload(unprovision); !st) co_return st;
  nets_.forget(id);
  co_return ok();
}

}  // namespace vic::pl
