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
#include "runtime/portlayer/health.h"

namespace vic::docker {

namespace {

std::vector<std::string> strings(const json& j) {
  std::vector<std::string> out;
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_array()) {
    for (const auto& v : j) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

json field(const json& j, const char* key) { return j.is_object() && j.contains(key) ? j[key] : json(); }

// docker's max-size: a decimal number, then k, m, g, t or p (powers of 1000), an optional i and b.
Result<uint64_t> humanSize(const std::string& text) {
  Error bad(Errc::kInvalidArgument, "invalid size: '" + text + "'");
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 15) return bad;
  double n = std::stod(text.substr(0, i));
  if (i < text.size() && text[i] == '.') {
    size_t frac = ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == frac || i - frac > 9) return bad;
    n += std::stod("0." + text.substr(frac, i - frac));
  }
  if (i < text.size() && text[i] == ' ') ++i;
  static const std::string units = "kmgtp";
  if (i < text.size()) {
    if (size_t u = units.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])))); u != std::string::npos) {
      n *= std::pow(1000.0, static_cast<double>(u + 1));
      ++i;
    }
  }
  if (i < text.size() && std::tolower(static_cast<unsigned char>(text[i])) == 'i') ++i;
  if (i < text.size() && std::tolower(static_cast<unsigned char>(text[i])) == 'b') ++i;
  if (i != text.size() || n >= 9.0e18) return bad;
  return static_cast<uint64_t>(n);
}

// HostConfig.LogConfig: json-file (docker's default) and its rotation; anything else is refused.
Status logConfigFromCreate(const json& host, pl::ContainerSpec& s) {
  json lc = field(host, "LogConfig");
  std::string type = field(lc, "Type").is_string() ? lc["Type"].get<std::string>() : "";
  if (!type.empty() && type != "json-file") {
    return Error(Errc::kInvalidArgument, "logging driver \"" + type + "\" is not supported by a VCH: containers log to json-file");
  }
  json opts = field(lc, "Config");
  if (!opts.is_object()) return ok();
  for (const auto& [k, v] : opts.items()) {
    std::string value = v.is_string() ? v.get<std::string>() : v.dump();
    if (k == "max-size") {
      auto n = humanSize(value);
      if (!n) return std::move(n).error();
      if (*n == 0) return Error(Errc::kInvalidArgument, "max-size must be a positive number");
      s.logLimits.maxBytes = *n;
    } else if (k == "max-file") {
      bool digits = !value.empty() && value.size() < 10 && std::all_of(value.begin(), value.end(), ::isdigit);
      if (!digits) return Error(Errc::kInvalidArgument, "strconv.Atoi: parsing \"" + value + "\": invalid syntax");
      s.logLimits.maxFiles = std::stoi(value);
      if (s.logLimits.maxFiles < 1) return Error(Errc::kInvalidArgument, "max-file cannot be less than 1");
    } else if (k == "compress" || k == "labels" || k == "labels-regex" || k == "env" || k == "env-regex" || k == "tag") {
      return Error(Errc::kInvalidArgument, "log opt '" + k + "' is not supported by a VCH (max-size and max-file are)");
    } else {
      return Error(Errc::kInvalidArgument, "unknown log opt '" + k + "' for json-file log driver");
    }
  }
  return ok();
}

}  // namespace

