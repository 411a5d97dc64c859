#include "runtime/docker/network_json.h"

#include <set>

#include "runtime/docker/docker_json.h"
#include "runtime/portlayer/events.h"
#include "runtime/portlayer/port_forward.h"

namespace vic::docker {

namespace {
json fieldOf(const json& j, const char* key) { return j.is_object() && j.contains(key) ? j[key] : json(); }

std::vector<std::string> stringList(const json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& v : j) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

Result<uint16_t> hostPort(const std::string& text) {
  if (text.empty()) return uint16_t{0};
  if (text.find('-') != std::string::npos) return Error(Errc::kInvalidArgument, "port ranges are not supported by vic: " + text);
  if (text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) > 65535) {
    return Error(Errc::kInvalidArgument, "invalid port specification: \"" + text + "\"");
  }
  return static_cast<uint16_t>(std::stoi(text));
}

// "/db:/web/database" (dockerd's own form) or "db:database" or "db" -> "db:database"
std::string normaliseLink(const std::string& link) {
  auto colon = link.find(':');
  std::string name = link.substr(0, colon), alias = colon == std::string::npos ? name : link.substr(colon + 1);
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  if (auto slash = alias.rfind('/'); slash != std::string::npos) alias = alias.substr(slash + 1);
  return name + ":" + alias;
}

Status portsFromCreate(const json& body, const json& host, const json& imageConfig, pl::ContainerSpec& s) {
  std::set<std::string> exposed;
  for (const json* src : {&body, &imageConfig}) {
    json e = fieldOf(*src, "ExposedPorts");
    if (!e.is_object()) continue;
    for (const auto& [k, v] : e.items()) exposed.insert(k.find('/') == std::string::npos ? k + "/tcp" : k);
  }
  json bindings = fieldOf(host, "PortBindings");
  std::set<std::string> bound;
  if (bindings.is_object()) {
    for (const auto& [k, list] : bindings.items()) {
      auto port = pl::parsePortSpec(k);
      if (!port) return std::move(port).error();
      std::string key = std::to_string(port->containerPort) + "/" + port->proto;
      exposed.insert(key);
      bound.insert(key);
      for (const auto& b : list.is_array() ? list : json::array({json::object()})) {
        pl::PortBinding pb = *port;
        pb.hostIp = b.value("HostIp", "");
        if (pb.hostIp == "0.0.0.0") pb.hostIp = "";
        if (!pb.hostIp.empty() && !parseIp(pb.hostIp)) return Error(Errc::kInvalidArgument, "invalid IP address: " + pb.hostIp);
        auto hp = hostPort(b.value("HostPort", ""));
        if (!hp) return std::move(hp).error();
        pb.hostPort = *hp;
        s.ports.push_back(pb);
      }
    }
  }
  json publishAll = fieldOf(host, "PublishAllPorts");
  if (publishAll.is_boolean() && publishAll.get<bool>()) {
    for (const auto& key : exposed) {
      if (bound.contains(key)) continue;
      auto port = pl::parsePortSpec(key);
      if (!port) return std::move(port).error();
      s.ports.push_back(*port);
    }
  }
  s.exposed.assign(exposed.begin(), exposed.end());
  return ok();
}
}  // namespace

