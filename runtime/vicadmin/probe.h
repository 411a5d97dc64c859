// Where vicadmin's facts come from, behind one interface so the pages, the checks and the
// bundle are unit-tested from a fake: the endpoint's Docker API, libvirt, the host (pool,
// disk space, firewall chains) and the registries. Every method blocks (bounded by its own
// timeout) and runs on a BlockingPool, never on the I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "hypervisor/resource_pool.h"
#include "runtime/vch/endpoint_record.h"
#include "runtime/vch/vch_config.h"

namespace vic::vicadmin {

struct LibvirtFacts {
  std::string libvirtVersion, hypervisorVersion;
  std::vector<std::string> vms;  // the VCH's domains (containerVMs and templates)
};

struct PoolFacts {
  hv::PoolLimits limits;
  hv::PoolUsage usage;
};

struct DiskSpace {
  uint64_t totalBytes = 0, freeBytes = 0;
};

struct EndpointStart {
  vch::EndpointRecord record;
  int64_t startedAt = 0;  // unix seconds: when the running endpoint wrote its record
};

class Probe {
 public:
  virtual ~Probe() = default;
  // GET `target` (e.g. "/info") from the endpoint's Docker API: the body of a 2xx answer; an
  // error naming why otherwise (socket missing, timeout, status).
  virtual Result<std::string> docker(const std::string& target) = 0;
  virtual Result<LibvirtFacts> libvirt() = 0;
  virtual Result<std::string> domainXml(const std::string& vm) = 0;  // virsh dumpxml
  virtual Result<PoolFacts> pool() = 0;
  virtual Result<DiskSpace> diskSpace(const std::string& dir) = 0;
  virtual Status firewallChain(const std::string& table, const std::string& chain) = 0;  // present?
  virtual Status registry(const std::string& hostPort, bool insecure) = 0;  // GET /v2/ answers?
  virtual std::optional<EndpointStart> endpointStart() = 0;
  virtual int64_t now() = 0;  // unix seconds
};

// How the real probe runs a tool (iptables): argv -> exit code and output (a fake in tests).
struct CommandOutput {
  int exitCode = -1;
  std::string out, err;
};
using Runner = std::function<Result<CommandOutput>(const std::vector<std::string>& argv)>;

// `iptables -w -t <table> -S <chain>` through `run`: present when it exits 0; otherwise an
// error with what iptables said.
Status checkChain(const Runner& run, const std::string& table, const std::string& chain);

// The real one: the endpoint's unix socket, libvirt at cfg.target, the host's cgroups and
// iptables, registries over libcurl.
std::unique_ptr<Probe> systemProbe(const vch::VchConfig& cfg, Runner run);
Runner processRunner();  // runs the tool (common/process.h)

}  // namespace vic::vicadmin
