// The port layer's container: what it was created with (stored in its VM's metadata, the
// single source of truth) and the state derived from the VM and tether's exit record.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/portlayer/network.h"
#include "vsock/messages.h"

namespace vic::pl {

// A volume mounted into the container: -v name:/path[:ro], -v /path (anonymous), image VOLUMEs.
struct VolumeMount {
  std::string name;  // "" until the port layer makes an anonymous volume
  std::string target;
  bool readOnly = false;
  bool anonymous = false;
  bool operator==(const VolumeMount&) const = default;
};

// Everything needed to run the container, decided at create time.
// docker's json-file rotation (--log-opt max-size, max-file); maxBytes 0: keep everything.
struct LogLimits {
  uint64_t maxBytes = 0;
  int maxFiles = 1;
};

// docker's restart policies: no, always, unless-stopped, on-failure (maxRetries 0: no limit).
struct RestartPolicy {
  std::string name = "no";
  int maxRetries = 0;
};

// docker's HEALTHCHECK (image config) or --health-* flags, merged as docker merges them.
struct Healthcheck {
  std::vector<std::string> test;  // {"CMD", argv...}, {"CMD-SHELL", "command"}, {"NONE"}; empty: none
  int64_t intervalNs = 0, timeoutNs = 0, startPeriodNs = 0, startIntervalNs = 0;  // 0: docker's default
  int retries = 0;                                                                  // 0: docker's default (3)
  bool operator==(const Healthcheck&) const = default;
};

struct ContainerSpec {
  std::string id;         // 64 hex
  std::string name;       // without docker's leading '/'
  std::string imageRef;   // as the user named it
  std::string imageId;    // sha256:...
  std::string topLayer;   // chain id of the image's top layer ("" for an empty image)
  int64_t createdNs = 0;
  int vcpus = 1;
  uint64_t memoryMiB = 512;
  int stopSignal = 15;
  int stopTimeout = 10;   // seconds
  bool autoRemove = false;
  LogLimits logLimits;
  RestartPolicy restart;
  Healthcheck health;
  vsock::ContainerConfig config;  // what tether boots with: main session, hostname, mounts
  // networking: the scopes it sits on (the first one is its primary: gateway, published ports),
  // the ports it publishes as asked (hostPort 0: any), the ports it exposes, its links (name:alias)
  std::vector<NetworkEndpoint> networks;
  std::vector<PortBinding> ports;
  std::vector<std::string> exposed;  // "80/tcp"
  std::vector<std::string> links;
  std::string networkMode = "default";  // as docker was asked: default, bridge, none, <network>
  std::vector<VolumeMount> volumes;
  std::map<std::string, std::string> annotations;  // the personality's own fields (opaque here)
  uint32_t vsockCid = 0;  // its VM's AF_VSOCK guest CID (unique on the host); 0: none, tether over virtio-serial
};

std::string encodeSpec(const ContainerSpec& s);
// Published ports as JSON (the bindings a running container got, kept in its VM's metadata).
std::string encodePorts(const std::vector<PortBinding>& ports);
std::vector<PortBinding> decodePorts(const std::string& json);
Result<ContainerSpec> decodeSpec(const std::string& json);

enum class RunState { kCreated, kRunning, kExited, kRemoving };
std::string runStateName(RunState s);  // docker's lowercase: created, running, exited, removing

// One health probe and where the probes stand (docker's State.Health).
struct HealthProbe {
  int64_t startNs = 0, endNs = 0;
  int exitCode = 0;  // 0 healthy, else a failure; -1 when it ran out of time
  std::string output;
};
struct Health {
  std::string status = "starting";  // starting, healthy, unhealthy
  int failingStreak = 0;
  std::vector<HealthProbe> log;  // the last few, oldest first
};

struct ContainerStatus {
  RunState state = RunState::kCreated;
  int exitCode = 0;
  std::string error;        // why it could not start
  bool oomKilled = false;
  int64_t startedNs = 0, finishedNs = 0;
  int restartCount = 0;     // restarts by the policy since the last start by hand
  bool restarting = false;  // the policy restarts it after a back-off
  bool paused = false;      // its VM's vCPUs are stopped (docker pause)
  std::optional<Health> health;  // when it has a health check and was started
};

// docker's State.Status: restarting, paused, or the run state's name.
std::string stateName(const ContainerStatus& s);

struct ContainerInfo {
  ContainerSpec spec;
  ContainerStatus status;
};

// 64 random hex characters (docker's ids) and docker-like random names.
std::string newContainerId();
std::string randomName();
// docker's name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+
bool validName(const std::string& name);

}  // namespace vic::pl
