// The container table: specs (cached from the VMs' metadata), lookups, state, recovery,
// and the hypervisor's events.
#include "runtime/portlayer/port_layer.h"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "common/files.h"
#include "common/log.h"
#include "hypervisor/resource_pool.h"
#include "runtime/portlayer/output_log.h"
#include "runtime/portlayer/port_layer_keys.h"
#include "runtime/portlayer/vsock_cid.h"
#include "vsock/codec.h"

namespace vic::pl {
namespace fs = std::filesystem;
using vsock::Request;
using vsock::TetherConnection;

PortLayer::PortLayer(asio::io_context& io, hv::Hypervisor& hv, hv::Datastore ds, images::ImageStore& images,
                     Networks& nets, Volumes& vols, Firewall& firewall, PortLayerOptions opts)
    : io_(io), hv_(hv), ds_(std::move(ds)), images_(images), opts_(std::move(opts)), events_(io.get_executor()),
      nets_(nets), vols_(vols), firewall_(firewall), forwarder_(opts_.vch) {
  std::error_code ec;
  fs::create_directories(opts_.runDir, ec);
  // QEMU creates the tether sockets here: root and QEMU's group only, never world-writable
  if (auto st = hv::shareWithQemu(opts_.runDir, 0770); !st) log::warn("portlayer", st.error().message());
  subscription_ = hv_.subscribe([this](const hv::VmEvent& e) {
    asio::post(io_, [this, e] { onVmEvent(e); });
  });
}

PortLayer::~PortLayer() {
  hv_.unsubscribe(subscription_);
  for (auto& [id, l] : live_) {
    if (l->conn) l->conn->shutdown();  // tether serves one host at a time: let the next one in
  }
  blocking_.join();
}

std::shared_ptr<PortLayer::Live> PortLayer::live(const std::string& id) {
  auto& l = live_[id];
  if (!l) l = std::make_shared<Live>(io_.get_executor());
  return l;
}

Status PortLayer::recover() {
  cleanupDiskMounts();  // copies the last endpoint was doing when it died
  auto vms = hv_.listVms();
  if (!vms) return std::move(vms).error().wrap("listing containerVMs");
  std::vector<std::string> restarts;  // containers whose policy wants them running again
  for (const auto& vm : *vms) {
    if (vm.rfind(opts_.vch + "-", 0) != 0) continue;
    if (vm.rfind(opts_.vch + "-template-", 0) == 0) {
      (void)hv_.destroy(vm);  // the last endpoint died while making it: it is made again
      continue;
    }
    auto md = hv_.metadata(vm);
    if (!md || md->count(kVchKey) == 0 || md->at(kVchKey) != opts_.vch || !md->count(kSpecKey)) continue;
    auto spec = decodeSpec(md->at(kSpecKey));
    if (!spec) {
      log::warn("portlayer", "skipping containerVM " + vm + ": " + spec.error().message());
      continue;
    }
    specs_[spec->id] = *spec;
    auto power = hv_.powerState(vm).valueOr(hv::PowerState::kOff);
    auto l = live(spec->id);
    l->power = power;
    l->boots = 1;
    if (power == hv::PowerState::kRunning || power == hv::PowerState::kPaused) {
      l->runId = hv_.runId(vm).valueOr(0);  // so that its guest's power-off is recognised
      if (power == hv::PowerState::kPaused && hv_.pausedForIoError(vm).valueOr(false)) onIoErrorPause(spec->id);
      restoreNetwork(*spec);
      asio::co_spawn(io_, reconnect(spec->id), asio::detached);
      if (spec->logLimits.maxBytes > 0) asio::co_spawn(io_, keepLogTrimmed(spec->id), asio::detached);
      asio::co_spawn(io_, watchHealth(spec->id), asio::detached);  // starting over: probes are not kept
    } else if (spec->autoRemove && spec->annotations.count(kStartedKey)) {
      asio::co_spawn(io_, afterStop(spec->id), asio::detached);  // it ended while we were down
    } else if (spec->annotations.count(kStartedKey) && wantsRestart(*spec, statusOf(*spec))) {
      restarts.push_back(spec->id);  // its policy outlives the endpoint
    }
  }
  refreshForwards();  // also drops the rules of containers that stopped while we were down
  // The default shape's template first (so that the first run is a clone and no restart clones
  // a template while it is checked or remade), then the restarts the policies ask for.
  auto prepareThenRestart = [this, restarts]() -> asio::awaitable<void> {
    if (opts_.instantClone) {
      ContainerSpec shape;
      co_await prepareTemplate(shape.vcpus, shape.memoryMiB);
    }
    for (const auto& id : restarts) asio::co_spawn(io_, restartLater(id, 0), asio::detached);
  };
  asio::co_spawn(io_, prepareThenRestart, asio::detached);
  return ok();
}

Result<ContainerSpec> PortLayer::specOf(const std::string& id) {
  auto it = specs_.find(id);
  if (it == specs_.end()) return noSuch(id);
  return it->second;
}

Result<ContainerInfo> PortLayer::find(const std::string& ref) {
  std::string r = ref;
  if (!r.empty() && r[0] == '/') r.erase(0, 1);
  if (specs_.count(r)) return ContainerInfo{specs_[r], statusOf(specs_[r])};
  for (auto& [id, s] : specs_) {
    if (s.name == r) return ContainerInfo{s, statusOf(s)};
  }
  const ContainerSpec* hit = nullptr;
  for (auto& [id, s] : specs_) {
    if (!r.empty() && id.rfind(r, 0) == 0) {
      if (hit) return Error(Errc::kInvalidArgument, "multiple IDs found with provided prefix: " + r);
      hit = &s;
    }
  }
  if (!hit) return noSuch(ref);
  return ContainerInfo{*hit, statusOf(*hit)};
}

std::vector<ContainerInfo> PortLayer::list() {
  std::vector<ContainerInfo> out;
  for (auto& [id, s] : specs_) out.push_back({s, statusOf(s)});
  return out;
}

ContainerStatus PortLayer::statusOf(const ContainerSpec& spec) {
  ContainerStatus st;
  auto l = live(spec.id);
  auto started = spec.annotations.find(kStartedKey);
  st.startedNs = started == spec.annotations.end() ? 0 : std::stoll(started->second);
  auto restarts = spec.annotations.find(kRestartsKey);
  st.restartCount = restarts == spec.annotations.end() ? 0 : std::atoi(restarts->second.c_str());
  st.restarting = l->restarting;
  st.health = l->health;
  st.paused = l->power == hv::PowerState::kPaused;
  if (!l->removed && (running(spec.id) || l->starting)) {
    st.state = RunState::kRunning;
    if (l->ioPaused) st.error = "paused: a write to the container's disk failed, no space left on device (the VCH's datastore is full); it resumes once space is freed";
    return st;
  }
  if (st.startedNs == 0) return st;  // created, never started
  st.state = RunState::kExited;
  auto exit = l->log.lastExit(logFile(spec.id));
  if (exit && exit->finishedNs >= st.startedNs) {
    st.exitCode = exit->exitCode;
    st.error = exit->error;
    st.oomKilled = exit->oomKilled;
    st.finishedNs = exit->finishedNs;
  } else {
    st.exitCode = 137;  // powered off without tether's record: killed
    st.finishedNs = l->log.lastWriteNs(logFile(spec.id));
  }
  if (l->removed) st.state = RunState::kRemoving;  // keeps the exit status for waiters
  return st;
}

void PortLayer::containerEvent(const ContainerSpec& spec, const std::string& action) {
  events_.publish({"container", action, spec.id, {{"name", spec.name}, {"image", spec.imageRef}}, nowNs(), 0});
}

std::string PortLayer::logFile(const std::string& id) const { return dir(id) + "/output.log"; }

hv::VmSpec PortLayer::vmSpec(const ContainerSpec& spec) const {
  hv::VmSpec vm;
  std::string d = dir(spec.id);
  vm.name = vmName(spec.id);
  vm.vcpus = spec.vcpus;
  vm.memoryMiB = spec.memoryMiB;
  vm.kernel = opts_.kernel;
  vm.initrd = opts_.bootstrap;
  vm.cmdline = kGuestCmdline;
  vm.disks.push_back({d + "/rw.qcow2", spec.config.rootDisk, "qcow2", false});
  for (const auto& ep : spec.networks) {
    if (const Scope* s = nets_.byId(ep.scope)) vm.nics.push_back({s->portGroup, ep.mac});
  }
  if (vm.nics.empty()) vm.nics.push_back(templateNic());  // where a clone has the template's NIC
  addVolumeDisks(spec, vm);
  vm.tetherSocket = tetherSocket(spec.id);
  if (spec.vsockCid != 0) vm.vsockCid = spec.vsockCid;
  vm.outputLog = logFile(spec.id);
  vm.consoleLog = d + "/console.log";
  vm.fwCfg["opt/org.vic/config"] = d + "/config.json";
  if (!opts_.pool.empty()) vm.partition = hv::ResourcePools::partition(opts_.pool);
  vm.metadata[kVchKey] = opts_.vch;
  vm.metadata[kSpecKey] = encodeSpec(spec);
  return vm;
}

vsock::ContainerConfig PortLayer::tetherConfig(const ContainerSpec& spec, bool runBlock) const {
  vsock::ContainerConfig cfg = spec.config;
  cfg.id = spec.id;
  cfg.name = spec.name;
  cfg.main.id = "main";
  cfg.main.runBlock = runBlock;
  fillNetworkConfig(spec, cfg);
  fillMounts(spec, cfg);
  return cfg;
}

Status PortLayer::writeTetherConfig(const ContainerSpec& spec, bool runBlock) {
  std::string file = dir(spec.id) + "/config.json";
  return writeFileAtomically(file, vsock::encodeConfig(tetherConfig(spec, runBlock)));
}

std::optional<std::string> PortLayer::nameHolder(const std::string& name) const {
  for (const auto* table : {&specs_, &creating_}) {
    for (const auto& [id, s] : *table) {
      if (s.name == name) return id;
    }
  }
  return std::nullopt;
}

std::string PortLayer::freeRandomName() const {
  std::string name = randomName();
  for (int i = 0; nameHolder(name); ++i) name = randomName() + (i < 8 ? "" : std::to_string(i));  // docker adds a digit too
  return name;
}

asio::awaitable<Status> PortLayer::rename(const std::string& id, const std::string& newName) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  for (auto& [other, s] : specs_) {
    if (s.name == newName && other != id) {
      co_return Error(Errc::kConflict, "Error when allocating new name: Conflict. The container name \"/" + newName +
                                        "\" is already in use by container \"" + other + "\". You have to remove (or rename) that container to be able to reuse that name.");
    }
  }
  std::string old = spec->name;
  bool up = statusOf(*spec).state == RunState::kRunning;
  ContainerSpec renamed = *spec;
  renamed.name = newName;
  if (auto st = co_await saveSpec(renamed); !st) co_return st;
  if (up) announce(*spec, false);  // the scopes' DNS forgets the old name, learns the new
  if (up) announce(renamed, true);
  events_.publish({"container", "rename", id, {{"name", newName}, {"oldName", "/" + old}}, nowNs(), 0});
  co_return ok();
}

