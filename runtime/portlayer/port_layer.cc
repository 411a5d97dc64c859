#include "runtime/portlayer/port_layer.h"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "common/log.h"
#include "hypervisor/resource_pool.h"
#include "runtime/portlayer/output_log.h"
#include "vsock/codec.h"

namespace vic::pl {
namespace fs = std::filesystem;
using vsock::Request;
using vsock::TetherConnection;

namespace {
constexpr const char* kSpecKey = "vic.spec";
constexpr const char* kVchKey = "vic.vch";
constexpr const char* kStartedKey = "vic.started";

std::string shortId(const std::string& id) { return id.substr(0, 12); }
Error noSuch(const std::string& ref) { return Error(Errc::kNotFound, "No such container: " + ref); }
}  // namespace

// What only a running endpoint knows about a container; rebuilt after a restart.

PortLayer::PortLayer(asio::io_context& io, hv::Hypervisor& hv, hv::Datastore ds, images::ImageStore& images,
                     Networks& nets, Volumes& vols, PortLayerOptions opts)
    : io_(io), hv_(hv), ds_(std::move(ds)), images_(images), opts_(std::move(opts)), events_(io.get_executor()),
      nets_(nets), vols_(vols), forwarder_(opts_.vch) {
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
  pool_.join();
}


asio::awaitable<Result<hv::VmStats>> PortLayer::stats(const std::string& id) {
  auto out = std::make_shared<Result<hv::VmStats>>(Error(Errc::kConflict, "container " + id + " is not running"));
  std::string vm = vmName(id);
  auto op = [this, vm, out] {
    *out = hv_.vmStats(vm);
    return ok();
  };
  co_await offload(op);
  co_return *out;
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
  for (const auto& vm : *vms) {
    if (vm.rfind(opts_.vch + "-", 0) != 0) continue;
    auto md = hv_.metadata(vm);
    if (!md || md->count(kVchKey) == 0 || md->at(kVchKey) != opts_.vch || !md->count(kSpecKey)) continue;
    auto spec = decodeSpec(md->at(kSpecKey));
    if (!spec) {
      log::warn("portlayer", "skipping containerVM " + vm + ": " + spec.error().message());
      continue;
    }
    specs_[spec->id] = *spec;
    if (hv_.powerState(vm).valueOr(hv::PowerState::kOff) == hv::PowerState::kRunning) {
      restoreNetwork(*spec);
      asio::co_spawn(io_, reconnect(spec->id), asio::detached);
    } else if (spec->autoRemove && spec->annotations.count(kStartedKey)) {
      asio::co_spawn(io_, afterStop(spec->id), asio::detached);  // it ended while we were down
    }
  }
  refreshForwards();  // also drops the rules of containers that stopped while we were down
  return ok();
}

// A running container found at recovery: reconnect, and release its main session if the
// endpoint died between power-on and Unblock (no attach can be pending after a restart).
asio::awaitable<void> PortLayer::reconnect(std::string id) {
  auto conn = co_await connection(id);
  if (conn) co_await unblockMain(id, *conn);
}

asio::awaitable<void> PortLayer::unblockMain(const std::string& id, TetherConnection::Ptr conn) {
  Request unblock = vsock::Unblock{"main"};
  if (auto r = co_await conn->call(unblock); !r) log::warn("portlayer", "unblocking " + shortId(id) + ": " + r.error().message());
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
  auto power = hv_.powerState(vmName(spec.id)).valueOr(hv::PowerState::kOff);
  if (!l->removed && (power == hv::PowerState::kRunning || power == hv::PowerState::kPaused || l->starting)) {
    st.state = RunState::kRunning;
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

std::string PortLayer::logFile(const std::string& id) const { return dir(id) + "/output.log"; }

hv::VmSpec PortLayer::vmSpec(const ContainerSpec& spec) const {
  hv::VmSpec vm;
  std::string d = dir(spec.id);
  vm.name = vmName(spec.id);
  vm.vcpus = spec.vcpus;
  vm.memoryMiB = spec.memoryMiB;
  vm.kernel = opts_.kernel;
  vm.initrd = opts_.bootstrap;
  vm.cmdline = "console=ttyS0 quiet panic=-1";
  vm.disks.push_back({d + "/rw.qcow2", spec.config.rootDisk, "qcow2", false});
  for (const auto& ep : spec.networks) {
    if (const Scope* s = nets_.byId(ep.scope)) vm.nics.push_back({s->portGroup, ep.mac});
  }
  addVolumeDisks(spec, vm);
  vm.tetherSocket = tetherSocket(spec.id);
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
  vsock::ContainerConfig cfg = tetherConfig(spec, runBlock);
  std::string file = dir(spec.id) + "/config.json";
  std::ofstream out(file + ".tmp", std::ios::trunc);
  out << vsock::encodeConfig(cfg);
  if (!out.flush()) return Error(Errc::kIo, "writing " + file);
  out.close();
  fs::rename(file + ".tmp", file);
  ::chmod(file.c_str(), 0644);
  return ok();
}

bool PortLayer::nameTaken(const std::string& name) const {
  for (const auto& [id, s] : specs_) {
    if (s.name == name) return true;
  }
  return false;
}

std::string PortLayer::freeRandomName() const {
  std::string name = randomName();
  for (int i = 0; nameTaken(name); ++i) name = randomName() + (i < 8 ? "" : std::to_string(i));  // docker adds a digit too
  return name;
}

Result<ContainerSpec> PortLayer::create(ContainerSpec spec) {
  if (spec.name.empty()) spec.name = freeRandomName();
  if (auto st = assignAddresses(spec); !st) return std::move(st).error();
  for (auto& [id, s] : specs_) {
    if (s.name == spec.name) {
      return Error(Errc::kConflict, "Conflict. The container name \"/" + spec.name + "\" is already in use by container \"" +
                                        id + "\". You have to remove (or rename) that container to be able to reuse that name.");
    }
  }
  auto made = provideVolumes(spec);
  if (!made) return std::move(made).error();
  std::string d = dir(spec.id);
  std::error_code ec;
  auto undo = [&](Error e) {
    fs::remove_all(d, ec);
    dropVolumes(*made);
    return e;
  };
  fs::create_directories(d, ec);
  if (auto st = hv::shareWithQemu(d, 0770); !st) return undo(std::move(st).error());  // QEMU writes its log here
  std::string rel = "containers/" + spec.id + "/rw.qcow2";
  auto parent = images_.layers().diskOf(spec.topLayer);
  if (auto st = ds_.createChild(rel, parent); !st) return undo(std::move(st).error().wrap("creating the container's disk"));
  if (auto st = hv::shareWithQemu(d + "/rw.qcow2", 0660); !st) return undo(std::move(st).error());
  if (auto st = writeTetherConfig(spec, false); !st) return undo(std::move(st).error());
  if (auto st = hv_.defineVm(vmSpec(spec)); !st) return undo(std::move(st).error().wrap("defining the containerVM"));
  specs_[spec.id] = spec;
  events_.publish({"container", "create", spec.id, {{"name", spec.name}, {"image", spec.imageRef}}, nowNs(), 0});
  return spec;
}

Status PortLayer::rename(const std::string& id, const std::string& newName) {
  auto spec = specOf(id);
  if (!spec) return std::move(spec).error();
  for (auto& [other, s] : specs_) {
    if (s.name == newName && other != id) {
      return Error(Errc::kConflict, "Error when allocating new name: Conflict. The container name \"/" + newName +
                                        "\" is already in use by container \"" + other + "\". You have to remove (or rename) that container to be able to reuse that name.");
    }
  }
  std::string old = spec->name;
  bool running = statusOf(*spec).state == RunState::kRunning;
  ContainerSpec renamed = *spec;
  renamed.name = newName;
  if (auto st = saveSpec(renamed); !st) return st;
  if (running) announce(*spec, false);  // the scopes' DNS forgets the old name, learns the new
  if (running) announce(renamed, true);
  events_.publish({"container", "rename", id, {{"name", newName}, {"oldName", "/" + old}}, nowNs(), 0});
  return ok();
}

Status PortLayer::setAnnotations(const std::string& id, const std::map<std::string, std::string>& add) {
  auto spec = specOf(id);
  if (!spec) return std::move(spec).error();
  for (const auto& [k, v] : add) spec->annotations[k] = v;
  return saveSpec(*spec);
}

// The spec changed: into the VM's metadata (the source of truth) first, then the cache.
Status PortLayer::saveSpec(const ContainerSpec& spec) {
  if (auto st = hv_.setMetadata(vmName(spec.id), {{kSpecKey, encodeSpec(spec)}}); !st) return st;
  specs_[spec.id] = spec;
  return ok();
}

asio::awaitable<Status> PortLayer::start(const std::string& id) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  auto l = live(id);
  if (statusOf(*spec).state == RunState::kRunning) co_return Error(Errc::kNotModified, "container already started");
  while (l->diskUsers > 0) co_await l->changed.wait();  // a copy into the stopped container finishes first
  if (statusOf(*spec).state == RunState::kRunning || l->starting) co_return Error(Errc::kNotModified, "container already started");
  l->starting = true;
  bool runBlock = l->pendingAttach > 0;
  Status st = writeTetherConfig(*spec, runBlock);
  std::string started = std::to_string(nowNs());
  if (st) st = volumesFree(*spec);
  if (st) st = publish(id);
  if (!st) co_return startFailed(id, std::move(st).error());  // docker's own words (a taken port): no prefix
  st = setAnnotations(id, {{kStartedKey, started}});
  std::string vm = vmName(id);
  auto op1 = [this, vm] { return hv_.powerOn(vm); };
  if (st) st = co_await offload(op1);
  if (!st) co_return startFailed(id, std::move(st).error().wrap("starting container " + shortId(id)));
  networkUp(id);
  events_.publish({"container", "start", id, {{"name", spec->name}, {"image", spec->imageRef}}, nowNs(), 0});
  auto conn = co_await connection(id);
  l->starting = false;
  if (conn && runBlock) {
    asio::steady_timer grace(io_, std::chrono::seconds(10));  // attachers bind their channels first
    while (l->pendingAttach > 0 && grace.expiry() > asio::steady_timer::clock_type::now()) {
      asio::steady_timer tick(io_, std::chrono::milliseconds(20));
      co_await tick.async_wait(asio::use_awaitable);
    }
    co_await unblockMain(id, *conn);
  }
  l->changed.notify();
  // docker fails the start itself when the process cannot be launched (the CLI then exits 127/126)
  TetherConnection::Ptr tether = conn ? *conn : nullptr;  // no ?: inside co_await (GCC 12 double-destroys)
  std::string failed = co_await launchError(id, tether);
  if (!failed.empty()) co_return Error(Errc::kInvalidArgument, "failed to create task for container: " + failed + ": unknown");
  co_return ok();
}

// Undoes what a start had done, and (as dockerd does) removes an --rm container whose start
// failed, so the CLI waiting for its removal returns.
Error PortLayer::startFailed(const std::string& id, Error e) {
  networkDown(id);
  auto l = live(id);
  l->starting = false;
  ++l->failedStarts;
  l->changed.notify();
  auto spec = specOf(id);
  if (spec && spec->autoRemove) asio::co_spawn(io_, removeAfterFailedStart(id), asio::detached);
  return e;
}

asio::awaitable<void> PortLayer::removeAfterFailedStart(std::string id) {
  auto spec = specOf(id);
  if (!spec) co_return;
  Status gone = co_await destroy(id);
  if (gone) removeAnonymousVolumes(*spec);
}

asio::awaitable<std::string> PortLayer::launchError(const std::string& id, TetherConnection::Ptr conn) {
  if (conn) {
    Request list = vsock::ListSessions{};
    auto r = co_await conn->call(list);
    auto* sessions = r ? std::get_if<vsock::SessionList>(&*r) : nullptr;
    for (const auto& s : sessions ? sessions->sessions : std::vector<vsock::SessionInfo>{}) {
      if (s.id == "main" && s.exit) co_return s.exit->error;
    }
    co_return "";
  }
  auto spec = specOf(id);  // tether may have powered off before we connected: read its exit record
  if (!spec) co_return "";
  auto st = statusOf(*spec);
  co_return st.state == RunState::kExited ? st.error : "";
}

asio::awaitable<Result<TetherConnection::Ptr>> PortLayer::connectTether(std::string id) {
  vsock::Endpoint ep;
  ep.kind = vsock::Endpoint::Kind::kUnix;
  ep.path = tetherSocket(id);
  vsock::ConnectOptions opts;
  opts.handshakeTimeout = std::chrono::duration_cast<std::chrono::milliseconds>(opts_.bootTimeout);
  auto deadline = std::chrono::steady_clock::now() + opts_.bootTimeout;
  while (true) {
    auto c = co_await TetherConnection::connect(ep, opts);
    if (c) co_return c;
    auto power = hv_.powerState(vmName(id)).valueOr(hv::PowerState::kOff);
    if (power != hv::PowerState::kRunning || std::chrono::steady_clock::now() > deadline) {
      co_return std::move(c).error().wrap("connecting to container " + shortId(id));
    }
    asio::steady_timer t(io_, std::chrono::milliseconds(50));
    co_await t.async_wait(asio::use_awaitable);
  }
}

// The container's tether connection, connecting once (concurrent callers share it).
asio::awaitable<Result<TetherConnection::Ptr>> PortLayer::connection(const std::string& id) {
  auto l = live(id);
  while (l->connecting) co_await l->changed.wait();
  if (l->conn && l->conn->alive()) co_return l->conn;
  l->connecting = true;
  auto c = co_await connectTether(id);
  l->connecting = false;
  if (c) l->conn = *c;
  l->changed.notify();
  co_return c;
}

void PortLayer::onVmEvent(const hv::VmEvent& e) {
  if (e.vm.rfind(opts_.vch + "-", 0) != 0) return;
  if (e.kind != hv::VmEventKind::kStopped && e.kind != hv::VmEventKind::kCrashed) return;
  for (auto& [id, spec] : specs_) {
    if (vmName(id) != e.vm) continue;
    asio::co_spawn(io_, afterStop(id), asio::detached);
    return;
  }
}

// A containerVM powered off: however it happened, the container has exited.
asio::awaitable<void> PortLayer::afterStop(std::string id) {
  auto l = live(id);
  if (l->conn) l->conn->shutdown();
  l->conn.reset();
  // libvirt reports the stop a moment before its power state says so: settle first, so
  // waiters read the exit status and not "running".
  for (int i = 0; i < 100 && hv_.powerState(vmName(id)).valueOr(hv::PowerState::kOff) == hv::PowerState::kRunning; ++i) {
    asio::steady_timer t(io_, std::chrono::milliseconds(20));
    co_await t.async_wait(asio::use_awaitable);
  }
  ++l->stops;
  networkDown(id);
  auto spec = specOf(id);
  if (!spec) co_return;
  auto st = statusOf(*spec);
  events_.publish({"container", "die", id,
                   {{"name", spec->name}, {"image", spec->imageRef}, {"exitCode", std::to_string(st.exitCode)}}, nowNs(), 0});
  l->changed.notify();
  if (spec->autoRemove && !l->removed) {
    Status gone = co_await destroy(id);
    if (gone) removeAnonymousVolumes(*spec);  // --rm takes the anonymous volumes along
  }
}

asio::awaitable<Status> PortLayer::stop(const std::string& id, std::optional<int> timeout) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (statusOf(*spec).state != RunState::kRunning) co_return Error(Errc::kNotModified, "container already stopped");
  auto l = live(id);
  uint64_t stopsBefore = l->stops;
  int secs = timeout.value_or(spec->stopTimeout);
  auto conn = co_await connection(id);
  if (conn && secs != 0) {
    Request sig = vsock::Signal{"main", spec->stopSignal};
    (void)co_await (*conn)->call(sig);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(secs < 0 ? 3600 * 24 : secs);
  while (l->stops == stopsBefore && std::chrono::steady_clock::now() < deadline) {
    asio::steady_timer t(io_, std::chrono::milliseconds(50));
    co_await t.async_wait(asio::use_awaitable);
  }
  if (l->stops == stopsBefore) {
    events_.publish({"container", "kill", id, {{"name", spec->name}, {"signal", "9"}}, nowNs(), 0});
    std::string vm = vmName(id);
    auto op2 = [this, vm] { return hv_.powerOff(vm); };
    Status off = co_await offload(op2);
    if (!off && hv_.powerState(vm).valueOr(hv::PowerState::kOff) == hv::PowerState::kRunning) co_return off;
  }
  events_.publish({"container", "stop", id, {{"name", spec->name}, {"image", spec->imageRef}}, nowNs(), 0});
  co_return ok();
}

asio::awaitable<Status> PortLayer::kill(const std::string& id, int signal) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (statusOf(*spec).state != RunState::kRunning) {
    co_return Error(Errc::kConflict, "Cannot kill container: " + id + ": Container " + id + " is not running");
  }
  events_.publish({"container", "kill", id, {{"name", spec->name}, {"signal", std::to_string(signal)}}, nowNs(), 0});
  auto conn = co_await connection(id);
  if (conn) {
    Request sig = vsock::Signal{"main", signal};
    auto r = co_await (*conn)->call(sig);
    if (r) co_return ok();
  }
  if (signal != SIGKILL) co_return Error(Errc::kUnavailable, "cannot reach container " + shortId(id) + " to signal it");
  std::string vm = vmName(id);
  auto op3 = [this, vm] { return hv_.powerOff(vm); };
  co_return co_await offload(op3);
}

asio::awaitable<Result<ContainerStatus>> PortLayer::wait(const std::string& id, WaitCondition cond) {
  if (!specs_.count(id)) co_return noSuch(id);
  auto l = live(id);
  uint64_t stopsBefore = l->stops;
  ContainerStatus last = statusOf(specs_[id]);
  while (true) {
    auto it = specs_.find(id);  // re-read: start records its time in the spec
    if (it == specs_.end()) co_return last;  // removed
    last = statusOf(it->second);
    if (cond == WaitCondition::kNextExit && l->stops != stopsBefore) co_return last;
    if (cond == WaitCondition::kNotRunning && !l->starting && last.state != RunState::kRunning) co_return last;
    co_await l->changed.wait();
  }
}

asio::awaitable<Status> PortLayer::remove(const std::string& id, bool force, bool removeVolumes) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  auto st = statusOf(*spec);
  if (st.state == RunState::kRunning && !force) {
    co_return Error(Errc::kConflict, "cannot remove container \"/" + spec->name +
                                         "\": container is running: stop the container before removing or force remove");
  }
  if (st.state == RunState::kRemoving) co_return Error(Errc::kConflict, "removal of container " + id + " is already in progress");
  Status st2 = co_await destroy(id);
  if (st2 && removeVolumes) removeAnonymousVolumes(*spec);
  co_return st2;
}