Status networkingFromCreate(const json& body, const json& imageConfig, pl::ContainerSpec& s) {
  json host = fieldOf(body, "HostConfig");
  json modeJ = fieldOf(host, "NetworkMode");
  std::string mode = modeJ.is_string() && !modeJ.get<std::string>().empty() ? modeJ.get<std::string>() : "default";
  if (mode == "host") return Error(Errc::kInvalidArgument, "--network=host is not supported by vic: every containerVM has its own network stack");
  if (mode.rfind("container:", 0) == 0) return Error(Errc::kInvalidArgument, "--network=container:<name> is not supported by vic: containerVMs share no network stack");
  s.networkMode = mode;
  if (auto st = portsFromCreate(body, host, imageConfig, s); !st) return st;
  for (const auto& l : stringList(fieldOf(host, "Links"))) s.links.push_back(normaliseLink(l));
  for (const auto& d : stringList(fieldOf(host, "Dns"))) {
    if (!parseIp(d)) return Error(Errc::kInvalidArgument, "invalid IP address: " + d);
    s.config.dns.push_back(d);
  }
  for (const auto& h : stringList(fieldOf(host, "ExtraHosts"))) {
    auto colon = h.find(':');  // docker's "host:ip" (also "host=ip")
    if (colon == std::string::npos) colon = h.find('=');
    if (colon == std::string::npos || !parseIp(h.substr(colon + 1))) return Error(Errc::kInvalidArgument, "invalid IP address in add-host: \"" + h + "\"");
    s.config.extraHosts.push_back(h.substr(0, colon) + ":" + h.substr(colon + 1));
  }
  if (mode == "none") {
    if (!s.ports.empty()) return Error(Errc::kInvalidArgument, "conflicting options: port publishing and the container type network mode");
    return ok();
  }
  json endpoints = fieldOf(fieldOf(body, "NetworkingConfig"), "EndpointsConfig");
  std::string primary = mode == "default" ? "bridge" : mode;
  pl::NetworkEndpoint ep{primary, "", "", {}};
  if (endpoints.is_object()) {
    for (const auto& [key, cfg] : endpoints.items()) {
      std::string name = key == "default" ? "bridge" : key;  // the CLI names the default network "default"
      pl::NetworkEndpoint e{name, "", "", stringList(fieldOf(cfg, "Aliases"))};
      json ipam = fieldOf(cfg, "IPAMConfig");
      if (ipam.is_object() && ipam.value("IPv4Address", "") != "") e.ip = ipam["IPv4Address"].get<std::string>();
      if (name == primary) ep = e;
      else s.networks.push_back(e);
    }
  }
  s.networks.insert(s.networks.begin(), ep);
  return ok();
}

namespace {
std::string hostIpOf(const pl::PortBinding& b) { return b.hostIp.empty() ? "0.0.0.0" : b.hostIp; }

json endpointJson(const AttachedNetwork& a, const pl::ContainerSpec& s, bool shortIdAlias) {
  std::vector<std::string> names{s.name};
  for (const auto& al : a.endpoint.aliases) names.push_back(al);
  names.push_back(s.id.substr(0, 12));
  std::vector<std::string> aliases = a.endpoint.aliases;
  if (shortIdAlias && !a.scope.builtin) aliases.push_back(s.id.substr(0, 12));
  return {{"IPAMConfig", nullptr}, {"Links", nullptr},
          {"Aliases", aliases.empty() ? json(nullptr) : json(aliases)},
          {"MacAddress", a.endpoint.mac}, {"DriverOpts", nullptr}, {"GwPriority", 0}, {"NetworkID", a.scope.id},
          {"EndpointID", a.scope.id.substr(0, 32) + s.id.substr(0, 32)}, {"Gateway", ipString(a.scope.gateway)},
          {"IPAddress", a.endpoint.ip}, {"IPPrefixLen", a.scope.subnet.prefix}, {"IPv6Gateway", ""},
          {"GlobalIPv6Address", ""}, {"GlobalIPv6PrefixLen", 0}, {"DNSNames", names}};
}
}  // namespace

json networkSettings(const pl::ContainerSpec& s, const ContainerView& v) {
  json ports = json::object();
  if (!v.published.empty() || !v.networks.empty()) {
    for (const auto& e : s.exposed) ports[e] = nullptr;
    for (const auto& b : v.published) {
      std::string key = std::to_string(b.containerPort) + "/" + b.proto;
      if (!ports[key].is_array()) ports[key] = json::array();
      ports[key].push_back({{"HostIp", hostIpOf(b)}, {"HostPort", std::to_string(b.hostPort)}});
    }
  }
  json nets = json::object();
  for (const auto& a : v.networks) nets[a.scope.name] = endpointJson(a, s, v.shortIdAlias);
  json out = {{"Bridge", ""}, {"SandboxID", ""}, {"SandboxKey", ""}, {"Ports", ports}, {"HairpinMode", false},
              {"LinkLocalIPv6Address", ""}, {"LinkLocalIPv6PrefixLen", 0}, {"SecondaryIPAddresses", nullptr},
              {"SecondaryIPv6Addresses", nullptr}, {"EndpointID", ""}, {"Gateway", ""}, {"GlobalIPv6Address", ""},
              {"GlobalIPv6PrefixLen", 0}, {"IPAddress", ""}, {"IPPrefixLen", 0}, {"IPv6Gateway", ""}, {"MacAddress", ""},
              {"Networks", nets}};
  if (!v.networks.empty()) {  // the primary network's address at the top, where older tools look
    const auto& p = v.networks[0];
    out["Gateway"] = ipString(p.scope.gateway);
    out["IPAddress"] = p.endpoint.ip;
    out["IPPrefixLen"] = p.scope.subnet.prefix;
    out["MacAddress"] = p.endpoint.mac;
    out["EndpointID"] = nets[p.scope.name]["EndpointID"];
  }
  return out;
}