asio::awaitable<Status> PortLayer::setAnnotations(const std::string& id, const std::map<std::string, std::string>& add) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  for (const auto& [k, v] : add) spec->annotations[k] = v;
  co_return co_await saveSpec(*spec);
}

// The spec changed: into the VM's metadata (the source of truth) first, then the cache.
asio::awaitable<Status> PortLayer::saveSpec(const ContainerSpec& spec) {
  auto save = [this, vm = vmName(spec.id), text = encodeSpec(spec)] { return hv_.setMetadata(vm, {{kSpecKey, text}}); };
  if (auto st = co_await offload(save); !st) co_return st;
  if (specs_.count(spec.id)) specs_[spec.id] = spec;
  co_return ok();
}

// A stopped container's VM defined again from its spec (devices in their places) on the VCH's
// transport (it keeps its CID on AF_VSOCK, gets one if it had none; loses it on virtio-serial),
// then the spec saved.
asio::awaitable<Status> PortLayer::redefine(const ContainerSpec& spec) {
  ContainerSpec s = spec;
  if (!opts_.vsock) s.vsockCid = 0;
  auto define = [this, s, vm = vmSpec(s)] { return defineContainer(s, vm); };
  auto defined = co_await offload(define);
  if (!defined) co_return std::move(defined).error().wrap("redefining container " + shortId(spec.id));
  co_return co_await saveSpec(*defined);
}

