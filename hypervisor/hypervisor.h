// Hypervisor: what the port layer sees of the host, in vSphere's terms (host, VMs with
// extraConfig-like metadata, power operations and events). LibvirtHypervisor implements it;
// FakeHypervisor (fake_hypervisor.h) stands in for port-layer and API unit tests. Every method
// may block: callers run them off the I/O thread (common/blocking.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "hypervisor/types.h"

namespace vic::hv {

class Hypervisor {
 public:
  using EventHandler = std::function<void(const VmEvent&)>;  // called on the event thread
  virtual ~Hypervisor() = default;

  virtual Result<HostInfo> hostInfo() = 0;

  virtual Status defineVm(const VmSpec& spec) = 0;  // persistent; replaces an existing definition
  virtual Status powerOn(const std::string& vm) = 0;
  virtual Status powerOff(const std::string& vm) = 0;  // hard
  virtual Status shutdown(const std::string& vm) = 0;  // graceful (ACPI)
  virtual Status pause(const std::string& vm) = 0;     // vCPUs stopped, memory and disks kept
  virtual Status resume(const std::string& vm) = 0;
  virtual Status destroy(const std::string& vm) = 0;   // power off if needed, then undefine
  virtual Result<PowerState> powerState(const std::string& vm) = 0;
  // A paused VM that QEMU paused because a disk write failed (kIoErrorPause), not by pause().
  virtual Result<bool> pausedForIoError(const std::string& vm) = 0;
  // Identifies the VM's current run (libvirt's domain id): a new one at each power-on, 0 when
  // off. Events that carry one (kShutDown) can be matched to the run they are about.
  virtual Result<int64_t> runId(const std::string& vm) = 0;
  virtual Result<std::vector<std::string>> listVms() = 0;
  // The AF_VSOCK guest CIDs every VM on the host holds, defined or running, whoever owns it
  // (every VCH, and VMs that are not vic's): what a new CID must not be. A hypervisor that
  // cannot tell says so (kNotImplemented).
  virtual Result<std::set<uint32_t>> vsockCids() {
    return Error(Errc::kNotImplemented, "this hypervisor does not report guest CIDs");
  }
  virtual Result<VmStats> vmStats(const std::string& vm) = 0;  // running VMs only

  // The extraConfig equivalent: readable and writable whether the VM is on or off; setMetadata
  // adds or replaces the given keys and keeps the others.
  virtual Result<std::map<std::string, std::string>> metadata(const std::string& vm) = 0;
  virtual Status setMetadata(const std::string& vm, const std::map<std::string, std::string>& entries) = 0;

  // Reconfigure; on a running VM also hot-plugs.
  virtual Status attachDisk(const std::string& vm, const DiskSpec& disk) = 0;
  virtual Status detachDisk(const std::string& vm, const std::string& path) = 0;
  virtual Status attachNic(const std::string& vm, const NicSpec& nic) = 0;
  virtual Status detachNic(const std::string& vm, const std::string& mac) = 0;

  // QMP passthrough for what libvirt lacks; `command` and the reply are QMP JSON.
  virtual Result<std::string> qmp(const std::string& vm, const std::string& command) = 0;

  // Instant clone (vSphere's VMFork). A template is a VM defined with templateMemoryFile and
  // booted to where its guest waits; freezeTemplate pauses it, writes its device state to
  // `stateFile` (its RAM stays in the memory file) and powers it off.
  virtual Status freezeTemplate(const std::string& vm, const std::string& stateFile) = 0;
  // Powers on the defined, stopped VM `vm` as a fork of a template: its RAM is the template's
  // memory file mapped copy-on-write, its CPU and devices resume from the state file, and its
  // own identity (name, uuid, disks, NICs, metadata, pool) is its definition's. The template's
  // devices must be the first of the clone's; the clone's disks and NICs are extra, unknown to
  // the resumed guest until it rescans its PCI bus. Running when this returns; on failure
  // nothing of the attempt is left running.
  virtual Status instantClone(const std::string& vm, const CloneSource& source) = 0;

  // Port groups: bridges with an address range; DHCP/DNS host entries change while VMs run.
  virtual Status createPortGroup(const PortGroupSpec& pg) = 0;
  virtual Status deletePortGroup(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> listPortGroups() = 0;
  virtual Status setHostEntry(const std::string& portGroup, const HostEntry& entry) = 0;
  virtual Status removeHostEntry(const std::string& portGroup, const HostEntry& entry) = 0;

  virtual int subscribe(EventHandler handler) = 0;
  virtual void unsubscribe(int id) = 0;
};

}  // namespace vic::hv