// HostConfig.RestartPolicy (and docker update's), with the daemon's words for a bad one.
Result<pl::RestartPolicy> restartPolicyFrom(const json& host, bool autoRemove) {
  json rp = field(host, "RestartPolicy");
  pl::RestartPolicy p;
  if (field(rp, "Name").is_string() && !rp["Name"].get<std::string>().empty()) p.name = rp["Name"].get<std::string>();
  json max = field(rp, "MaximumRetryCount");
  if (max.is_number_integer()) {
    int64_t n = max.get<int64_t>();
    p.maxRetries = static_cast<int>(std::clamp<int64_t>(n, -1, 1 << 30));
  }
  if (p.name != "no" && p.name != "always" && p.name != "unless-stopped" && p.name != "on-failure") {
    return Error(Errc::kInvalidArgument, "invalid restart policy: unknown policy '" + p.name +
                                             "'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  }
  if (p.name == "on-failure" && p.maxRetries < 0) {
    return Error(Errc::kInvalidArgument, "invalid restart policy: maximum retry count cannot be negative");
  }
  if (p.name != "on-failure" && p.maxRetries != 0) {
    return Error(Errc::kInvalidArgument, "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  }
  if (autoRemove && p.name != "no") return Error(Errc::kInvalidArgument, "can't create 'AutoRemove' container with restart policy");
  return p;
}

int signalNumber(const std::string& name) {
  if (name.empty()) return -1;
  if (std::all_of(name.begin(), name.end(), ::isdigit)) return name.size() <= 3 ? std::stoi(name) : -1;
  std::string n = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  static const std::map<std::string, int> sigs = {
      {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
      {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE}};
  auto it = sigs.find(n);
  return it == sigs.end() ? -1 : it->second;
}

pl::Healthcheck healthcheckFrom(const json& j) {
  pl::Healthcheck h;
  if (!j.is_object()) return h;
  h.test = strings(field(j, "Test"));
  auto ns = [&](const char* k) { return field(j, k).is_number_integer() ? j[k].get<int64_t>() : int64_t{0}; };
  h.intervalNs = ns("Interval");
  h.timeoutNs = ns("Timeout");
  h.startPeriodNs = ns("StartPeriod");
  h.startIntervalNs = ns("StartInterval");
  h.retries = static_cast<int>(std::clamp<int64_t>(ns("Retries"), -1, 1 << 20));
  return h;
}

json healthcheckJson(const pl::Healthcheck& h) {
  json j = {{"Test", h.test}};
  if (h.intervalNs) j["Interval"] = h.intervalNs;
  if (h.timeoutNs) j["Timeout"] = h.timeoutNs;
  if (h.startPeriodNs) j["StartPeriod"] = h.startPeriodNs;
  if (h.startIntervalNs) j["StartInterval"] = h.startIntervalNs;
  if (h.retries) j["Retries"] = h.retries;
  return j;
}

Result<pl::ContainerSpec> specFromCreate(const json& body, const std::string& name, const images::ImageRecord& image,
                                         const json& imageConfig, int64_t nowNs) {
  if (!body.is_object()) return Error(Errc::kInvalidArgument, "config cannot be empty in order to create a container");
  json host = field(body, "HostConfig");
  json ic = field(imageConfig, "config");
  auto volumes = volumesFromCreate(body, ic);
  if (!volumes) return std::move(volumes).error();
  pl::ContainerSpec s;
  s.volumes = *volumes;
  s.id = pl::newContainerId();
  s.name = name;  // empty: the port layer picks a free random name
  if (!s.name.empty() && !pl::validName(s.name)) {
    return Error(Errc::kInvalidArgument, "Invalid container name (" + s.name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
  s.imageRef = field(body, "Image").is_string() ? body["Image"].get<std::string>() : "";
  s.imageId = image.id;
  s.topLayer = image.topLayer();
  s.createdNs = nowNs;
  auto& m = s.config.main;
  json entry = field(body, "Entrypoint");
  bool entryGiven = !entry.is_null();
  std::vector<std::string> cmd = strings(field(body, "Cmd"));
  std::vector<std::string> ep = entryGiven ? strings(entry) : strings(field(ic, "Entrypoint"));
  if (cmd.empty() && !entryGiven) cmd = strings(field(ic, "Cmd"));
  m.argv = ep;
  m.argv.insert(m.argv.end(), cmd.begin(), cmd.end());
  if (m.argv.empty()) return Error(Errc::kInvalidArgument, "No command specified");
  m.env = pl::mergeEnv(strings(field(ic, "Env")), strings(field(body, "Env")));
  m.workdir = field(body, "WorkingDir").is_string() && !body["WorkingDir"].get<std::string>().empty()
                  ? body["WorkingDir"].get<std::string>()
                  : (field(ic, "WorkingDir").is_string() ? ic["WorkingDir"].get<std::string>() : "");
  m.user = field(body, "User").is_string() && !body["User"].get<std::string>().empty()
               ? body["User"].get<std::string>()
               : (field(ic, "User").is_string() ? ic["User"].get<std::string>() : "");
  m.tty = field(body, "Tty").is_boolean() && body["Tty"].get<bool>();
  m.openStdin = field(body, "OpenStdin").is_boolean() && body["OpenStdin"].get<bool>();
  m.stdinOnce = field(body, "StdinOnce").is_boolean() && body["StdinOnce"].get<bool>();
  json console = field(host, "ConsoleSize");
  if (console.is_array() && console.size() == 2 && console[0].is_number() && console[1].is_number()) {
    m.rows = console[0].get<uint16_t>();
    m.cols = console[1].get<uint16_t>();
  }
  std::string hostname = field(body, "Hostname").is_string() ? body["Hostname"].get<std::string>() : "";
  s.config.hostname = hostname.empty() ? s.id.substr(0, 12) : hostname;
  if (field(body, "Domainname").is_string()) s.config.domainname = body["Domainname"].get<std::string>();
  std::string stopSignal = field(body, "StopSignal").is_string() ? body["StopSignal"].get<std::string>()
                           : field(ic, "StopSignal").is_string() ? ic["StopSignal"].get<std::string>() : "SIGTERM";
  s.stopSignal = signalNumber(stopSignal);
  if (s.stopSignal <= 0) return Error(Errc::kInvalidArgument, "Invalid signal: " + stopSignal);
  if (field(body, "StopTimeout").is_number()) s.stopTimeout = body["StopTimeout"].get<int>();
  s.autoRemove = field(host, "AutoRemove").is_boolean() && host["AutoRemove"].get<bool>();
  int64_t memory = field(host, "Memory").is_number() ? host["Memory"].get<int64_t>() : 0;
  if (memory < 0) return Error(Errc::kInvalidArgument, "invalid memory limit");
  s.memoryMiB = memory == 0 ? kDefaultMemoryMiB : std::max<uint64_t>(kMinMemoryMiB, static_cast<uint64_t>(memory) >> 20);
  int64_t nanoCpus = field(host, "NanoCpus").is_number() ? host["NanoCpus"].get<int64_t>() : 0;
  int64_t cpuCount = field(host, "CpuCount").is_number() ? host["CpuCount"].get<int64_t>() : 0;
  s.vcpus = static_cast<int>(std::max<int64_t>({1, cpuCount, (nanoCpus + 999999999) / 1000000000}));
  json cfg = body;
  cfg.erase("HostConfig");
  cfg.erase("NetworkingConfig");
  cfg["Image"] = s.imageRef;
  cfg["Cmd"] = cmd.empty() && !entryGiven ? json(nullptr) : json(cmd);
  cfg["Entrypoint"] = ep.empty() ? json(nullptr) : json(ep);
  cfg["Env"] = m.env;
  cfg["WorkingDir"] = m.workdir;
  cfg["User"] = m.user;
  cfg["Hostname"] = s.config.hostname;
  if (!cfg.contains("Labels") || cfg["Labels"].is_null()) cfg["Labels"] = field(ic, "Labels").is_object() ? ic["Labels"] : json::object();
  if (auto st = networkingFromCreate(body, ic, s); !st) return std::move(st).error();
  if (auto st = logConfigFromCreate(host, s); !st) return std::move(st).error();
  auto restart = restartPolicyFrom(host, s.autoRemove);
  if (!restart) return std::move(restart).error();
  s.restart = *restart;
  s.health = pl::mergeHealthcheck(healthcheckFrom(field(body, "Healthcheck")), healthcheckFrom(field(ic, "Healthcheck")));
  if (auto bad = pl::healthcheckError(s.health); !bad.empty()) return Error(Errc::kInvalidArgument, bad);
  if (!s.health.test.empty()) cfg["Healthcheck"] = healthcheckJson(s.health);
  s.annotations[kConfigAnnotation] = dumpJson(cfg);
  s.annotations[kHostConfigAnnotation] = dumpJson(host.is_object() ? host : json::object());
  return s;
}

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

Result<pl::ExecSpec> execSpecFromCreate(const json& body) {
  pl::ExecSpec s;
  s.argv = strings(field(body, "Cmd"));
  if (s.argv.empty()) return Error(Errc::kInvalidArgument, "No exec command specified");
  s.env = strings(field(body, "Env"));
  auto str = [&](const char* key) { return field(body, key).is_string() ? field(body, key).get<std::string>() : ""; };
  s.workdir = str("WorkingDir");
  s.user = str("User");
  s.tty = field(body, "Tty").is_boolean() && field(body, "Tty").get<bool>();
  s.openStdin = field(body, "AttachStdin").is_boolean() && field(body, "AttachStdin").get<bool>();
  json size = field(body, "ConsoleSize");
  if (size.is_array() && size.size() == 2 && size[0].is_number_unsigned() && size[1].is_number_unsigned()) {
    s.rows = size[0].get<uint16_t>();
    s.cols = size[1].get<uint16_t>();
  }
  return s;
}

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

}  // namespace vic::docker