// Blocking. The CID is chosen under the host's lock (vsock_cid.h) and goes into the spec the VM's
// metadata holds, so that a recovering endpoint knows how to reach the VM.
Result<ContainerSpec> PortLayer::defineContainer(ContainerSpec spec, hv::VmSpec vm) {
  if (!opts_.vsock || spec.vsockCid != 0) {
    if (auto st = hv_.defineVm(vm); !st) return std::move(st).error();
    return spec;
  }
  auto withCid = [&](uint32_t cid) {
    ContainerSpec s = spec;
    s.vsockCid = cid;
    vm.vsockCid = cid;
    vm.metadata[kSpecKey] = encodeSpec(s);
    return hv_.defineVm(vm);
  };
  auto cid = defineWithFreeCid(hv_, opts_.cidLock, withCid);
  if (!cid) return std::move(cid).error();
  spec.vsockCid = *cid;
  return spec;
}

// A VM with a CID is reached over AF_VSOCK (its tether listens there), any other over its
// virtio-serial port's unix socket.
vsock::Endpoint PortLayer::tetherEndpoint(const std::string& id) {
  auto it = specs_.find(id);
  uint32_t cid = it == specs_.end() ? 0 : it->second.vsockCid;
  if (cid != 0 && opts_.vsockEndpoint) return opts_.vsockEndpoint(cid);
  return vsock::hostEndpoint(tetherSocket(id), cid != 0 ? std::optional<uint32_t>(cid) : std::nullopt);
}

