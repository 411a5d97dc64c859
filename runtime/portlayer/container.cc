#include "runtime/portlayer/container.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "common/json.h"
#include "vsock/codec.h"

namespace vic::pl {
using nlohmann::json;

namespace {
std::vector<PortBinding> portsFromJson(const json& a) {
  std::vector<PortBinding> out;
  for (const auto& p : a) {
    out.push_back({p.value("proto", "tcp"), p.value("containerPort", uint16_t{0}), p.value("hostIp", ""), p.value("hostPort", uint16_t{0})});
  }
  return out;
}
}  // namespace

std::string encodePorts(const std::vector<PortBinding>& ports) {
  json a = json::array();
  for (const auto& p : ports) a.push_back({{"proto", p.proto}, {"containerPort", p.containerPort}, {"hostIp", p.hostIp}, {"hostPort", p.hostPort}});
  return a.dump();
}

std::vector<PortBinding> decodePorts(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return j.is_array() ? portsFromJson(j) : std::vector<PortBinding>{};
}

std::string encodeSpec(const ContainerSpec& s) {
  json j = {{"id", s.id}, {"name", s.name}, {"imageRef", s.imageRef}, {"imageId", s.imageId},
            {"topLayer", s.topLayer}, {"createdNs", s.createdNs}, {"vcpus", s.vcpus},
            {"memoryMiB", s.memoryMiB}, {"stopSignal", s.stopSignal}, {"stopTimeout", s.stopTimeout},
            {"autoRemove", s.autoRemove}, {"annotations", s.annotations},
            {"config", json::parse(vsock::encodeConfig(s.config))}, {"exposed", s.exposed}, {"links", s.links},
            {"networkMode", s.networkMode}};
  if (s.restart.name != "no") j["restart"] = {{"name", s.restart.name}, {"maxRetries", s.restart.maxRetries}};
  if (!s.health.test.empty()) {
    j["health"] = {{"test", s.health.test}, {"intervalNs", s.health.intervalNs}, {"timeoutNs", s.health.timeoutNs},
                   {"startPeriodNs", s.health.startPeriodNs}, {"startIntervalNs", s.health.startIntervalNs},
                   {"retries", s.health.retries}};
  }
  if (s.vsockCid != 0) j["vsockCid"] = s.vsockCid;
  if (s.logLimits.maxBytes > 0) j["logLimits"] = {{"maxBytes", s.logLimits.maxBytes}, {"maxFiles", s.logLimits.maxFiles}};
  for (const auto& n : s.networks) {
    j["networks"].push_back({{"scope", n.scope}, {"ip", n.ip}, {"mac", n.mac}, {"aliases", n.aliases}});
  }
  j["ports"] = json::parse(encodePorts(s.ports));
  for (const auto& v : s.volumes) {
    j["volumes"].push_back({{"name", v.name}, {"target", v.target}, {"readOnly", v.readOnly}, {"anonymous", v.anonymous}});
  }
  return j.dump();
}

Result<ContainerSpec> decodeSpec(const std::string& text) {
  auto parsed = parseJsonObject(text, "container spec");
  if (!parsed) return std::move(parsed).error();
  json& j = *parsed;
  ContainerSpec s;
  try {
    s.id = j.at("id").get<std::string>();
    s.name = j.value("name", "");
    s.imageRef = j.value("imageRef", "");
    s.imageId = j.value("imageId", "");
    s.topLayer = j.value("topLayer", "");
    s.createdNs = j.value("createdNs", int64_t{0});
    s.vcpus = j.value("vcpus", 1);
    s.memoryMiB = j.value("memoryMiB", uint64_t{512});
    s.stopSignal = j.value("stopSignal", 15);
    s.stopTimeout = j.value("stopTimeout", 10);
    s.autoRemove = j.value("autoRemove", false);
    s.vsockCid = j.value("vsockCid", uint32_t{0});
    if (j.contains("restart")) {
      s.restart.name = j["restart"].value("name", "no");
      s.restart.maxRetries = j["restart"].value("maxRetries", 0);
    }
    if (j.contains("health")) {
      const json& h = j["health"];
      s.health.test = h.value("test", std::vector<std::string>{});
      s.health.intervalNs = h.value("intervalNs", int64_t{0});
      s.health.timeoutNs = h.value("timeoutNs", int64_t{0});
      s.health.startPeriodNs = h.value("startPeriodNs", int64_t{0});
      s.health.startIntervalNs = h.value("startIntervalNs", int64_t{0});
      s.health.retries = h.value("retries", 0);
    }
    if (j.contains("logLimits")) {
      s.logLimits.maxBytes = j["logLimits"].value("maxBytes", uint64_t{0});
      s.logLimits.maxFiles = std::max(1, j["logLimits"].value("maxFiles", 1));
    }
    s.annotations = j.value("annotations", std::map<std::string, std::string>{});
    auto cfg = vsock::decodeConfig(j.at("config").dump());
    if (!cfg) return std::move(cfg).error().wrap("container spec");
    s.config = std::move(*cfg);
    s.exposed = j.value("exposed", std::vector<std::string>{});
    s.links = j.value("links", std::vector<std::string>{});
    s.networkMode = j.value("networkMode", "default");
    for (const auto& n : j.value("networks", json::array())) {
      s.networks.push_back({n.at("scope").get<std::string>(), n.value("ip", ""), n.value("mac", ""),
                            n.value("aliases", std::vector<std::string>{})});
    }
    s.ports = portsFromJson(j.value("ports", json::array()));
    for (const auto& v : j.value("volumes", json::array())) {
      s.volumes.push_back({v.value("name", ""), v.at("target").get<std::string>(), v.value("readOnly", false), v.value("anonymous", false)});
    }
  } catch (const json::exception& e) {
    return Error(Errc::kInvalidArgument, std::string("container spec: ") + e.what());
  }
  return s;
}

std::string stateName(const ContainerStatus& s) {
  if (s.restarting) return "restarting";
  if (s.paused && s.state == RunState::kRunning) return "paused";
  return runStateName(s.state);
}

std::string runStateName(RunState s) {
  switch (s) {
    case RunState::kCreated: return "created";
    case RunState::kRunning: return "running";
    case RunState::kExited: return "exited";
    case RunState::kRemoving: return "removing";
  }
  return "unknown";
}

std::string newContainerId() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 64; ++i) id += hex[rd() % 16];
  return id;
}

std::string randomName() {
  static const char* left[] = {"admiring", "brave", "clever", "dreamy", "eager", "focused", "gallant", "happy",
                               "jolly", "keen", "lucid", "nifty", "quirky", "serene", "vibrant", "zealous"};
  static const char* right[] = {"babbage", "curie", "darwin", "einstein", "feynman", "hopper", "lovelace",
                                "noether", "pascal", "ritchie", "shannon", "turing", "wozniak", "yonath"};
  std::random_device rd;
  return std::string(left[rd() % std::size(left)]) + "_" + right[rd() % std::size(right)];
}

bool validName(const std::string& name) {
  if (name.size() < 2) return false;
  auto ok = [](char c, bool first) {
    return std::isalnum(static_cast<unsigned char>(c)) || (!first && (c == '_' || c == '.' || c == '-'));
  };
  for (size_t i = 0; i < name.size(); ++i) {
    if (!ok(name[i], i == 0)) return false;
  }
  return true;
}

}  // namespace vic::pl