json portSummaries(const pl::ContainerSpec& s, const ContainerView& v) {
  json out = json::array();
  std::set<std::string> shown;
  for (const auto& b : v.published) {
    out.push_back({{"IP", hostIpOf(b)}, {"PrivatePort", b.containerPort}, {"PublicPort", b.hostPort}, {"Type", b.proto}});
    shown.insert(std::to_string(b.containerPort) + "/" + b.proto);
  }
  for (const auto& e : s.exposed) {
    if (shown.contains(e)) continue;
    auto p = pl::parsePortSpec(e);
    if (p) out.push_back({{"PrivatePort", p->containerPort}, {"Type", p->proto}});
  }
  return out;
}

json summaryNetworks(const ContainerView& v) {
  json nets = json::object();
  for (const auto& a : v.networks) {
    nets[a.scope.name] = {{"NetworkID", a.scope.id}, {"IPAddress", a.endpoint.ip}, {"Gateway", ipString(a.scope.gateway)},
                          {"IPPrefixLen", a.scope.subnet.prefix}, {"MacAddress", a.endpoint.mac}};
  }
  return nets;
}

Result<pl::ScopeRequest> scopeRequestFromCreate(const json& body) {
  if (!body.is_object() || !body.contains("Name") || !body["Name"].is_string() || body["Name"].get<std::string>().empty()) {
    return Error(Errc::kInvalidArgument, "network name is required");
  }
  pl::ScopeRequest r;
  r.name = body["Name"].get<std::string>();
  std::string driver = body.value("Driver", "bridge");
  if (!driver.empty() && driver != "bridge") {
    return Error(Errc::kNotImplemented, "network driver " + driver + " is not supported by vic (only bridge)");
  }
  if (body.value("EnableIPv6", false)) return Error(Errc::kNotImplemented, "IPv6 networks are not supported by vic");
  r.internal = body.value("Internal", false);
  if (body.contains("Labels") && body["Labels"].is_object()) r.labels = body["Labels"].get<std::map<std::string, std::string>>();
  json configs = fieldOf(fieldOf(body, "IPAM"), "Config");
  if (configs.is_array() && configs.size() > 1) return Error(Errc::kNotImplemented, "vic networks have one subnet");
  if (configs.is_array() && configs.size() == 1) {
    const json& c = configs[0];
    r.subnet = c.value("Subnet", "");
    r.gateway = c.value("Gateway", "");
    r.ipRange = c.value("IPRange", "");
  }
  return r;
}

json networkJson(const pl::Scope& s, const std::vector<ScopeMember>& containers) {
  json config = {{"Subnet", s.subnet.str()}, {"Gateway", ipString(s.gateway)}};
  if (s.pool.str() != s.subnet.str()) config["IPRange"] = s.pool.str();
  json members = json::object();
  for (const auto& m : containers) {
    members[m.id] = {{"Name", m.name}, {"EndpointID", s.id.substr(0, 32) + m.id.substr(0, 32)}, {"MacAddress", m.endpoint.mac},
                     {"IPv4Address", m.endpoint.ip + "/" + std::to_string(s.subnet.prefix)}, {"IPv6Address", ""}};
  }
  return {{"Name", s.name}, {"Id", s.id}, {"Created", rfc3339Nano(s.createdNs)},
          {"Scope", "local"}, {"Driver", s.kind == "external" ? "external" : "bridge"}, {"EnableIPv4", true}, {"EnableIPv6", false},
          {"IPAM", {{"Driver", "default"}, {"Options", nullptr}, {"Config", json::array({config})}}},
          {"Internal", s.internal}, {"Attachable", false}, {"Ingress", false}, {"ConfigFrom", {{"Network", ""}}},
          {"ConfigOnly", false}, {"Containers", members}, {"Options", json::object()}, {"Labels", s.labels}};
}

}  // namespace vic::docker
