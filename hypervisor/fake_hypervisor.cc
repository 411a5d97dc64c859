#include "hypervisor/fake_hypervisor.h"

#include <algorithm>
#include <fstream>
#include <string>

#include "common/io_thread.h"

namespace vic::hv {

namespace {
Error noVm(const std::string& vm) { return Error(Errc::kNotFound, "no domain with matching name '" + vm + "'"); }
}  // namespace

FakeHypervisor::~FakeHypervisor() {
  std::vector<std::unique_ptr<FakeGuest>> guests;
  {
    Lock lock(mu_);
    for (auto& [name, vm] : vms_) {
      if (vm.guest) guests.push_back(std::move(vm.guest));
    }
    for (auto& g : halted_) guests.push_back(std::move(g));
    handlers_.clear();
  }
  guests.clear();  // joins the guests' threads; their halts find no handlers
}

void FakeHypervisor::setGuestBoot(GuestBoot boot) {
  Lock lock(mu_);
  boot_ = std::move(boot);
}

void FakeHypervisor::failNext(const std::string& method, Error e) {
  Lock lock(mu_);
  failures_.insert_or_assign(method, std::move(e));
}

void FakeHypervisor::duringNext(const std::string& method, std::function<void()> f) {
  Lock lock(mu_);
  during_.insert_or_assign(method, std::move(f));
}

std::vector<std::string> FakeHypervisor::calls() const {
  Lock lock(mu_);
  return calls_;
}

Result<VmSpec> FakeHypervisor::spec(const std::string& vm) const {
  Lock lock(mu_);
  auto it = vms_.find(vm);
  if (it == vms_.end()) return noVm(vm);
  return it->second.spec;
}

std::vector<HostEntry> FakeHypervisor::hostEntries(const std::string& portGroup) const {
  Lock lock(mu_);
  auto it = hostEntries_.find(portGroup);
  return it == hostEntries_.end() ? std::vector<HostEntry>{} : it->second;
}

Status FakeHypervisor::enter(Lock& lock, const char* method, const std::string& vm) {
  requireOffIoThread(method);
  if (auto d = during_.find(method); d != during_.end()) {
    auto f = std::move(d->second);
    during_.erase(d);
    lock.unlock();
    f();
    lock.lock();
  }
  calls_.push_back(vm.empty() ? std::string(method) : std::string(method) + " " + vm);
  if (down_) return Error(Errc::kUnavailable, std::string(method) + ": Failed to connect socket to libvirt-sock: Connection refused");
  if (reconnectPending_) {
    reconnectPending_ = false;
    emit(lock, {"", VmEventKind::kOther, kReconnected});
  }
  auto f = failures_.find(method);
  if (f == failures_.end()) return ok();
  Error e = f->second;
  failures_.erase(f);
  return e;
}

Result<FakeHypervisor::Vm*> FakeHypervisor::find(const std::string& vm) {
  auto it = vms_.find(vm);
  if (it == vms_.end()) return noVm(vm);
  return &it->second;
}

void FakeHypervisor::setDown(bool down) {
  Lock lock(mu_);
  if (down == down_) return;
  down_ = down;
  reconnectPending_ = !down;
  if (down) emit(lock, {"", VmEventKind::kOther, kDisconnected});
}

void FakeHypervisor::emit(Lock& lock, VmEvent e) {
  if (down_ && e.kind != VmEventKind::kOther) return;  // libvirt had no one to tell
  auto handlers = handlers_;
  lock.unlock();
  for (auto& [id, h] : handlers) h(e);
  lock.lock();
}

// Powers `vm` off; its guest is stopped outside the lock (the guest may be halting itself).
void FakeHypervisor::stopLocked(Vm& vm, Lock& lock, VmEventKind kind, const std::string& detail) {
  vm.state = PowerState::kOff;
  vm.runId = 0;
  ++vm.boots;
  auto guest = std::move(vm.guest);
  std::string name = vm.spec.name;
  lock.unlock();
  guest.reset();
  lock.lock();
  emit(lock, {name, kind, detail});
}

Result<HostInfo> FakeHypervisor::hostInfo() {
  Lock lock(mu_);
  if (auto st = enter(lock, "hostInfo", ""); !st) return std::move(st).error();
  return HostInfo{"fake:///", 2, 4ull << 30, "fake", "0", "0"};
}

Status FakeHypervisor::defineVm(const VmSpec& spec) {
  Lock lock(mu_);
  if (auto st = enter(lock, "defineVm", spec.name); !st) return st;
  auto& vm = vms_[spec.name];
  auto keep = vm.spec.metadata;
  vm.spec = spec;
  if (vm.state != PowerState::kOff) {
    for (auto& [k, v] : keep) vm.spec.metadata.try_emplace(k, v);
  }
  emit(lock, {spec.name, VmEventKind::kDefined, ""});
  return ok();
}

Status FakeHypervisor::powerOn(const std::string& name) {
  Lock lock(mu_);
  if (auto st = enter(lock, "powerOn", name); !st) return st;
  return boot(lock, name, false);
}

// Powers `name` on and boots its guest (outside the lock: the guest may call back).
Status FakeHypervisor::boot(Lock& lock, const std::string& name, bool cloned) {
  std::vector<std::unique_ptr<FakeGuest>> done;
  done.swap(halted_);
  auto vm = find(name);
  if (!vm) return std::move(vm).error();
  if ((*vm)->state != PowerState::kOff) return Error(Errc::kConflict, "Requested operation is not valid: domain is already running");
  if (auto cid = (*vm)->spec.vsockCid) {  // vhost-vsock gives a CID to one running VM at a time
    for (const auto& [other, o] : vms_) {
      if (other != name && o.state != PowerState::kOff && o.spec.vsockCid == cid) {
        return Error(Errc::kConflict, "vhost-vsock: unable to set guest cid: Address already in use");
      }
    }
  }
  if (!(*vm)->spec.templateMemoryFile.empty()) std::ofstream((*vm)->spec.templateMemoryFile, std::ios::app);  // QEMU creates it
  (*vm)->state = PowerState::kRunning;
  uint64_t boot = ++(*vm)->boots;
  (*vm)->runId = ++lastRunId_;
  VmSpec spec = (*vm)->spec;
  auto bootGuest = boot_;
  emit(lock, {name, VmEventKind::kStarted, cloned ? "cloned" : "booted", (*vm)->runId});  // before anything the guest does
  lock.unlock();
  done.clear();
  std::unique_ptr<FakeGuest> guest;
  if (bootGuest) guest = bootGuest(spec, cloned, [this, name, boot] { halted(name, boot); });
  lock.lock();
  auto again = find(name);
  if (again && (*again)->boots == boot) {
    (*again)->guest = std::move(guest);
  } else {
    halted_.push_back(std::move(guest));  // destroyed or halted while it booted
  }
  return ok();
}

// From the guest's own thread: its VM powers off (tether's reboot(POWER_OFF)).
void FakeHypervisor::halted(const std::string& name, uint64_t boot) {
  Lock lock(mu_);
  auto vm = find(name);
  if (!vm || (*vm)->boots != boot || (*vm)->state != PowerState::kRunning) return;
  (*vm)->state = PowerState::kShuttingDown;
  if ((*vm)->guest) halted_.push_back(std::move((*vm)->guest));
  emit(lock, {name, VmEventKind::kShutDown, "", (*vm)->runId});
  if (holdShutdowns_) {
    shuttingDown_.push_back(name);
    return;
  }
  finishShutdown(lock, name);
}

void FakeHypervisor::finishShutdown(Lock& lock, const std::string& name) {
  auto vm = find(name);
  if (!vm || (*vm)->state != PowerState::kShuttingDown) return;
  (*vm)->state = PowerState::kOff;
  (*vm)->runId = 0;
  ++(*vm)->boots;
  emit(lock, {name, VmEventKind::kStopped, "shutdown"});
  shutDownEnded_.notify_all();
}

void FakeHypervisor::holdShutdowns(bool hold) {
  Lock lock(mu_);
  holdShutdowns_ = hold;
  shutDownEnded_.notify_all();
}

void FakeHypervisor::finishShutdowns() {
  Lock lock(mu_);
  auto names = std::move(shuttingDown_);
  shuttingDown_.clear();
  for (const auto& n : names) finishShutdown(lock, n);
}

void FakeHypervisor::crash(const std::string& name) {
  Lock lock(mu_);
  auto vm = find(name);
  if (!vm || (*vm)->state == PowerState::kOff) return;
  stopLocked(**vm, lock, VmEventKind::kCrashed, "crashed");
}

void FakeHypervisor::ioErrorPause(const std::string& name) {
  Lock lock(mu_);
  auto vm = find(name);
  if (!vm || (*vm)->state != PowerState::kRunning) return;
  (*vm)->state = PowerState::kPaused;
  (*vm)->ioPaused = true;
  emit(lock, {name, VmEventKind::kPaused, kIoErrorPause});
}

void FakeHypervisor::sendEvent(const VmEvent& e) {
  Lock lock(mu_);
  emit(lock, e);
}

Status FakeHypervisor::powerOff(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Status {
    if (vm.state == PowerState::kOff) return Error(Errc::kConflict, "Requested operation is not valid: domain is not running");
    stopLocked(vm, lock, VmEventKind::kStopped, "destroyed");
    return ok();
  });
}

