// Docker Engine API JSON <-> port layer types: pure functions, golden-tested. The docker
// personality's own fields (the Config and HostConfig a container was created with) travel
// in the port layer's annotations and are echoed back by inspect.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "hypervisor/types.h"
#include "images/image_store.h"
#include "runtime/docker/network_json.h"
#include "runtime/portlayer/container.h"
#include "runtime/portlayer/events.h"
#include "runtime/portlayer/exec_registry.h"
#include "runtime/portlayer/exec_spec.h"
#include "vsock/messages.h"  // vsock::FileStat (docker cp's path stat)

namespace vic::docker {

using nlohmann::json;

inline constexpr const char* kConfigAnnotation = "docker.config";
inline constexpr const char* kHostConfigAnnotation = "docker.hostConfig";

// VIC-like sizing (VIC: 2 vCPU / 2 GiB default); smaller here because TCG hosts are small.
inline constexpr uint64_t kDefaultMemoryMiB = 512, kMinMemoryMiB = 64;

// `POST /containers/create` body + the image's config -> what the port layer runs.
// `name` may be empty (a random one is chosen). Errors in docker's words.
Result<pl::ContainerSpec> specFromCreate(const json& body, const std::string& name, const images::ImageRecord& image,
                                         const json& imageConfig, int64_t nowNs);

// `POST /containers/{id}/exec` body -> what the port layer runs. Absent, null or empty fields
// are left for the port layer to take from the container (env is merged over its own).
Result<pl::ExecSpec> execSpecFromCreate(const json& body);
// HostConfig.RestartPolicy (also the body of docker update), validated as the daemon does.
pl::Healthcheck healthcheckFrom(const json& j);  // Config.Healthcheck (or an image config's)
json healthcheckJson(const pl::Healthcheck& h);
json healthJson(const pl::Health& h);  // State.Health
Result<pl::RestartPolicy> restartPolicyFrom(const json& hostConfig, bool autoRemove);
json execInspect(const pl::ExecRecord& e);  // GET /exec/{id}/json

json containerInspect(const pl::ContainerInfo& c, const std::string& logPath, const ContainerView& net = {});
json containerSummary(const pl::ContainerInfo& c, int64_t nowNs, const ContainerView& net = {});
std::string statusString(const pl::ContainerStatus& s, int64_t nowNs);  // "Up 2 seconds", "Exited (0) 1 second ago"
std::string humanDuration(int64_t seconds);                             // go-units HumanDuration
std::string rfc3339Nano(int64_t ns);                                     // 0 -> 0001-01-01T00:00:00Z
std::string commandString(const pl::ContainerSpec& s);                  // ps's COMMAND

json imageSummary(const images::ImageRecord& r, const json& imageConfig);
json imageInspect(const images::ImageRecord& r, const json& imageConfig);
json eventJson(const pl::Event& e);

// One sample for `GET /containers/{id}/stats`: the VM's use (absent when it is not running)
// and the host's total CPU time, as docker's system_cpu_usage.
struct StatsSample {
  int64_t readNs = 0;
  uint64_t systemCpuNs = 0;
  std::optional<hv::VmStats> vm;
};
json statsJson(const pl::ContainerSpec& c, const StatsSample& cur, const StatsSample& prev, int hostCpus);
int signalNumber(const std::string& name);
// docker cp: st_mode as Go's os.FileMode (type bits on top: dir 1<<31, symlink 1<<27, ...), and
// the X-Docker-Container-Path-Stat value (base64 of {name,size,mode,mtime,linkTarget}).
uint32_t goFileMode(uint32_t stMode);
// /info's RegistryConfig as dockerd builds it from its --insecure-registry entries (host[:port]
// or CIDR, normalised): CIDRs plus the loopback ranges in InsecureRegistryCIDRs, hosts as
// IndexConfigs with Secure false beside docker.io's. The CLI's "Insecure Registries:" lists both.
json registryConfigJson(const std::vector<std::string>& insecureRegistries);
std::string pathStatHeader(const vsock::FileStat& st);  // "SIGTERM", "TERM", "15" -> 15; -1 unknown

}  // namespace vic::docker
