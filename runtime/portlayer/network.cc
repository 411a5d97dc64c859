#include "runtime/portlayer/network.h"

#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime/portlayer/container.h"
#include "runtime/portlayer/events.h"

namespace vic::pl {
namespace fs = std::filesystem;
using nlohmann::json;

std::string encodeScope(const Scope& s) {
  json j = {{"id", s.id}, {"name", s.name}, {"kind", s.kind}, {"subnet", s.subnet.str()},
            {"gateway", ipString(s.gateway)}, {"pool", s.pool.str()}, {"internal", s.internal},
            {"builtin", s.builtin}, {"portGroup", s.portGroup}, {"bridge", s.bridge}, {"dns", s.dns},
            {"labels", s.labels}, {"createdNs", s.createdNs}};
  return j.dump();
}

Result<Scope> decodeScope(const std::string& text) {
  auto parsed = parseJsonObject(text, "network record");
  if (!parsed) return std::move(parsed).error();
  json& j = *parsed;
  Scope s;
  try {
    s.id = j.at("id").get<std::string>();
    s.name = j.at("name").get<std::string>();
    s.kind = j.value("kind", "bridge");
    auto subnet = parseCidr(j.at("subnet").get<std::string>());
    auto pool = parseCidr(j.value("pool", j.at("subnet").get<std::string>()));
    auto gw = parseIp(j.at("gateway").get<std::string>());
    if (!subnet || !pool || !gw) return Error(Errc::kInvalidArgument, "network record " + s.name + ": bad address");
    s.subnet = *subnet;
    s.pool = *pool;
    s.gateway = *gw;
    s.internal = j.value("internal", false);
    s.builtin = j.value("builtin", false);
    s.portGroup = j.value("portGroup", "");
    s.bridge = j.value("bridge", "");
    s.dns = j.value("dns", std::vector<std::string>{});
    s.labels = j.value("labels", std::map<std::string, std::string>{});
    s.createdNs = j.value("createdNs", int64_t{0});
  } catch (const json::exception& e) {
    return Error(Errc::kInvalidArgument, std::string("network record: ") + e.what());
  }
  return s;
}

Result<uint32_t> pickAddress(const Scope& s, const std::string& requested, const std::set<uint32_t>& used) {
  uint32_t broadcast = s.subnet.base + s.subnet.size() - 1;
  auto usable = [&](uint32_t a) { return a != s.subnet.base && a != broadcast && a != s.gateway && !used.contains(a); };
  if (!requested.empty()) {
    auto ip = parseIp(requested);
    if (!ip) return std::move(ip).error();
    if (!s.subnet.contains(*ip)) {
      return Error(Errc::kInvalidArgument, "Invalid address " + requested + ": It does not belong to any of this network's subnets");
    }
    if (!usable(*ip)) return Error(Errc::kConflict, "Address already in use: " + requested + " on network " + s.name);
    return *ip;
  }
  for (uint64_t a = s.pool.base; a < uint64_t{s.pool.base} + s.pool.size(); ++a) {
    if (s.subnet.contains(static_cast<uint32_t>(a)) && usable(static_cast<uint32_t>(a))) return static_cast<uint32_t>(a);
  }
  return Error(Errc::kUnavailable, "no available IPv4 addresses on this network's address pools: " + s.name);
}

std::string macFor(uint32_t ip) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "02:42:%02x:%02x:%02x:%02x", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
  return buf;
}

namespace {
Result<Cidr> optionalCidr(const std::string& text, const Cidr& fallback, const std::string& what) {
  if (text.empty()) return fallback;
  auto c = parseCidr(text);
  if (!c) return Error(Errc::kInvalidArgument, "invalid " + what + " " + text);
  return *c;
}
}  // namespace