Status FakeHypervisor::shutdown(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Status {
    if (vm.state == PowerState::kOff) return Error(Errc::kConflict, "Requested operation is not valid: domain is not running");
    stopLocked(vm, lock, VmEventKind::kStopped, "shutdown");
    return ok();
  });
}

Status FakeHypervisor::pause(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Status {
    if (vm.state != PowerState::kRunning) return Error(Errc::kConflict, "Requested operation is not valid: domain is not running");
    vm.state = PowerState::kPaused;
    return ok();
  });
}

Status FakeHypervisor::resume(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Status {
    if (vm.state != PowerState::kPaused) return Error(Errc::kConflict, "Requested operation is not valid: domain is not paused");
    vm.state = PowerState::kRunning;
    vm.ioPaused = false;
    return ok();
  });
}

Status FakeHypervisor::destroy(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, Lock& lock) -> Status {
    shutDownEnded_.wait(lock, [&] { return vm.state != PowerState::kShuttingDown || !holdShutdowns_; });
    if (vm.state != PowerState::kOff) stopLocked(vm, lock, VmEventKind::kStopped, "destroyed");
    vms_.erase(name);
    emit(lock, {name, VmEventKind::kRemoved, ""});
    return ok();
  });
}

Result<int64_t> FakeHypervisor::runId(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Result<int64_t> { return vm.runId; });
}

