#include "runtime/docker/docker_json.h"

#include "runtime/docker/volume_json.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>

#include "common/json.h"
#include "images/auth.h"
#include "images/reference.h"
#include "runtime/docker/json_fields.h"
#include "runtime/portlayer/health.h"

namespace vic::docker {

std::string rfc3339Nano(int64_t ns) {
  if (ns <= 0) return "0001-01-01T00:00:00Z";
  time_t secs = static_cast<time_t>(ns / 1000000000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  int64_t frac = ns % 1000000000;
  if (frac) {
    char f[16];
    std::snprintf(f, sizeof f, ".%09lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out + "Z";
}

std::string humanDuration(int64_t s) {
  auto plural = [](int64_t n, const char* unit) { return std::to_string(n) + " " + unit + (n == 1 ? "" : "s"); };
  if (s < 1) return "Less than a second";
  if (s == 1) return "1 second";
  if (s < 60) return plural(s, "second");
  int64_t m = s / 60;
  if (m == 1) return "About a minute";
  if (m < 60) return plural(m, "minute");
  int64_t h = m / 60;
  if (h == 1) return "About an hour";
  if (h < 48) return plural(h, "hour");
  if (h < 24 * 7 * 2) return plural(h / 24, "day");
  if (h < 24 * 30 * 2) return plural(h / 24 / 7, "week");
  if (h < 24 * 365 * 2) return plural(h / 24 / 30, "month");
  return plural(h / 24 / 365, "year");
}

std::string statusString(const pl::ContainerStatus& s, int64_t nowNs) {
  switch (s.state) {
    case pl::RunState::kCreated: return "Created";
    case pl::RunState::kRemoving: return "Removal In Progress";
    case pl::RunState::kRunning: {
      std::string up = "Up " + humanDuration((nowNs - s.startedNs) / 1000000000);
      if (s.paused) return up + " (Paused)";
      if (s.health) return up + (s.health->status == "starting" ? " (health: starting)" : " (" + s.health->status + ")");
      return up;
    }
    case pl::RunState::kExited:
      if (s.restarting) return "Restarting (" + std::to_string(s.exitCode) + ") " + humanDuration((nowNs - s.finishedNs) / 1000000000) + " ago";
      return "Exited (" + std::to_string(s.exitCode) + ") " + humanDuration((nowNs - s.finishedNs) / 1000000000) + " ago";
  }
  return "";
}

std::string commandString(const pl::ContainerSpec& s) {
  std::string out;
  for (const auto& a : s.config.main.argv) {
    bool quote = !out.empty() && a.find(' ') != std::string::npos;  // docker quotes spaced arguments
    out += (out.empty() ? "" : " ") + (quote ? "'" + a + "'" : a);
  }
  return out;
}

namespace {
json parsedAnnotation(const pl::ContainerSpec& s, const char* key) {
  auto it = s.annotations.find(key);
  if (it == s.annotations.end()) return json::object();
  auto j = parseJson(it->second);
  return j.is_discarded() ? json::object() : j;
}
}  // namespace

json healthJson(const pl::Health& h) {
  json log = json::array();
  for (const auto& p : h.log) {
    log.push_back({{"Start", rfc3339Nano(p.startNs)}, {"End", rfc3339Nano(p.endNs)}, {"ExitCode", p.exitCode}, {"Output", p.output}});
  }
  return {{"Status", h.status}, {"FailingStreak", h.failingStreak}, {"Log", log}};
}

json containerInspect(const pl::ContainerInfo& c, const std::string& logPath, const ContainerView& net) {
  auto diskOf = [&](const std::string& name) { return net.volumeDisks.count(name) ? net.volumeDisks.at(name) : ""; };
  const auto& s = c.spec;
  const auto& st = c.status;
  json cfg = parsedAnnotation(s, kConfigAnnotation);
  json host = parsedAnnotation(s, kHostConfigAnnotation);
  for (const char* k : {"AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"}) {
    if (!cfg.contains(k)) cfg[k] = false;
  }
  if (!cfg.contains("ExposedPorts")) cfg["ExposedPorts"] = json::object();
  if (!cfg.contains("Domainname")) cfg["Domainname"] = "";
  host["AutoRemove"] = s.autoRemove;
  host["NetworkMode"] = s.networkMode == "default" ? "bridge" : s.networkMode;
  if (!host.contains("PortBindings") || host["PortBindings"].is_null()) host["PortBindings"] = json::object();
  json logOpts = field(field(host, "LogConfig"), "Config");
  host["LogConfig"] = {{"Type", "json-file"}, {"Config", logOpts.is_object() ? logOpts : json::object()}};
  host["RestartPolicy"] = {{"Name", s.restart.name}, {"MaximumRetryCount", s.restart.maxRetries}};
  if (!host.contains("Binds")) host["Binds"] = nullptr;
  host["Memory"] = static_cast<int64_t>(s.memoryMiB) << 20;
  host["CpuCount"] = s.vcpus;
  bool running = st.state == pl::RunState::kRunning;
  json state = {{"Status", pl::stateName(st)}, {"Running", running || st.restarting},
                {"Paused", st.paused}, {"Restarting", st.restarting}, {"OOMKilled", st.oomKilled}, {"Dead", false}, {"Pid", running ? 1 : 0},
                {"ExitCode", st.exitCode}, {"Error", st.error}, {"StartedAt", rfc3339Nano(st.startedNs)},
                {"FinishedAt", rfc3339Nano(st.finishedNs)}};
  if (st.health) state["Health"] = healthJson(*st.health);
  const auto& argv = s.config.main.argv;
  return {{"Id", s.id},
          {"Created", rfc3339Nano(s.createdNs)},
          {"Path", argv.empty() ? "" : argv[0]},
          {"Args", argv.size() > 1 ? json(std::vector<std::string>(argv.begin() + 1, argv.end())) : json::array()},
          {"State", state},
          {"Image", s.imageId},
          {"ResolvConfPath", ""},
          {"HostnamePath", ""},
          {"HostsPath", ""},
          {"LogPath", logPath},
          {"Name", "/" + s.name},
          {"RestartCount", st.restartCount},
          {"Driver", "vic"},
          {"Platform", "linux"},
          {"MountLabel", ""},
          {"ProcessLabel", ""},
          {"AppArmorProfile", ""},
          {"ExecIDs", nullptr},
          {"HostConfig", host},
          {"GraphDriver", {{"Name", "vic"}, {"Data", json::object()}}},
          {"Mounts", mountsJson(s, diskOf)},
          {"Config", cfg},
          {"NetworkSettings", networkSettings(s, net)}};
}

json containerSummary(const pl::ContainerInfo& c, int64_t nowNs, const ContainerView& net) {
  auto diskOf = [&](const std::string& name) { return net.volumeDisks.count(name) ? net.volumeDisks.at(name) : ""; };
  json cfg = parsedAnnotation(c.spec, kConfigAnnotation);
  return {{"Id", c.spec.id},
          {"Names", {"/" + c.spec.name}},
          {"Image", c.spec.imageRef},
          {"ImageID", c.spec.imageId},
          {"Command", commandString(c.spec)},
          {"Created", c.spec.createdNs / 1000000000},
          {"Ports", portSummaries(c.spec, net)},
          {"Labels", cfg.contains("Labels") && cfg["Labels"].is_object() ? cfg["Labels"] : json::object()},
          {"State", pl::stateName(c.status)},
          {"Status", statusString(c.status, nowNs)},
          {"HostConfig", {{"NetworkMode", c.spec.networkMode == "default" ? "bridge" : c.spec.networkMode}}},
          {"NetworkSettings", {{"Networks", summaryNetworks(net)}}},
          {"Mounts", mountsJson(c.spec, diskOf)}};
}

namespace {
std::vector<std::string> familiar(const std::vector<std::string>& refs) {
  std::vector<std::string> out;
  for (const auto& r : refs) {
    auto p = images::parseReference(r);
    out.push_back(p ? p->familiar() : r);
  }
  return out;
}
}  // namespace

json imageSummary(const images::ImageRecord& r, const json& imageConfig) {
  json labels = field(field(imageConfig, "config"), "Labels");
  return {{"Id", r.id}, {"ParentId", ""}, {"RepoTags", familiar(r.repoTags)}, {"RepoDigests", familiar(r.repoDigests)},
          {"Created", r.created}, {"Size", r.size}, {"SharedSize", -1},
          {"Labels", labels.is_object() ? labels : json::object()}, {"Containers", -1}};
}

json imageInspect(const images::ImageRecord& r, const json& imageConfig) {
  json cfg = field(imageConfig, "config");
  return {{"Id", r.id},
          {"RepoTags", familiar(r.repoTags)},
          {"RepoDigests", familiar(r.repoDigests)},
          {"Parent", ""},
          {"Comment", field(imageConfig, "comment").is_string() ? imageConfig["comment"] : json("")},
          {"Created", field(imageConfig, "created").is_string() ? imageConfig["created"] : json(rfc3339Nano(r.created * 1000000000))},
          {"DockerVersion", ""},
          {"Author", field(imageConfig, "author").is_string() ? imageConfig["author"] : json("")},
          {"Config", cfg.is_object() ? cfg : json::object()},
          {"Architecture", field(imageConfig, "architecture").is_string() ? imageConfig["architecture"] : json("amd64")},
          {"Os", field(imageConfig, "os").is_string() ? imageConfig["os"] : json("linux")},
          {"Size", r.size},
          {"GraphDriver", {{"Name", "vic"}, {"Data", json::object()}}},
          {"RootFS", {{"Type", "layers"}, {"Layers", r.diffIds}}},
          {"Metadata", {{"LastTagTime", "0001-01-01T00:00:00Z"}}}};
}

json eventJson(const pl::Event& e) {
  json attrs = e.attributes;
  json j = {{"Type", e.type}, {"Action", e.action}, {"Actor", {{"ID", e.id}, {"Attributes", attrs}}},
            {"scope", "local"}, {"time", e.timeNs / 1000000000}, {"timeNano", e.timeNs}};
  if (e.type == "container" || e.type == "image") {  // dockerd's deprecated fields, for both
    j["status"] = e.action;
    j["id"] = e.id;
    if (e.type == "container" && e.attributes.count("image")) j["from"] = e.attributes.at("image");
  }
  return j;
}

}  // namespace vic::docker

namespace vic::docker {

namespace {
json cpuJson(const StatsSample& s, int hostCpus) {
  uint64_t total = s.vm ? s.vm->cpuTimeNs : 0;
  return {{"cpu_usage", {{"total_usage", total}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", total}}},
          {"system_cpu_usage", s.systemCpuNs},
          {"online_cpus", hostCpus},
          {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
}
}  // namespace

json statsJson(const pl::ContainerSpec& c, const StatsSample& cur, const StatsSample& prev, int hostCpus) {
  json mem = json::object();
  json blkio = {{"io_service_bytes_recursive", nullptr}};
  if (cur.vm) {
    mem = {{"usage", cur.vm->memoryBytes}, {"limit", cur.vm->memoryLimitBytes}, {"stats", {{"inactive_file", 0}}}};
    blkio["io_service_bytes_recursive"] = json::array({{{"major", 0}, {"minor", 0}, {"op", "read"}, {"value", cur.vm->diskReadBytes}},
                                                       {{"major", 0}, {"minor", 0}, {"op", "write"}, {"value", cur.vm->diskWriteBytes}}});
  }
  return {{"name", "/" + c.name},
          {"id", c.id},
          {"read", rfc3339Nano(cur.readNs)},
          {"preread", rfc3339Nano(prev.readNs)},
          {"pids_stats", cur.vm ? json{{"current", 1}} : json::object()},
          {"blkio_stats", blkio},
          {"num_procs", 0},
          {"storage_stats", json::object()},
          {"cpu_stats", cpuJson(cur, hostCpus)},
          {"precpu_stats", cpuJson(prev, hostCpus)},
          {"memory_stats", mem}};
}

}  // namespace vic::docker

namespace vic::docker {

json execInspect(const pl::ExecRecord& e) {
  const auto& argv = e.spec.argv;
  json args = argv.size() > 1 ? std::vector<std::string>(argv.begin() + 1, argv.end()) : std::vector<std::string>{};
  return {{"ID", e.id}, {"ContainerID", e.container}, {"Running", e.running},
          {"ExitCode", e.started && !e.running ? json(e.exitCode) : json(nullptr)},
          {"OpenStdin", e.spec.openStdin}, {"OpenStdout", true}, {"OpenStderr", true},
          {"ProcessConfig", {{"tty", e.spec.tty}, {"entrypoint", argv.empty() ? "" : argv[0]}, {"arguments", args}}},
          {"Pid", 0}};
}

uint32_t goFileMode(uint32_t stMode) {
  uint32_t m = stMode & 0777;
  switch (stMode & S_IFMT) {
    case S_IFDIR: m |= 1u << 31; break;
    case S_IFLNK: m |= 1u << 27; break;
    case S_IFBLK: m |= 1u << 26; break;
    case S_IFCHR: m |= (1u << 26) | (1u << 21); break;
    case S_IFIFO: m |= 1u << 25; break;
    case S_IFSOCK: m |= 1u << 24; break;
    default: break;
  }
  if (stMode & S_ISUID) m |= 1u << 23;
  if (stMode & S_ISGID) m |= 1u << 22;
  if (stMode & S_ISVTX) m |= 1u << 20;
  return m;
}

std::string pathStatHeader(const vsock::FileStat& st) {
  json j = {{"name", st.name}, {"size", st.size}, {"mode", goFileMode(st.mode)}, {"mtime", rfc3339Nano(st.mtimeNs)},
            {"linkTarget", st.linkTarget}};
  return images::base64Encode(dumpJson(j));  // guest file names need not be UTF-8
}

json registryConfigJson(const std::vector<std::string>& insecureRegistries) {
  auto index = [](const std::string& name, bool secure) {
    return json{{"Name", name}, {"Mirrors", json::array()}, {"Secure", secure}, {"Official", secure}};
  };
  json cidrs = json::array(), indexes = json::object();
  for (const auto& r : insecureRegistries) {
    if (r.find('/') == std::string::npos) {
      if (r != "docker.io") indexes[r] = index(r, false);
    } else if (std::find(cidrs.begin(), cidrs.end(), r) == cidrs.end()) {
      cidrs.push_back(r);
    }
  }
  for (const char* loopback : {"::1/128", "127.0.0.0/8"}) {  // dockerd's own: always insecure
    if (std::find(cidrs.begin(), cidrs.end(), loopback) == cidrs.end()) cidrs.push_back(loopback);
  }
  indexes["docker.io"] = index("docker.io", true);
  return {{"InsecureRegistryCIDRs", cidrs}, {"IndexConfigs", indexes}, {"Mirrors", json::array()}};
}

}  // namespace vic::docker