asio::awaitable<Status> PortLayer::destroy(const std::string& id) {
  auto l = live(id);
  while (l->diskUsers > 0) co_await l->changed.wait();  // a copy holds its disk
  l->removed = true;
  std::string vm = vmName(id);
  auto op4 = [this, vm] { return hv_.destroy(vm); };
  Status st = co_await offload(op4);
  if (!st && st.error().code() != Errc::kNotFound) {
    l->removed = false;
    co_return std::move(st).error().wrap("removing container " + shortId(id));
  }
  networkDown(id);
  std::error_code ec;
  fs::remove_all(dir(id), ec);
  auto spec = specOf(id);
  specs_.erase(id);
  if (spec) events_.publish({"container", "destroy", id, {{"name", spec->name}, {"image", spec->imageRef}}, nowNs(), 0});
  l->changed.notify();
  live_.erase(id);
  co_return ok();
}

asio::awaitable<Result<SessionStreams>> PortLayer::attach(const std::string& id, bool in, bool out, bool err) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  auto l = live(id);
  ++l->pendingAttach;
  struct Done {
    std::shared_ptr<Live> l;
    ~Done() {
      --l->pendingAttach;
      l->changed.notify();
    }
  } done{l};
  uint64_t failedStarts = l->failedStarts, stops = l->stops;
  while (!(l->conn && l->conn->alive())) {  // attached before start: wait for it
    if (!specs_.count(id)) co_return noSuch(id);
    if (l->failedStarts != failedStarts) co_return Error(Errc::kConflict, "the container failed to start");
    auto st = statusOf(*spec);
    if (st.state == RunState::kRunning && !l->starting && !l->connecting) break;
    if (st.state == RunState::kExited && l->stops != stops) co_return Error(Errc::kConflict, "container exited");
    co_await l->changed.wait();
  }
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  SessionStreams s{*conn, {}, "main"};
  bool tty = spec->config.main.tty;
  if (out || (err && tty)) s.channels.stdoutCh = *(*conn)->openChannel();
  if (err && !tty) s.channels.stderrCh = *(*conn)->openChannel();
  if (in) s.channels.stdinCh = *(*conn)->openChannel();
  Request req = vsock::Attach{"main", s.channels};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error().wrap("attaching to " + shortId(id));
  co_return s;
}

