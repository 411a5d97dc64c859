// Request bodies to port-layer specs: POST /containers/create (and the parts of it docker update
// reuses: restart policy, sizes, signals, health checks) and POST /containers/{id}/exec.
#include <signal.h>

#include <algorithm>
#include <map>

#include "common/json.h"
#include "runtime/docker/docker_json.h"
#include "runtime/docker/json_fields.h"
#include "runtime/docker/volume_json.h"
#include "runtime/portlayer/health.h"

namespace vic::docker {

namespace {

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

}  // namespace vic::docker
