// FakeHypervisor: the Hypervisor interface in memory, for port-layer and API unit tests (no
// libvirt, no QEMU). VMs keep their spec, power state and metadata; power operations send the
// events libvirt would; port groups and their host entries are recorded. A test can plug in a
// guest (what "boots" on power-on, e.g. a fake tether on the VM's socket) and make any call fail.
//
// Like a real hypervisor call, every method may block, so each one refuses to run on an I/O
// thread (common/io_thread.h): a port-layer path that calls the hypervisor from its io_context
// aborts the test that reaches it.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "hypervisor/hypervisor.h"

namespace vic::hv {

// What runs inside a fake VM; destroying it stops it.
class FakeGuest {
 public:
  virtual ~FakeGuest() = default;
};

class FakeHypervisor : public Hypervisor {
 public:
  // Boots a guest for `spec` (`cloned`: resumed from a template, so it has no container yet);
  // the guest calls `halt()` to power its VM off (tether's power-off when the main process
  // exits). May return nullptr (a VM with nothing inside).
  using GuestBoot =
      std::function<std::unique_ptr<FakeGuest>(const VmSpec& spec, bool cloned, std::function<void()> halt)>;

  FakeHypervisor() = default;
  ~FakeHypervisor() override;

  void setGuestBoot(GuestBoot boot);
  // The next call of `method` (e.g. "powerOn", "defineVm") fails with `e`; once.
  void failNext(const std::string& method, Error e);
  // The next call of `method` runs `f` first, without the fake's lock (an event that arrives
  // while the call is under way); once.
  void duringNext(const std::string& method, std::function<void()> f);
  std::vector<std::string> calls() const;  // "powerOn vch1-abc..." in order
  Result<VmSpec> spec(const std::string& vm) const;  // as defined, with attached disks and NICs
  std::vector<HostEntry> hostEntries(const std::string& portGroup) const;
  // A VM's process dies without a clean shutdown (QEMU crashed, killed): kCrashed event.
  void crash(const std::string& vm);
  // A disk write of a running VM fails (its datastore is full): QEMU pauses it, kPaused "io-error".
  void ioErrorPause(const std::string& vm);
  // Sends an event as it is, whatever the VM's state (libvirt repeating one, or delivering it late).
  void sendEvent(const VmEvent& e);
  // As libvirt: a guest that powers itself off sends kShutDown, then kStopped once its VM is
  // off. Held, its VM stays kShuttingDown (after kShutDown) until finishShutdowns(), and a
  // destroy of it waits for that (libvirt holds the VM while it ends it).
  // libvirtd goes away (down: every call fails kUnavailable, events are lost, guests run on and
  // may power off unseen; subscribers get "disconnected") and comes back (the next call
  // reconnects and sends "reconnected" first, as LibvirtHypervisor does).
  void setDown(bool down);
  void holdShutdowns(bool hold);
  void finishShutdowns();

  Result<HostInfo> hostInfo() override;
  Status defineVm(const VmSpec& spec) override;
  Status powerOn(const std::string& vm) override;
  Status powerOff(const std::string& vm) override;
  Status shutdown(const std::string& vm) override;
  Status pause(const std::string& vm) override;
  Status resume(const std::string& vm) override;
  Status destroy(const std::string& vm) override;
  Result<PowerState> powerState(const std::string& vm) override;
  Result<bool> pausedForIoError(const std::string& vm) override;
  Result<int64_t> runId(const std::string& vm) override;
  Result<std::vector<std::string>> listVms() override;
  Result<std::set<uint32_t>> vsockCids() override;
  Result<VmStats> vmStats(const std::string& vm) override;
  Result<std::map<std::string, std::string>> metadata(const std::string& vm) override;
  Status setMetadata(const std::string& vm, const std::map<std::string, std::string>& entries) override;
  Status attachDisk(const std::string& vm, const DiskSpec& disk) override;
  Status detachDisk(const std::string& vm, const std::string& path) override;
  Status attachNic(const std::string& vm, const NicSpec& nic) override;
  Status detachNic(const std::string& vm, const std::string& mac) override;
  Result<std::string> qmp(const std::string& vm, const std::string& command) override;
  Status freezeTemplate(const std::string& vm, const std::string& stateFile) override;
  Status instantClone(const std::string& vm, const CloneSource& source) override;
  Status createPortGroup(const PortGroupSpec& pg) override;
  Status deletePortGroup(const std::string& name) override;
  Result<std::vector<std::string>> listPortGroups() override;
  Status setHostEntry(const std::string& portGroup, const HostEntry& entry) override;
  Status removeHostEntry(const std::string& portGroup, const HostEntry& entry) override;
  int subscribe(EventHandler handler) override;
  void unsubscribe(int id) override;

 private:
  struct Vm {
    VmSpec spec;
    PowerState state = PowerState::kOff;
    bool ioPaused = false;  // paused by a failed disk write, not by pause()
    uint64_t boots = 0;  // a halt from an earlier boot's guest is ignored
    int64_t runId = 0;
    std::unique_ptr<FakeGuest> guest;
  };
  using Lock = std::unique_lock<std::mutex>;
  Status enter(Lock& lock, const char* method, const std::string& vm);  // checks, logs, injected failures
  Result<Vm*> find(const std::string& vm);
  // The shape of every per-VM call: lock, record, injected failure, look the VM up, then `f`.
  template <class F>
  auto onVm(const char* method, const std::string& name, F f) -> decltype(f(std::declval<Vm&>(), std::declval<Lock&>())) {
    Lock lock(mu_);
    if (auto st = enter(lock, method, name); !st) return std::move(st).error();
    auto vm = find(name);
    if (!vm) return std::move(vm).error();
    return f(**vm, lock);
  }
  static constexpr const char* kFakeState = "vic fake template state\n";
  Status boot(Lock& lock, const std::string& name, bool cloned);
  void stopLocked(Vm& vm, Lock& lock, VmEventKind kind, const std::string& detail);
  void halted(const std::string& vm, uint64_t boot);
  void finishShutdown(Lock& lock, const std::string& vm);
  void emit(Lock& lock, VmEvent e);

  mutable std::mutex mu_;
  bool down_ = false;
  bool reconnectPending_ = false;
  std::map<std::string, Vm> vms_;
  std::map<std::string, PortGroupSpec> portGroups_;
  std::map<std::string, std::vector<HostEntry>> hostEntries_;
  std::map<std::string, Error> failures_;
  std::map<std::string, std::function<void()>> during_;
  std::vector<std::string> calls_;
  std::map<int, EventHandler> handlers_;
  int nextHandler_ = 1;
  GuestBoot boot_;
  int64_t lastRunId_ = 0;
  bool holdShutdowns_ = false;
  std::vector<std::string> shuttingDown_;
  std::condition_variable shutDownEnded_;
  std::vector<std::unique_ptr<FakeGuest>> halted_;  // guests that stopped themselves, joined later
};

}  // namespace vic::hv