Result<PowerState> FakeHypervisor::powerState(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Result<PowerState> {
    return vm.state;
  });
}

Result<bool> FakeHypervisor::pausedForIoError(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Result<bool> { return vm.state == PowerState::kPaused && vm.ioPaused; });
}

Result<std::vector<std::string>> FakeHypervisor::listVms() {
  Lock lock(mu_);
  if (auto st = enter(lock, "listVms", ""); !st) return std::move(st).error();
  std::vector<std::string> out;
  for (const auto& [name, vm] : vms_) out.push_back(name);
  return out;
}

Result<std::set<uint32_t>> FakeHypervisor::vsockCids() {
  Lock lock(mu_);
  if (auto st = enter(lock, "vsockCids", ""); !st) return std::move(st).error();
  std::set<uint32_t> out;
  for (const auto& [name, vm] : vms_) {
    if (vm.spec.vsockCid) out.insert(*vm.spec.vsockCid);
  }
  return out;
}

Result<VmStats> FakeHypervisor::vmStats(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Result<VmStats> {
    if (vm.state == PowerState::kOff) return Error(Errc::kConflict, "domain is not running");
    VmStats s;
    s.cpuTimeNs = 1000000ull * vm.boots;
    s.vcpus = vm.spec.vcpus;
    s.memoryLimitBytes = vm.spec.memoryMiB << 20;
    s.memoryBytes = s.memoryLimitBytes / 4;
    return s;
  });
}

Result<std::map<std::string, std::string>> FakeHypervisor::metadata(const std::string& name) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Result<std::map<std::string, std::string>> {
    return vm.spec.metadata;
  });
}

Status FakeHypervisor::setMetadata(const std::string& name, const std::map<std::string, std::string>& entries) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Status {
    for (const auto& [k, v] : entries) vm.spec.metadata[k] = v;
    return ok();
  });
}

Status FakeHypervisor::attachDisk(const std::string& name, const DiskSpec& disk) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Status {
    vm.spec.disks.push_back(disk);
    return ok();
  });
}

Status FakeHypervisor::detachDisk(const std::string& name, const std::string& path) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Status {
    auto& d = vm.spec.disks;
    auto it = std::find_if(d.begin(), d.end(), [&](const DiskSpec& x) { return x.path == path; });
    if (it == d.end()) return Error(Errc::kNotFound, "no disk " + path + " on " + name);
    d.erase(it);
    return ok();
  });
}

Status FakeHypervisor::attachNic(const std::string& name, const NicSpec& nic) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Status {
    if (!portGroups_.count(nic.portGroup)) return Error(Errc::kNotFound, "no network with matching name '" + nic.portGroup + "'");
    vm.spec.nics.push_back(nic);
    return ok();
  });
}