asio::awaitable<Result<SessionStreams>> PortLayer::exec(const std::string& id, vsock::SessionSpec session) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (statusOf(*spec).state != RunState::kRunning) co_return Error(Errc::kConflict, "Container " + id + " is not running");
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  SessionStreams s{*conn, {}, session.id};
  s.channels.stdoutCh = *(*conn)->openChannel();
  if (!session.tty) s.channels.stderrCh = *(*conn)->openChannel();
  if (session.openStdin) s.channels.stdinCh = *(*conn)->openChannel();
  Request req = vsock::Exec{session, s.channels};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error();
  co_return s;
}

asio::awaitable<Result<vsock::ExitStatus>> PortLayer::waitSession(const std::string& id, const std::string& session) {
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  Request req = vsock::Wait{session};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error();
  if (auto* e = std::get_if<vsock::ExitStatus>(&*r)) co_return *e;
  co_return Error(Errc::kProtocol, "tether answered wait without an exit status");
}

asio::awaitable<Status> PortLayer::resize(const std::string& id, const std::string& session, uint16_t rows, uint16_t cols) {
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  Request req = vsock::Resize{session, rows, cols};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error();
  co_return ok();
}

asio::awaitable<Status> PortLayer::signalSession(const std::string& id, const std::string& session, int signal) {
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  Request req = vsock::Signal{session, signal};
  auto r = co_await (*conn)->call(req);
  if (!r) co_return std::move(r).error();
  co_return ok();
}

}  // namespace vic::pl
