// Policies over a container's life: restart policies (docker's back-off), pause/unpause, and
// docker update of the VM's resources.
#include "runtime/portlayer/port_layer.h"

#include "common/log.h"
#include "hypervisor/resource_pool.h"
#include "runtime/portlayer/port_layer_keys.h"

namespace vic::pl {
asio::awaitable<Status> PortLayer::pause(const std::string& id) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  auto l = live(id);
  auto st = statusOf(*spec);
  if (st.state != RunState::kRunning || l->starting) co_return Error(Errc::kConflict, "Container " + id + " is not running");
  if (st.paused) co_return Error(Errc::kConflict, "Container " + id + " is already paused");
  auto pauseVm = [this, vm = vmName(id)] { return hv_.pause(vm); };
  if (auto done = co_await offload(pauseVm); !done) co_return std::move(done).error().wrap("pausing container " + shortId(id));
  l->power = hv::PowerState::kPaused;
  containerEvent(*spec, "pause");
  co_return ok();
}

asio::awaitable<Status> PortLayer::unpause(const std::string& id) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (!statusOf(*spec).paused) co_return Error(Errc::kConflict, "Container " + id + " is not paused");
  if (auto st = co_await resumeIfPaused(id); !st) co_return st;
  containerEvent(*spec, "unpause");
  co_return ok();
}

asio::awaitable<Status> PortLayer::resumeIfPaused(const std::string& id) {
  auto l = live(id);
  if (l->power != hv::PowerState::kPaused) co_return ok();
  auto resumeVm = [this, vm = vmName(id)] { return hv_.resume(vm); };
  if (auto done = co_await offload(resumeVm); !done) co_return std::move(done).error().wrap("unpausing container " + shortId(id));
  if (l->power == hv::PowerState::kPaused) l->power = hv::PowerState::kRunning;
  l->ioPaused = false;
  co_return ok();
}


// docker stop and kill: the restart policy no longer applies (and a pending restart is off).
asio::awaitable<Status> PortLayer::stoppedByHand(const ContainerSpec& spec) {
  if (spec.restart.name == "no") co_return ok();  // nothing to remember: no metadata write
  std::map<std::string, std::string> stopped{{kStoppedKey, "1"}};
  co_return co_await setAnnotations(spec.id, stopped);
}

bool PortLayer::wantsRestart(const ContainerSpec& spec, const ContainerStatus& st) const {
  auto by = spec.annotations.find(kStoppedKey);
  if (by != spec.annotations.end() && by->second == "1") return false;
  const RestartPolicy& p = spec.restart;
  if (p.name == "always" || p.name == "unless-stopped") return true;
  return p.name == "on-failure" && st.exitCode != 0 && (p.maxRetries == 0 || st.restartCount < p.maxRetries);
}

// The policy's restart, after docker's back-off: 100 ms, doubled for each restart of a container
// that ran less than 10 s, at most a minute. It is "restarting" meanwhile; a stop by hand, a
// removal or a start by hand during the wait calls it off.
asio::awaitable<void> PortLayer::restartLater(std::string id, int64_t ranMs) {
  auto l = live(id);
  if (l->restarting) co_return;
  l->restarting = true;
  l->backoffMs = (ranMs >= 10000 || l->backoffMs == 0) ? 100 : std::min<int64_t>(l->backoffMs * 2, 60000);
  asio::steady_timer t(io_, std::chrono::milliseconds(l->backoffMs));
  co_await t.async_wait(asio::use_awaitable);
  l->restarting = false;
  auto spec = specOf(id);
  if (!spec || l->removed || running(id) || l->starting || !wantsRestart(*spec, statusOf(*spec))) co_return;
  std::map<std::string, std::string> count{{kRestartsKey, std::to_string(statusOf(*spec).restartCount + 1)}};
  if (auto st = co_await setAnnotations(id, count); !st) {
    log::warn("portlayer", "restarting container " + shortId(id) + ": " + st.error().message());
    co_return;
  }
  l->policyStart = true;
  Status started = co_await start(id);
  l->policyStart = false;
  if (!started) log::warn("portlayer", "restarting container " + shortId(id) + ": " + started.error().message());
}

asio::awaitable<Status> PortLayer::setRestartPolicy(const std::string& id, RestartPolicy policy) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (spec->autoRemove && policy.name != "no") {
    co_return Error(Errc::kInvalidArgument, "Restart policy cannot be updated because AutoRemove is enabled for the container");
  }
  spec->restart = std::move(policy);
  co_return co_await saveSpec(*spec);
}

// docker update of memory and CPUs: the VM's definition changes, so its next start has them (a
// running VM keeps what it booted with: no balloon, no CPU hotplug). Beyond the VCH's resource
// pool it could never run: refused.
asio::awaitable<Status> PortLayer::setResources(const std::string& id, std::optional<uint64_t> memoryMiB,
                                                std::optional<int> vcpus) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (memoryMiB) spec->memoryMiB = *memoryMiB;
  if (vcpus) spec->vcpus = *vcpus;
  auto check = [pool = opts_.pool, mem = spec->memoryMiB, cpus = spec->vcpus]() -> Status {
    if (pool.empty()) return ok();
    auto limits = hv::ResourcePools().limits(pool);
    if (!limits) return ok();  // unreadable limits: libvirt's start says what is wrong
    if (limits->memoryBytes && (mem << 20) > *limits->memoryBytes) {
      return Error(Errc::kInvalidArgument, "memory " + std::to_string(mem) + " MiB is more than the VCH's resource pool allows (" +
                                               std::to_string(*limits->memoryBytes >> 20) + " MiB)");
    }
    if (limits->cpus && cpus > std::max(1.0, *limits->cpus)) {
      return Error(Errc::kInvalidArgument, std::to_string(cpus) + " CPUs are more than the VCH's resource pool allows (" +
                                               std::to_string(*limits->cpus) + ")");
    }
    return ok();
  };
  if (auto st = co_await offload(check); !st) co_return st;
  co_return co_await redefine(*spec);
}

}  // namespace vic::pl
