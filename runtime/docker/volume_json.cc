#include "runtime/docker/volume_json.h"

#include <set>

#include "runtime/docker/docker_json.h"

namespace vic::docker {

namespace {
json member(const json& j, const char* key) { return j.is_object() && j.contains(key) ? j[key] : json(); }

Error hostDirectory(const std::string& target) {
  return Error(Errc::kInvalidArgument, "bind mounts of host directories are not supported: a containerVM shares no "
                                       "filesystem with its host; use a volume (-v name:" + target + ")");
}

Status checkTarget(const std::string& target) {
  if (target.empty() || target[0] != '/') return Error(Errc::kInvalidArgument, "invalid mount config: the mount destination " + target + " is not an absolute path");
  if (target == "/") return Error(Errc::kInvalidArgument, "invalid mount config: the destination can't be '/'");
  return ok();
}

// "name:/path", "name:/path:ro", "/path" (anonymous through Binds is not docker's, but harmless)
Result<pl::VolumeMount> parseBind(const std::string& b) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= b.size(); ++i) {
    if (i == b.size() || b[i] == ':') {
      parts.push_back(b.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() < 2 || parts.size() > 3) return Error(Errc::kInvalidArgument, "invalid volume specification: '" + b + "'");
  if (!parts[0].empty() && parts[0][0] == '/') return hostDirectory(parts[1]);
  pl::VolumeMount m{parts[0], parts[1], false, false};
  if (parts.size() == 3) {
    std::string mode = parts[2];
    if (mode != "ro" && mode != "rw") return Error(Errc::kInvalidArgument, "invalid mode: " + mode + " (vic supports ro and rw)");
    m.readOnly = mode == "ro";
  }
  if (auto st = checkTarget(m.target); !st) return std::move(st).error();
  return m;
}
}  // namespace

Result<std::vector<pl::VolumeMount>> volumesFromCreate(const json& body, const json& imageConfig) {
  std::vector<pl::VolumeMount> out;
  std::set<std::string> targets;
  auto add = [&](pl::VolumeMount m) -> Status {
    while (m.target.size() > 1 && m.target.back() == '/') m.target.pop_back();
    if (auto st = checkTarget(m.target); !st) return st;
    if (!targets.insert(m.target).second) {
      return Error(Errc::kInvalidArgument, "Duplicate mount point: " + m.target);
    }
    out.push_back(m);
    return ok();
  };
  json host = member(body, "HostConfig");
  json binds = member(host, "Binds");
  if (binds.is_array()) {
    for (const auto& b : binds) {
      if (!b.is_string()) continue;
      auto m = parseBind(b.get<std::string>());
      if (!m) return std::move(m).error();
      if (auto st = add(*m); !st) return std::move(st).error();
    }
  }
  json mounts = member(host, "Mounts");
  if (mounts.is_array()) {
    for (const auto& m : mounts) {
      std::string type = m.value("Type", "volume");
      std::string target = m.value("Target", "");
      if (type == "bind") return hostDirectory(target);
      if (type != "volume") return Error(Errc::kInvalidArgument, "mount type " + type + " is not supported by vic (volume only)");
      std::string name = m.value("Source", "");
      if (auto st = add({name, target, m.value("ReadOnly", false), name.empty()}); !st) return std::move(st).error();
    }
  }
  // anonymous volumes: -v /path, then the image's VOLUMEs where nothing else is mounted
  for (const json* src : {&body, &imageConfig}) {
    json vols = member(*src, "Volumes");
    if (!vols.is_object()) continue;
    for (const auto& [target, unused] : vols.items()) {
      std::string t = target;
      while (t.size() > 1 && t.back() == '/') t.pop_back();
      if (targets.count(t)) continue;
      if (auto st = add({"", t, false, true}); !st) return std::move(st).error();
    }
  }
  return out;
}

Result<pl::VolumeRequest> volumeRequestFromCreate(const json& body) {
  pl::VolumeRequest r;
  if (!body.is_object()) return Error(Errc::kInvalidArgument, "invalid JSON: the request body is not an object");
  r.name = body.value("Name", "");
  std::string driver = body.value("Driver", "");
  if (!driver.empty() && driver != "vsphere" && driver != "local") {
    return Error(Errc::kNotImplemented, "volume driver " + driver + " is not supported by vic (vsphere)");
  }
  json opts = member(body, "DriverOpts");
  if (opts.is_object()) {
    for (const auto& [k, v] : opts.items()) {
      if (v.is_string()) r.opts[k] = v.get<std::string>();
    }
  }
  json labels = member(body, "Labels");
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (v.is_string()) r.labels[k] = v.get<std::string>();
    }
  }
  return r;
}

json volumeJson(const pl::Volume& v, const std::string& disk) {
  return {{"Name", v.name}, {"Driver", "vsphere"}, {"Mountpoint", disk}, {"CreatedAt", rfc3339Nano(v.createdNs / 1000000000 * 1000000000)},
          {"Labels", v.labels}, {"Scope", "local"},
          {"Options", v.opts.empty() ? json(nullptr) : json(v.opts)},  // as asked: docker's, and compose compares them
          {"Status", {{"Capacity", std::to_string(v.capacityMiB) + " MiB"}, {"VolumeStore", v.store}}}};
}

json mountsJson(const pl::ContainerSpec& s, const std::function<std::string(const std::string&)>& disk) {
  json out = json::array();
  for (const auto& m : s.volumes) {
    out.push_back({{"Type", "volume"}, {"Name", m.name}, {"Source", disk(m.name)}, {"Destination", m.target},
                   {"Driver", "vsphere"}, {"Mode", m.readOnly ? "ro" : ""}, {"RW", !m.readOnly}, {"Propagation", ""}});
  }
  return out;
}

}  // namespace vic::docker