Status FakeHypervisor::detachNic(const std::string& name, const std::string& mac) {
  return onVm(__func__, name, [&](Vm& vm, [[maybe_unused]] Lock& lock) -> Status {
    auto& n = vm.spec.nics;
    auto it = std::find_if(n.begin(), n.end(), [&](const NicSpec& x) { return x.mac == mac; });
    if (it == n.end()) return Error(Errc::kNotFound, "no interface with MAC " + mac + " on " + name);
    n.erase(it);
    return ok();
  });
}

Result<std::string> FakeHypervisor::qmp(const std::string& name, const std::string&) {
  Lock lock(mu_);
  if (auto st = enter(lock, "qmp", name); !st) return std::move(st).error();
  return Error(Errc::kNotImplemented, "the fake hypervisor has no QMP");
}

// The fake's state file names the template it came from; its "RAM" is the (empty) memory file.
Status FakeHypervisor::freezeTemplate(const std::string& name, const std::string& stateFile) {
  return onVm(__func__, name, [&](Vm& vm, Lock& lock) -> Status {
    if (vm.state != PowerState::kRunning) return Error(Errc::kConflict, "freezing template VM " + name + ": it is not running");
    if (vm.spec.templateMemoryFile.empty()) return Error(Errc::kInvalidArgument, "freezing template VM " + name + ": no memory file");
    std::ofstream(stateFile, std::ios::trunc) << kFakeState << name << "\n";
    stopLocked(vm, lock, VmEventKind::kStopped, "destroyed");
    return ok();
  });
}

Status FakeHypervisor::instantClone(const std::string& name, const CloneSource& src) {
  Lock lock(mu_);
  if (auto st = enter(lock, "instantClone", name); !st) return st;
  std::string op = "cloning VM " + name + " from template " + src.stateFile;
  std::ifstream state(src.stateFile);
  std::string head;
  std::getline(state, head);
  if (!state || head + "\n" != kFakeState) return Error(Errc::kInternal, op + ": migration failed: not a state file");
  if (!std::ifstream(src.memoryFile)) return Error(Errc::kNotFound, op + ": can't open backing store " + src.memoryFile);
  auto vm = find(name);
  if (!vm) return std::move(vm).error();
  if ((*vm)->spec.memoryMiB != src.memoryMiB) return Error(Errc::kInvalidArgument, op + ": memory size differs");
  return boot(lock, name, true);
}

Status FakeHypervisor::createPortGroup(const PortGroupSpec& pg) {
  Lock lock(mu_);
  if (auto st = enter(lock, "createPortGroup", pg.name); !st) return st;
  if (portGroups_.count(pg.name)) return Error(Errc::kConflict, "network '" + pg.name + "' already exists");
  portGroups_[pg.name] = pg;
  return ok();
}

Status FakeHypervisor::deletePortGroup(const std::string& name) {
  Lock lock(mu_);
  if (auto st = enter(lock, "deletePortGroup", name); !st) return st;
  if (!portGroups_.erase(name)) return Error(Errc::kNotFound, "no network with matching name '" + name + "'");
  hostEntries_.erase(name);
  return ok();
}

Result<std::vector<std::string>> FakeHypervisor::listPortGroups() {
  Lock lock(mu_);
  if (auto st = enter(lock, "listPortGroups", ""); !st) return std::move(st).error();
  std::vector<std::string> out;
  for (const auto& [name, pg] : portGroups_) out.push_back(name);
  return out;
}

Status FakeHypervisor::setHostEntry(const std::string& portGroup, const HostEntry& entry) {
  Lock lock(mu_);
  if (auto st = enter(lock, "setHostEntry", portGroup); !st) return st;
  if (!portGroups_.count(portGroup)) return Error(Errc::kNotFound, "no network with matching name '" + portGroup + "'");
  auto& list = hostEntries_[portGroup];
  std::erase_if(list, [&](const HostEntry& e) { return e.ip == entry.ip; });
  list.push_back(entry);
  return ok();
}

Status FakeHypervisor::removeHostEntry(const std::string& portGroup, const HostEntry& entry) {
  Lock lock(mu_);
  if (auto st = enter(lock, "removeHostEntry", portGroup); !st) return st;
  auto& list = hostEntries_[portGroup];
  std::erase_if(list, [&](const HostEntry& e) { return e.ip == entry.ip; });
  return ok();
}

int FakeHypervisor::subscribe(EventHandler handler) {
  Lock lock(mu_);
  int id = nextHandler_++;
  handlers_[id] = std::move(handler);
  return id;
}

void FakeHypervisor::unsubscribe(int id) {
  Lock lock(mu_);
  handlers_.erase(id);
}

}  // namespace vic::hv