Result<Scope> planScope(const ScopeRequest& r, const std::vector<Scope>& existing, const std::vector<Cidr>& hostRanges) {
  if (r.name == "host" || r.name == "none") {
    return Error(Errc::kForbidden, "operation is not permitted on predefined " + r.name + " network ");
  }
  bool nameOk = r.name.size() == 1 ? std::isalnum(static_cast<unsigned char>(r.name[0])) != 0 : validName(r.name);
  if (!nameOk) return Error(Errc::kInvalidArgument, "invalid network name \"" + r.name + "\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  for (const auto& s : existing) {
    if (s.name == r.name) return Error(Errc::kConflict, "network with name " + r.name + " already exists");
  }
  std::vector<Cidr> taken = hostRanges;
  for (const auto& s : existing) taken.push_back(s.subnet);
  Scope s;
  s.name = r.name;
  s.internal = r.internal;
  s.labels = r.labels;
  if (r.subnet.empty()) {
    if (!r.gateway.empty() || !r.ipRange.empty()) return Error(Errc::kInvalidArgument, "--gateway and --ip-range need --subnet");
    auto free = pickFreeRange(taken);
    if (!free) return Error(Errc::kUnavailable, "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
    s.subnet = *free;
  } else {
    auto c = parseCidr(r.subnet);
    if (!c) return Error(Errc::kInvalidArgument, "invalid subnet " + r.subnet + ": it must be CIDR, e.g. 10.5.0.0/24");
    if (c->prefix < 8 || c->prefix > 29) return Error(Errc::kInvalidArgument, "subnet " + r.subnet + ": the prefix must be between /8 and /29");
    for (const auto& t : taken) {
      if (t.overlaps(*c)) return Error(Errc::kConflict, "invalid pool request: Pool overlaps with other one on this address space");
    }
    s.subnet = *c;
  }
  auto pool = optionalCidr(r.ipRange, s.subnet, "ip-range");
  if (!pool) return std::move(pool).error();
  if (pool->prefix < s.subnet.prefix || !s.subnet.contains(pool->base)) {
    return Error(Errc::kInvalidArgument, "ip-range " + r.ipRange + " is not inside subnet " + s.subnet.str());
  }
  s.pool = *pool;
  s.gateway = s.subnet.base + 1;
  if (!r.gateway.empty()) {
    auto gw = parseIp(r.gateway);
    if (!gw) return std::move(gw).error();
    if (!s.subnet.contains(*gw)) return Error(Errc::kInvalidArgument, "no matching subnet for gateway " + r.gateway);
    s.gateway = *gw;
  }
  return s;
}

std::string scopeIdFor(const std::string& vch, const std::string& name) {
  // stable, 64 hex: two 64-bit hashes of different salts, repeated
  char buf[65];
  uint64_t a = std::hash<std::string>{}("vic-scope/" + vch + "/" + name);
  uint64_t b = std::hash<std::string>{}(name + "/" + vch + "/vic-scope");
  std::snprintf(buf, sizeof buf, "%016llx%016llx%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b), static_cast<unsigned long long>(a ^ b),
                static_cast<unsigned long long>(a + b));
  return buf;
}

Networks::Networks(hv::Hypervisor& hv, std::string vch, std::string stateDir)
    : hv_(hv), vch_(std::move(vch)), dir_(std::move(stateDir)) {}

Status Networks::ensurePortGroup(const Scope& s) {
  auto groups = hv_.listPortGroups();
  if (groups && std::find(groups->begin(), groups->end(), s.portGroup) != groups->end()) return ok();
  hv::PortGroupSpec pg{s.portGroup, s.bridge, ipString(s.gateway) + "/" + std::to_string(s.subnet.prefix), "", "", !s.internal,
                       s.kind == "external"};
  return hv_.createPortGroup(pg);
}

Status Networks::addBuiltin(Scope s) {
  s.builtin = true;
  if (s.id.empty()) s.id = scopeIdFor(vch_, s.name);
  if (auto st = ensurePortGroup(s); !st) return st.error().wrap("network " + s.name);
  if (s.name == "bridge") defaultId_ = s.id;
  scopes_[s.id] = std::move(s);
  return ok();
}

Status Networks::load() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    if (f.path().extension() != ".json") {
      fs::remove(f.path(), ec);  // a half-written record
      continue;
    }
    auto s = decodeScope(readFile(f.path().string()));
    if (!s) {
      log::warn("network", "skipping " + f.path().string() + ": " + s.error().message());
      continue;
    }
    if (auto st = ensurePortGroup(*s); !st) log::warn("network", "network " + s->name + ": " + st.error().message());
    scopes_[s->id] = *s;
  }
  return ok();
}

Result<Scope> Networks::plan(const ScopeRequest& r) const {
  std::vector<Cidr> host;
  for (const auto& a : hostAddresses()) host.push_back(a.net);
  auto s = planScope(r, list(), host);
  if (!s) return s;
  s->id = newContainerId();
  s->portGroup = vch_ + "-net-" + s->id.substr(0, 12);
  s->bridge = "vicn" + s->id.substr(0, 11);  // at most 15 characters
  s->createdNs = nowNs();
  return s;
}

Status Networks::provision(const Scope& s) {
  if (auto st = ensurePortGroup(s); !st) return std::move(st).error().wrap("creating network " + s.name);
  if (auto st = writeFileAtomically(dir_ + "/" + s.id + ".json", encodeScope(s)); !st) {
    (void)hv_.deletePortGroup(s.portGroup);
    return st;
  }
  return ok();
}

void Networks::add(const Scope& s) { scopes_[s.id] = s; }

Result<Scope> Networks::create(const ScopeRequest& r) {
  auto s = plan(r);
  if (!s) return s;
  if (auto st = provision(*s); !st) return std::move(st).error();
  add(*s);
  return s;
}

Result<Scope> Networks::removable(const std::string& id) const {
  auto it = scopes_.find(id);
  if (it == scopes_.end()) return Error(Errc::kNotFound, "network " + id + " not found");
  if (it->second.builtin) {
    return Error(Errc::kForbidden, it->second.name + " is a pre-defined network and cannot be removed");
  }
  return it->second;
}

Status Networks::unprovision(const Scope& s) {
  if (auto st = hv_.deletePortGroup(s.portGroup); !st && st.error().code() != Errc::kNotFound) return st;
  std::error_code ec;
  fs::remove(dir_ + "/" + s.id + ".json", ec);
  return ok();
}

void Networks::forget(const std::string& id) { scopes_.erase(id); }

Status Networks::remove(const std::string& id) {
  auto s = removable(id);
  if (!s) return std::move(s).error();
  if (auto st = unprovision(*s); !st) return st;
  forget(id);
  return ok();
}

Result<Scope> Networks::find(const std::string& ref) const {
  if (auto it = scopes_.find(ref); it != scopes_.end()) return it->second;
  for (const auto& [id, s] : scopes_) {
    if (s.name == ref) return s;
  }
  const Scope* hit = nullptr;
  for (const auto& [id, s] : scopes_) {
    if (!ref.empty() && id.rfind(ref, 0) == 0) {
      if (hit) return Error(Errc::kInvalidArgument, "network " + ref + " is ambiguous (multiple networks match this id prefix)");
      hit = &s;
    }
  }
  if (!hit) return Error(Errc::kNotFound, "network " + ref + " not found");
  return *hit;
}

std::vector<Scope> Networks::list() const {
  std::vector<Scope> out;
  for (const auto& [id, s] : scopes_) out.push_back(s);
  return out;
}

const Scope* Networks::byId(const std::string& id) const {
  auto it = scopes_.find(id);
  return it == scopes_.end() ? nullptr : &it->second;
}

}  // namespace vic::pl
