#include "runtime/vicadmin/model.h"

#include <cstdio>

namespace vic::vicadmin {

namespace {

// The field as a string/number/object, or a default when absent or of another type: the
// endpoint is ours, but a model never throws on a surprise.
std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}
const json& obj(const json& j, const char* key) {
  static const json empty = json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}
const json& arr(const json& j, const char* key) {
  static const json empty = json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

std::string portText(const json& p) {
  std::string priv = std::to_string(num(p, "PrivatePort")) + "/" + str(p, "Type");
  if (num(p, "PublicPort") == 0) return priv;
  std::string ip = str(p, "IP").empty() ? "0.0.0.0" : str(p, "IP");
  return ip + ":" + std::to_string(num(p, "PublicPort")) + "->" + priv;
}

json containerItem(const json& c, const Samples& samples) {
  std::string id = str(c, "Id");
  std::string name;
  for (const auto& n : arr(c, "Names")) {
    if (n.is_string()) name = n.get<std::string>();
  }
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  json ports = json::array(), networks = json::array(), cpu = json::array(), memory = json::array();
  for (const auto& p : arr(c, "Ports")) {
    if (p.is_object()) ports.push_back(portText(p));
  }
  for (const auto& [net, _] : obj(obj(c, "NetworkSettings"), "Networks").items()) networks.push_back(net);
  if (auto it = samples.find(id); it != samples.end()) {
    for (const auto& s : it->second) {
      cpu.push_back(s.cpuPercent);
      memory.push_back(s.memoryBytes);
    }
  }
  return {{"id", id}, {"name", name}, {"image", str(c, "Image")}, {"state", str(c, "State")}, {"status", str(c, "Status")},
          {"created", num(c, "Created")}, {"ports", ports}, {"networks", networks}, {"cpu", cpu}, {"memory", memory}};
}

}  // namespace

json endpointState(const Status& st) {
  if (st) return {{"ok", true}};
  return {{"ok", false}, {"reason", "endpoint is down: " + st.error().message()}};
}

json containersModel(const json& ps, const Samples& samples) {
  json out = json::array();
  if (!ps.is_array()) return out;
  for (const auto& c : ps) {
    if (c.is_object()) out.push_back(containerItem(c, samples));
  }
  return out;
}

json imagesModel(const json& images) {
  json out = json::array();
  if (!images.is_array()) return out;
  for (const auto& i : images) {
    if (!i.is_object()) continue;
    json tags = json::array();
    for (const auto& t : arr(i, "RepoTags")) {
      if (t.is_string()) tags.push_back(t);
    }
    out.push_back({{"id", str(i, "Id")}, {"tags", tags}, {"size", num(i, "Size")}, {"created", num(i, "Created")}});
  }
  return out;
}

json volumesModel(const json& volumes) {
  json out = json::array();
  if (!volumes.is_object()) return out;
  for (const auto& v : arr(volumes, "Volumes")) {
    if (!v.is_object()) continue;
    json labels = json::object();
    for (const auto& [k, val] : obj(v, "Labels").items()) {
      if (val.is_string()) labels[k] = val;
    }
    const json& status = obj(v, "Status");
    out.push_back({{"name", str(v, "Name")}, {"driver", str(v, "Driver")}, {"store", str(status, "VolumeStore")},
                   {"capacity", str(status, "Capacity")}, {"labels", labels}});
  }
  return out;
}

json networksModel(const json& networks) {
  json out = json::array();
  if (!networks.is_array()) return out;
  for (const auto& n : networks) {
    if (!n.is_object()) continue;
    json subnets = json::array(), gateways = json::array();
    for (const auto& c : arr(obj(n, "IPAM"), "Config")) {
      if (!c.is_object()) continue;
      if (!str(c, "Subnet").empty()) subnets.push_back(str(c, "Subnet"));
      if (!str(c, "Gateway").empty()) gateways.push_back(str(c, "Gateway"));
    }
    out.push_back({{"name", str(n, "Name")}, {"id", str(n, "Id")}, {"driver", str(n, "Driver")}, {"subnets", subnets},
                   {"gateways", gateways}});
  }
  return out;
}

json listPage(const Result<json>& items) {
  if (!items) return {{"endpoint", endpointState(items.error())}, {"items", json::array()}};
  return {{"endpoint", endpointState(ok())}, {"items", *items}};
}

std::optional<double> cpuPercent(const json& stats) {
  const json& cur = obj(stats, "cpu_stats");
  const json& pre = obj(stats, "precpu_stats");
  int64_t cpuDelta = num(obj(cur, "cpu_usage"), "total_usage") - num(obj(pre, "cpu_usage"), "total_usage");
  int64_t sysDelta = num(cur, "system_cpu_usage") - num(pre, "system_cpu_usage");
  if (num(pre, "system_cpu_usage") == 0 || sysDelta <= 0 || cpuDelta < 0) return std::nullopt;
  int64_t cpus = num(cur, "online_cpus");
  if (cpus == 0) cpus = static_cast<int64_t>(arr(obj(cur, "cpu_usage"), "percpu_usage").size());
  if (cpus == 0) cpus = 1;
  return static_cast<double>(cpuDelta) / static_cast<double>(sysDelta) * static_cast<double>(cpus) * 100.0;
}

uint64_t memoryUsage(const json& stats) {
  const json& mem = obj(stats, "memory_stats");
  int64_t usage = num(mem, "usage");
  int64_t cache = num(obj(mem, "stats"), "inactive_file");
  return static_cast<uint64_t>(usage > cache ? usage - cache : usage);
}

std::string humanDuration(int64_t s) {
  if (s < 0) s = 0;
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min";
  if (s < 86400) return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
  return std::to_string(s / 86400) + " d " + std::to_string(s % 86400 / 3600) + " h";
}

std::string humanBytes(uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace vic::vicadmin