bool PortLayer::running(const std::string& id) {
  auto p = live(id)->power;
  return p == hv::PowerState::kRunning || p == hv::PowerState::kPaused;
}

void PortLayer::onVmEvent(const hv::VmEvent& e) {
  if (e.vm.empty() && e.detail == hv::kDisconnected && !hvDown_) {
    log::warn("portlayer", "the hypervisor is unreachable: containers keep their last known state until it is back");
    hvDown_ = true;
    asio::co_spawn(io_, awaitHypervisor(), asio::detached);
    return;
  }
  if (e.vm.empty() && e.detail == hv::kReconnected) {
    asio::co_spawn(io_, resync(), asio::detached);
    return;
  }
  if (e.vm.rfind(opts_.vch + "-", 0) != 0) return;
  if (e.kind == hv::VmEventKind::kPaused || e.kind == hv::VmEventKind::kResumed) {
    for (auto& [id, spec] : specs_) {
      if (vmName(id) != e.vm) continue;
      if (e.kind == hv::VmEventKind::kResumed) onResumed(id);
      if (e.kind == hv::VmEventKind::kPaused && e.detail == hv::kIoErrorPause) onIoErrorPause(id);
      return;
    }
    return;
  }
  bool stopped = e.kind == hv::VmEventKind::kStopped || e.kind == hv::VmEventKind::kCrashed;
  bool halted = e.kind == hv::VmEventKind::kShutDown;
  if (!stopped && !halted && e.kind != hv::VmEventKind::kStarted) return;
  for (auto& [id, spec] : specs_) {
    if (vmName(id) != e.vm) continue;
    auto l = live(id);
    if (halted) {
      if (e.runId != 0) asio::co_spawn(io_, afterStop(id, e.runId), asio::detached);
      return;  // without a run id, the kStopped that follows says it
    }
    if (!stopped) {
      l->power = hv::PowerState::kRunning;
      return;
    }
    if (l->halting) {  // the end of the run whose halt was handled: libvirt orders them so
      l->halting = false;
      l->changed.notify();
      return;
    }
    // afterStop says "off" once the VM really is off and the stop is handled
    asio::co_spawn(io_, afterStop(id), asio::detached);
    return;
  }
}

// Until a call reaches the hypervisor again (which sends "reconnected"): libvirt reconnects only
// when asked something.
asio::awaitable<void> PortLayer::awaitHypervisor() {
  auto probe = [this] { return hv_.listVms().hasValue(); };
  while (!co_await offload(probe)) {
    asio::steady_timer t(io_, std::chrono::seconds(1));
    co_await t.async_wait(asio::use_awaitable);
  }
}

// Back from an outage, the events it lost are read from the VMs themselves: a container whose
// VM went off meanwhile is stopped now (die, --rm), and nothing else changes.
asio::awaitable<void> PortLayer::resync() {
  std::vector<std::string> ids;
  for (const auto& [id, spec] : specs_) {
    if (running(id)) ids.push_back(id);
  }
  auto read = [this, ids] {
    std::map<std::string, Result<hv::PowerState>> out;
    for (const auto& id : ids) out.emplace(id, hv_.powerState(vmName(id)));
    return out;
  };
  auto power = co_await offload(read);
  for (const auto& [id, p] : power) {
    if (knownOff(p) && running(id)) asio::co_spawn(io_, afterStop(id), asio::detached);
  }
  if (hvDown_) log::info("portlayer", "the hypervisor is back: " + std::to_string(ids.size()) + " running container(s) checked");
  hvDown_ = false;
}

}  // namespace vic::pl
