// Hypervisor on libvirt (qemu:///system by default; any URI, test:///default for contract
// tests). Runs libvirt's event loop on its own thread, reconnects after a libvirtd restart.
#pragma once

#include <libvirt/libvirt.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "hypervisor/hypervisor.h"

namespace vic::hv {

class LibvirtHypervisor : public Hypervisor {
 public:
  static Result<std::unique_ptr<LibvirtHypervisor>> connect(const std::string& uri = "qemu:///system");
  ~LibvirtHypervisor() override;

  Result<HostInfo> hostInfo() override;
  Status defineVm(const VmSpec& spec) override;
  Status powerOn(const std::string& vm) override;
  Status powerOff(const std::string& vm) override;
  Status pause(const std::string& vm) override;
  Status resume(const std::string& vm) override;
  Status shutdown(const std::string& vm) override;
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
  Result<std::string> portGroupXml(const std::string& name);  // libvirt's live definition (tests)
  Result<std::string> domainXml(const std::string& vm);  // virsh dumpxml (vicadmin's log bundle)
  int subscribe(EventHandler handler) override;
  void unsubscribe(int id) override;

  // "kvm" when the host has usable KVM for this connection, else "qemu" (TCG).
  const std::string& domainType() const { return domainType_; }
  // Closes the connection as a libvirtd restart would (tests).
  void dropConnectionForTest();

 private:
  explicit LibvirtHypervisor(std::string uri) : uri_(std::move(uri)) { sink_->owner = this; }
  Status open();
  Result<virConnectPtr> conn();
  // Looks the domain up; the returned pointer must be released with virDomainFree.
  Result<virDomainPtr> domain(const std::string& vm, const std::string& op);
  Status withDomain(const std::string& vm, const std::string& op, const std::function<int(virDomainPtr)>& f);
  void deliver(const VmEvent& e);
  // Detaches the device element of the domain's XML that contains `needle`.
  Status detachElement(const std::string& vm, const std::string& tag, const std::string& needle, const std::string& op);
  Status withNetwork(const std::string& name, const std::string& op, const std::function<int(virNetworkPtr)>& f);

  // libvirt may run a callback on its event thread while the object goes away, and calls the
  // free function only once no callback runs: events reach the object through this sink,
  // which the destructor empties first.
  struct EventSink {
    std::mutex mu;
    LibvirtHypervisor* owner = nullptr;
  };
  static int lifecycleCallback(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque);
  static void freeSink(void* opaque);
  static void closeCallback(virConnectPtr, int reason, void* opaque);

  std::string uri_;
  std::string domainType_ = "qemu";
  std::mutex mu_;
  virConnectPtr conn_ = nullptr;
  int callbackId_ = -1;
  std::shared_ptr<EventSink> sink_ = std::make_shared<EventSink>();
  std::atomic<bool> closed_{false};
  std::mutex handlersMu_;
  std::mutex metadataMu_;  // setMetadata reads, merges and writes
  std::map<int, EventHandler> handlers_;
  int nextHandler_ = 1;
};

// "powering on containerVM c1: <libvirt's message>", with a kind from libvirt's error code.
Error libvirtError(const std::string& op);
Status validateVmName(const std::string& name);
// Whether containerVMs use KVM: $VIC_ACCEL (kvm|tcg), else /etc/vic/accel (ci/setup's probe:
// some hosts expose a /dev/kvm that cannot boot our kernel), else a writable /dev/kvm.
bool kvmUsable();

}  // namespace vic::hv
