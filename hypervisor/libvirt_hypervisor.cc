#include "hypervisor/libvirt_hypervisor.h"

#include <libvirt/libvirt-qemu.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "common/files.h"
#include "common/io_thread.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "hypervisor/domain_xml.h"

namespace vic::hv {
namespace {

// libvirt's default event loop is process-wide: registered once, before any connection,
// and run on one thread for the life of the process.
void startEventLoop() {
  static std::once_flag once;
  std::call_once(once, [] {
    virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});  // errors are returned, not printed
    if (virEventRegisterDefaultImpl() < 0) {
      log::error("hypervisor", "cannot register libvirt's event loop");
      return;
    }
    std::thread([] {
      while (true) {
        if (virEventRunDefaultImpl() < 0) log::warn("hypervisor", "libvirt event loop iteration failed");
      }
    }).detach();
  });
}

// Changes go to the persistent definition, and to the running VM too when it runs.
unsigned affectFlags(virDomainPtr d) {
  return VIR_DOMAIN_AFFECT_CONFIG | (virDomainIsActive(d) == 1 ? VIR_DOMAIN_AFFECT_LIVE : 0);
}

struct DomainFree {
  void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using DomainRef = std::unique_ptr<virDomain, DomainFree>;

VmEventKind kindOf(int event, int detail) {
  switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED: return VmEventKind::kDefined;
    case VIR_DOMAIN_EVENT_UNDEFINED: return VmEventKind::kRemoved;
    case VIR_DOMAIN_EVENT_STARTED: return VmEventKind::kStarted;
    case VIR_DOMAIN_EVENT_CRASHED: return VmEventKind::kCrashed;
    case VIR_DOMAIN_EVENT_SHUTDOWN: return VmEventKind::kShutDown;  // QEMU is ending: kStopped follows
    case VIR_DOMAIN_EVENT_SUSPENDED: return VmEventKind::kPaused;
    case VIR_DOMAIN_EVENT_RESUMED: return VmEventKind::kResumed;
    case VIR_DOMAIN_EVENT_STOPPED:
      return detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED || detail == VIR_DOMAIN_EVENT_STOPPED_FAILED
                 ? VmEventKind::kCrashed
                 : VmEventKind::kStopped;
    default: return VmEventKind::kOther;
  }
}

std::string stopDetail(int detail) {
  switch (detail) {
    case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: return "shutdown";
    case VIR_DOMAIN_EVENT_STOPPED_DESTROYED: return "destroyed";
    case VIR_DOMAIN_EVENT_STOPPED_CRASHED: return "crashed";
    case VIR_DOMAIN_EVENT_STOPPED_FAILED: return "failed";
    case VIR_DOMAIN_EVENT_STOPPED_SAVED: return "saved";
    default: return "";
  }
}

std::string versionString(unsigned long v) {
  return std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." + std::to_string(v % 1000);
}

}  // namespace

std::string powerStateName(PowerState s) {
  switch (s) {
    case PowerState::kOff: return "off";
    case PowerState::kRunning: return "running";
    case PowerState::kPaused: return "paused";
    case PowerState::kShuttingDown: return "shutting down";
    case PowerState::kCrashed: return "crashed";
    case PowerState::kUnknown: return "unknown";
  }
  return "unknown";
}

std::string vmEventName(VmEventKind k) {
  switch (k) {
    case VmEventKind::kDefined: return "defined";
    case VmEventKind::kStarted: return "started";
    case VmEventKind::kShutDown: return "shut down";
    case VmEventKind::kStopped: return "stopped";
    case VmEventKind::kCrashed: return "crashed";
    case VmEventKind::kRemoved: return "removed";
    case VmEventKind::kPaused: return "paused";
    case VmEventKind::kResumed: return "resumed";
    case VmEventKind::kOther: return "other";
  }
  return "other";
}

Error libvirtError(const std::string& op) {
  virErrorPtr e = virGetLastError();
  std::string msg = e && e->message ? e->message : "unknown libvirt error";
  Errc code = Errc::kUnavailable;
  if (e) {
    switch (e->code) {
      case VIR_ERR_NO_DOMAIN:
      case VIR_ERR_NO_NETWORK:
      case VIR_ERR_NO_DOMAIN_METADATA:
        code = Errc::kNotFound;
        break;
      case VIR_ERR_OPERATION_INVALID:
      case VIR_ERR_OPERATION_FAILED:
        code = Errc::kConflict;
        break;
      case VIR_ERR_INVALID_ARG:
      case VIR_ERR_XML_ERROR:
      case VIR_ERR_CONFIG_UNSUPPORTED:
        code = Errc::kInvalidArgument;
        break;
      case VIR_ERR_NO_SUPPORT:
        code = Errc::kNotImplemented;
        break;
      default:
        code = Errc::kUnavailable;
    }
  }
  virResetLastError();
  return Error(code, op + ": " + msg);
}

bool kvmUsable() {
  const char* env = std::getenv("VIC_ACCEL");
  std::string choice = env ? env : "";
  if (choice.empty()) {
    std::ifstream in("/etc/vic/accel");
    in >> choice;
  }
  if (choice == "kvm" || choice == "tcg") return choice == "kvm";
  return ::access("/dev/kvm", R_OK | W_OK) == 0;
}

Status validateVmName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok) return Error(Errc::kInvalidArgument, "invalid VM name '" + name + "': use [A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
  return vic::ok();
}

Result<std::unique_ptr<LibvirtHypervisor>> LibvirtHypervisor::connect(const std::string& uri) {
  startEventLoop();
  std::unique_ptr<LibvirtHypervisor> h(new LibvirtHypervisor(uri));
  if (auto st = h->open(); !st) return std::move(st).error();
  return h;
}

LibvirtHypervisor::~LibvirtHypervisor() {
  {
    std::lock_guard sinkLock(sink_->mu);  // waits for a callback in flight; later ones find no owner
    sink_->owner = nullptr;
  }
  std::lock_guard lock(mu_);
  if (conn_ != nullptr) {
    if (callbackId_ >= 0) virConnectDomainEventDeregisterAny(conn_, callbackId_);
    virConnectUnregisterCloseCallback(conn_, closeCallback);
    virConnectClose(conn_);
  }
}

Status LibvirtHypervisor::open() {
  virConnectPtr c = virConnectOpen(uri_.c_str());
  if (c == nullptr) return libvirtError("connecting to " + uri_);
  virConnectSetKeepAlive(c, 5, 3);
  virConnectRegisterCloseCallback(c, closeCallback, this, nullptr);
  callbackId_ = virConnectDomainEventRegisterAny(c, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                 VIR_DOMAIN_EVENT_CALLBACK(lifecycleCallback),
                                                 new std::shared_ptr<EventSink>(sink_), freeSink);
  if (callbackId_ < 0) log::warn("hypervisor", libvirtError("subscribing to domain events").message());
  bool kvm = uri_.rfind("qemu", 0) == 0 && kvmUsable();
  domainType_ = kvm ? "kvm" : (uri_.rfind("test", 0) == 0 ? "test" : "qemu");
  conn_ = c;
  closed_ = false;
  return vic::ok();
}

void LibvirtHypervisor::closeCallback(virConnectPtr, int reason, void* opaque) {
  auto* self = static_cast<LibvirtHypervisor*>(opaque);
  self->closed_ = true;
  log::warn("hypervisor", "libvirt connection closed (reason " + std::to_string(reason) + "); will reconnect");
  self->deliver({"", VmEventKind::kOther, kDisconnected});  // events are lost until "reconnected"
}

// The connection, reopened if libvirtd went away. Subscribers get a "reconnected" event so
// they re-read state they may have missed. Every libvirt call comes through here: in debug
// builds one made on an I/O thread aborts (common/io_thread.h; release builds rely on the unit
// tests, whose FakeHypervisor always checks).
Result<virConnectPtr> LibvirtHypervisor::conn() {
#ifndef NDEBUG
  requireOffIoThread("a libvirt call");
#endif
  bool reconnected = false;
  {
    std::lock_guard lock(mu_);
    if (conn_ != nullptr && !closed_ && virConnectIsAlive(conn_) == 1) return conn_;
    if (conn_ != nullptr) {
      virConnectUnregisterCloseCallback(conn_, closeCallback);
      virConnectClose(conn_);
      conn_ = nullptr;
    }
    if (auto st = open(); !st) return std::move(st).error();
    reconnected = true;
  }
  if (reconnected) deliver({"", VmEventKind::kOther, kReconnected});
  return conn_;
}

void LibvirtHypervisor::dropConnectionForTest() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

Result<virDomainPtr> LibvirtHypervisor::domain(const std::string& vm, const std::string& op) {
  auto c = conn();
  if (!c) return std::move(c).error().wrap(op);
  virDomainPtr d = virDomainLookupByName(*c, vm.c_str());
  if (d == nullptr) return libvirtError(op);
  return d;
}

Status LibvirtHypervisor::withDomain(const std::string& vm, const std::string& op,
                                     const std::function<int(virDomainPtr)>& f) {
  auto d = domain(vm, op);
  if (!d) return std::move(d).error();
  DomainRef ref(*d);
  if (f(ref.get()) < 0) return libvirtError(op);
  return vic::ok();
}

Result<HostInfo> LibvirtHypervisor::hostInfo() {
  auto c = conn();
  if (!c) return std::move(c).error();
  virNodeInfo node{};
  if (virNodeGetInfo(*c, &node) < 0) return libvirtError("reading host capacity");
  HostInfo info;
  info.uri = uri_;
  info.cpus = static_cast<int>(node.cpus);
  info.memoryBytes = static_cast<uint64_t>(node.memory) * 1024;
  info.accelerator = domainType_ == "kvm" ? "kvm" : "tcg";
  unsigned long lib = 0, hv = 0;
  if (virConnectGetLibVersion(*c, &lib) == 0) info.libvirtVersion = versionString(lib);
  if (virConnectGetVersion(*c, &hv) == 0) info.hypervisorVersion = versionString(hv);
  return info;
}

Status LibvirtHypervisor::defineVm(const VmSpec& spec) {
  if (auto st = validateVmName(spec.name); !st) return st;
  auto c = conn();
  if (!c) return std::move(c).error();
  VmSpec s = spec;
  if (s.uuid.empty()) {  // a VM defined again keeps its identity (libvirt refuses another uuid for the name)
    if (virDomainPtr old = virDomainLookupByName(*c, s.name.c_str())) {
      char uuid[VIR_UUID_STRING_BUFLEN];
      if (virDomainGetUUIDString(old, uuid) == 0) s.uuid = uuid;
      virDomainFree(old);
    }
  }
  std::string xml = hv::domainXml(s, domainType_);  // the free function, not the member
  virDomainPtr d = virDomainDefineXML(*c, xml.c_str());
  if (d == nullptr) return libvirtError("defining VM " + spec.name);
  virDomainFree(d);
  return vic::ok();
}

// Power operations check the state first, so "already on/off" is the same conflict on
// every libvirt driver.
Status LibvirtHypervisor::powerOn(const std::string& vm) {
  auto state = powerState(vm);
  if (state && *state == PowerState::kRunning) return Error(Errc::kConflict, "powering on VM " + vm + ": it is already running");
  return withDomain(vm, "powering on VM " + vm, [](virDomainPtr d) { return virDomainCreate(d); });
}

Status LibvirtHypervisor::powerOff(const std::string& vm) {
  auto state = powerState(vm);
  if (state && *state == PowerState::kOff) return Error(Errc::kConflict, "powering off VM " + vm + ": it is not running");
  return withDomain(vm, "powering off VM " + vm, [](virDomainPtr d) { return virDomainDestroy(d); });
}

Status LibvirtHypervisor::pause(const std::string& vm) {
  return withDomain(vm, "pausing VM " + vm, [](virDomainPtr d) { return virDomainSuspend(d); });
}

Status LibvirtHypervisor::resume(const std::string& vm) {
  return withDomain(vm, "resuming VM " + vm, [](virDomainPtr d) { return virDomainResume(d); });
}

Status LibvirtHypervisor::shutdown(const std::string& vm) {
  return withDomain(vm, "shutting down VM " + vm, [](virDomainPtr d) { return virDomainShutdown(d); });
}

Status LibvirtHypervisor::destroy(const std::string& vm) {
  return withDomain(vm, "destroying VM " + vm, [](virDomainPtr d) {
    // A guest that powers itself off between the two calls fails the destroy ("domain is not
    // running"): off is what was wanted, so the undefine goes on.
    if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0 && virDomainIsActive(d) != 0) return -1;
    return virDomainUndefine(d);
  });
}

Result<bool> LibvirtHypervisor::pausedForIoError(const std::string& vm) {
  auto d = domain(vm, "reading why VM " + vm + " is paused");
  if (!d) return std::move(d).error();
  DomainRef ref(*d);
  int state = 0, reason = 0;
  if (virDomainGetState(ref.get(), &state, &reason, 0) < 0) return libvirtError("reading why VM " + vm + " is paused");
  return state == VIR_DOMAIN_PAUSED && reason == VIR_DOMAIN_PAUSED_IOERROR;
}

Result<PowerState> LibvirtHypervisor::powerState(const std::string& vm) {
  auto d = domain(vm, "reading the power state of VM " + vm);
  if (!d) return std::move(d).error();
  DomainRef ref(*d);
  int state = 0, reason = 0;
  if (virDomainGetState(ref.get(), &state, &reason, 0) < 0) return libvirtError("reading the power state of VM " + vm);
  switch (state) {
    case VIR_DOMAIN_RUNNING: return PowerState::kRunning;
    case VIR_DOMAIN_BLOCKED: return PowerState::kRunning;
    case VIR_DOMAIN_PAUSED: return PowerState::kPaused;
    case VIR_DOMAIN_SHUTDOWN: return PowerState::kShuttingDown;
    case VIR_DOMAIN_SHUTOFF: return PowerState::kOff;
    case VIR_DOMAIN_CRASHED: return PowerState::kCrashed;
    default: return PowerState::kUnknown;
  }
}

Result<int64_t> LibvirtHypervisor::runId(const std::string& vm) {
  auto d = domain(vm, "reading the run id of VM " + vm);
  if (!d) return std::move(d).error();
  DomainRef ref(*d);
  unsigned id = virDomainGetID(ref.get());
  return id == static_cast<unsigned>(-1) ? int64_t{0} : int64_t{id};
}

Result<VmStats> LibvirtHypervisor::vmStats(const std::string& vm) {
  std::string op = "reading the statistics of VM " + vm;
  auto d = domain(vm, op);
  if (!d) return std::move(d).error();
  DomainRef ref(*d);
  virDomainInfo info{};
  if (virDomainGetInfo(ref.get(), &info) < 0) return libvirtError(op);
  if (info.state != VIR_DOMAIN_RUNNING && info.state != VIR_DOMAIN_BLOCKED && info.state != VIR_DOMAIN_PAUSED) {
    return Error(Errc::kConflict, op + ": it is not running");
  }
  VmStats s;
  s.cpuTimeNs = info.cpuTime;
  s.vcpus = info.nrVirtCpu;
  s.memoryLimitBytes = static_cast<uint64_t>(info.maxMem) * 1024;
  virDomainMemoryStatStruct mem[VIR_DOMAIN_MEMORY_STAT_NR];
  int n = virDomainMemoryStats(ref.get(), mem, VIR_DOMAIN_MEMORY_STAT_NR, 0);
  for (int i = 0; i < n; ++i) {
    if (mem[i].tag == VIR_DOMAIN_MEMORY_STAT_RSS) s.memoryBytes = mem[i].val * 1024;
  }
  // Clones share their template's pages: what a container costs is its QEMU's proportional set
  // size, where this host's libvirt (qemu:///system) tells us the process.
  std::string pid = readFile("/run/libvirt/qemu/" + vm + ".pid");
  if (!pid.empty() && pid.find_first_not_of("0123456789\n") == std::string::npos) {
    if (auto pss = pssBytes(readFile("/proc/" + pid.substr(0, pid.find('\n')) + "/smaps_rollup"))) s.memoryBytes = *pss;
  }
  virDomainBlockStatsStruct blk{};
  if (virDomainBlockStats(ref.get(), "", &blk, sizeof blk) == 0) {
    s.diskReadBytes = blk.rd_bytes > 0 ? static_cast<uint64_t>(blk.rd_bytes) : 0;
    s.diskWriteBytes = blk.wr_bytes > 0 ? static_cast<uint64_t>(blk.wr_bytes) : 0;
  }
  return s;
}

Result<std::vector<std::string>> LibvirtHypervisor::listVms() {
  auto c = conn();
  if (!c) return std::move(c).error();
  virDomainPtr* doms = nullptr;
  int n = virConnectListAllDomains(*c, &doms, 0);
  if (n < 0) return libvirtError("listing VMs");
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    names.emplace_back(virDomainGetName(doms[i]));
    virDomainFree(doms[i]);
  }
  std::free(doms);
  std::sort(names.begin(), names.end());
  return names;
}

// Every domain on the connection (qemu:///system: all VCHs and any other VM of the host): a
// running one's live CID (libvirt's choice for an automatic one) and its definition's.
Result<std::set<uint32_t>> LibvirtHypervisor::vsockCids() {
  auto c = conn();
  if (!c) return std::move(c).error();
  virDomainPtr* doms = nullptr;
  int n = virConnectListAllDomains(*c, &doms, 0);
  if (n < 0) return libvirtError("listing VMs for their vsock CIDs");
  std::set<uint32_t> cids;
  for (int i = 0; i < n; ++i) {
    for (unsigned flags : {0u, static_cast<unsigned>(VIR_DOMAIN_XML_INACTIVE)}) {
      if (char* xml = virDomainGetXMLDesc(doms[i], flags)) {  // a VM removed meanwhile holds nothing
        if (auto cid = vsockCidOf(xml)) cids.insert(*cid);
        std::free(xml);
      }
    }
    virDomainFree(doms[i]);
  }
  std::free(doms);
  return cids;
}

Result<std::map<std::string, std::string>> LibvirtHypervisor::metadata(const std::string& vm) {
  auto d = domain(vm, "reading metadata of VM " + vm);
  if (!d) return std::move(d).error();
  DomainRef ref(*d);
  char* xml = virDomainGetMetadata(ref.get(), VIR_DOMAIN_METADATA_ELEMENT, kMetadataUri, VIR_DOMAIN_AFFECT_CONFIG);
  if (xml == nullptr) {
    virErrorPtr e = virGetLastError();
    if (e && e->code == VIR_ERR_NO_DOMAIN_METADATA) {
      virResetLastError();
      return std::map<std::string, std::string>{};
    }
    return libvirtError("reading metadata of VM " + vm);
  }
  std::string text(xml);
  std::free(xml);
  return parseMetadataXml(text);
}

// Entries are merged into what the VM already has: libvirt replaces the whole element.
Status LibvirtHypervisor::setMetadata(const std::string& vm, const std::map<std::string, std::string>& entries) {
  std::lock_guard lock(metadataMu_);
  auto current = metadata(vm);
  if (!current) return std::move(current).error();
  for (const auto& [k, v] : entries) (*current)[k] = v;
  std::string xml = metadataXml(*current, false);
  return withDomain(vm, "writing metadata of VM " + vm, [&](virDomainPtr d) {
    int r = virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml.c_str(), kMetadataPrefix, kMetadataUri, affectFlags(d));
    if (r < 0 && virDomainIsActive(d) == 0) {  // it ended between the check and the write: its definition only
      r = virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml.c_str(), kMetadataPrefix, kMetadataUri, VIR_DOMAIN_AFFECT_CONFIG);
    }
    return r;
  });
}

Status LibvirtHypervisor::attachDisk(const std::string& vm, const DiskSpec& disk) {
  return withDomain(vm, "attaching disk " + disk.path + " to VM " + vm, [&](virDomainPtr d) {
    // the next free vdX: count the disks libvirt already has
    char* cur = virDomainGetXMLDesc(d, 0);
    size_t count = 0;
    for (const char* p = cur; p && (p = std::strstr(p, "<disk ")) != nullptr; ++p) ++count;
    std::free(cur);
    return virDomainAttachDeviceFlags(d, diskXml(disk, count).c_str(), affectFlags(d));
  });
}

Status LibvirtHypervisor::detachElement(const std::string& vm, const std::string& tag, const std::string& needle,
                                        const std::string& op) {
  auto d = domain(vm, op);
  if (!d) return std::move(d).error();
  DomainRef ref(*d);
  char* cur = virDomainGetXMLDesc(ref.get(), VIR_DOMAIN_XML_INACTIVE);
  std::string desc = cur ? cur : "";
  std::free(cur);
  auto xml = deviceElement(desc, tag, needle);
  if (!xml) return Error(Errc::kNotFound, op + ": the VM has no such device");
  if (virDomainDetachDeviceFlags(ref.get(), xml->c_str(), affectFlags(ref.get())) < 0) return libvirtError(op);
  return vic::ok();
}

Status LibvirtHypervisor::detachDisk(const std::string& vm, const std::string& path) {
  return detachElement(vm, "disk", "file='" + xmlEscape(path) + "'", "detaching disk " + path + " from VM " + vm);
}

Status LibvirtHypervisor::attachNic(const std::string& vm, const NicSpec& nic) {
  return withDomain(vm, "attaching a NIC on " + nic.portGroup + " to VM " + vm, [&](virDomainPtr d) {
    return virDomainAttachDeviceFlags(d, nicXml(nic).c_str(), affectFlags(d));
  });
}

Status LibvirtHypervisor::detachNic(const std::string& vm, const std::string& mac) {
  return detachElement(vm, "interface", "address='" + xmlEscape(mac) + "'", "detaching NIC " + mac + " from VM " + vm);
}

Result<std::string> LibvirtHypervisor::qmp(const std::string& vm, const std::string& command) {
  auto d = domain(vm, "QMP on VM " + vm);
  if (!d) return std::move(d).error();
  DomainRef ref(*d);
  char* reply = nullptr;
  if (virDomainQemuMonitorCommand(ref.get(), command.c_str(), &reply, VIR_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT) < 0) {
    return libvirtError("QMP on VM " + vm);
  }
  std::string out(reply);
  std::free(reply);
  // QEMU answers a bad command with {"error":{"class":..,"desc":..}}: that is a failure too.
  if (std::string why = qmpError(out); !why.empty()) return Error(Errc::kInvalidArgument, "QMP on VM " + vm + ": " + why);
  return out;
}

namespace {

// One QMP command on a domain, optionally handing QEMU an fd with it (for getfd).
Result<std::string> monitor(virDomainPtr d, const std::string& command, int fd, const std::string& op) {
  char* reply = nullptr;
  int rc = fd < 0 ? virDomainQemuMonitorCommand(d, command.c_str(), &reply, VIR_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT)
                  : virDomainQemuMonitorCommandWithFiles(d, command.c_str(), 1, &fd, nullptr, nullptr, &reply,
                                                         VIR_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT);
  if (rc < 0) return libvirtError(op);
  std::string out(reply);
  std::free(reply);
  if (std::string why = qmpError(out); !why.empty()) return Error(Errc::kInternal, op + ": " + why);
  return out;
}

constexpr const char* kIgnoreShared =
    R"({"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}})";

// Hands `fd` to QEMU and runs `command` (migrate or migrate-incoming, with uri fd:vicstate) to
// the end. RAM in shared files is skipped (x-ignore-shared): only device state moves.
Status migrateThroughFd(virDomainPtr d, int fd, const std::string& command, const std::string& op) {
  if (auto r = monitor(d, kIgnoreShared, -1, op); !r) return std::move(r).error();
  if (auto r = monitor(d, R"({"execute":"getfd","arguments":{"fdname":"vicstate"}})", fd, op); !r) return std::move(r).error();
  if (auto r = monitor(d, command, -1, op); !r) return std::move(r).error();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    auto reply = monitor(d, R"({"execute":"query-migrate"})", -1, op);
    if (!reply) return std::move(reply).error();
    auto status = migrationStatus(*reply);
    if (!status) return std::move(status).error().wrap(op);
    if (*status == "completed") return vic::ok();
    if (std::chrono::steady_clock::now() > deadline) return Error(Errc::kTimeout, op + ": migration still " + *status + " after 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// virtio-net migrates its link status: a clone's NIC the definition wants without carrier
// would have the template's (up). libvirt already thinks it is down, so tell QEMU directly.
Status restoreLinkStates(virDomainPtr d, const std::string& op) {
  char* raw = virDomainGetXMLDesc(d, 0);
  if (raw == nullptr) return libvirtError(op);
  std::string live(raw);
  std::free(raw);
  for (const auto& alias : downLinkAliases(live)) {
    nlohmann::json cmd = {{"execute", "set_link"}, {"arguments", {{"name", alias}, {"up", false}}}};
    if (auto r = monitor(d, cmd.dump(), -1, op); !r) return std::move(r).error();
  }
  return vic::ok();
}

}  // namespace

Status LibvirtHypervisor::freezeTemplate(const std::string& vm, const std::string& stateFile) {
  std::string op = "freezing template VM " + vm;
  auto d = domain(vm, op);
  if (!d) return std::move(d).error();
  DomainRef ref(*d);
  std::string partial = stateFile + ".partial";
  UniqueFd fd(::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return Error::fromErrno(op + ": creating " + partial);
  Status st = vic::ok();
  if (auto stopped = monitor(ref.get(), R"({"execute":"stop"})", -1, op); !stopped) st = std::move(stopped).error();
  if (st) st = migrateThroughFd(ref.get(), fd.get(), R"({"execute":"migrate","arguments":{"uri":"fd:vicstate"}})", op);
  if (st && ::fsync(fd.get()) != 0) st = Error::fromErrno(op + ": writing " + partial);
  if (st && ::rename(partial.c_str(), stateFile.c_str()) != 0) st = Error::fromErrno(op + ": renaming " + partial);
  if (!st) ::unlink(partial.c_str());
  if (virDomainDestroy(ref.get()) < 0 && st) st = libvirtError(op + ": powering it off");
  return st;
}

Status LibvirtHypervisor::instantClone(const std::string& vm, const CloneSource& src) {
  std::string op = "cloning VM " + vm + " from template " + src.stateFile;
  auto d = domain(vm, op);
  if (!d) return std::move(d).error();
  DomainRef persistent(*d);
  if (virDomainIsActive(persistent.get()) == 1) return Error(Errc::kConflict, op + ": it is already running");
  char* raw = virDomainGetXMLDesc(persistent.get(), VIR_DOMAIN_XML_INACTIVE);
  if (raw == nullptr) return libvirtError(op);
  std::string inactive(raw);
  std::free(raw);
  auto live = cloneDomainXml(inactive, src);
  if (!live) return std::move(live).error().wrap(op);
  UniqueFd fd(::open(src.stateFile.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno(op + ": opening the state file");
  auto c = conn();
  if (!c) return std::move(c).error().wrap(op);
  // Same name and uuid as the definition: libvirt starts it with this as its live definition
  // and keeps the persistent one for the next (cold or cloned) start.
  virDomainPtr started = virDomainCreateXML(*c, live->c_str(), 0);
  if (started == nullptr) return libvirtError(op);
  DomainRef clone(started);
  Status st = migrateThroughFd(clone.get(), fd.get(), R"({"execute":"migrate-incoming","arguments":{"uri":"fd:vicstate"}})", op);
  if (st) st = restoreLinkStates(clone.get(), op);
  if (st && virDomainResume(clone.get()) < 0) st = libvirtError(op + ": resuming it");
  if (!st) virDomainDestroy(clone.get());
  return st;
}

Status LibvirtHypervisor::withNetwork(const std::string& name, const std::string& op,
                                      const std::function<int(virNetworkPtr)>& f) {
  auto c = conn();
  if (!c) return std::move(c).error().wrap(op);
  virNetworkPtr n = virNetworkLookupByName(*c, name.c_str());
  if (n == nullptr) return libvirtError(op);
  int rc = f(n);
  Status st = rc < 0 ? Status(libvirtError(op)) : vic::ok();
  virNetworkFree(n);
  return st;
}

Status LibvirtHypervisor::createPortGroup(const PortGroupSpec& pg) {
  if (auto st = validateVmName(pg.name); !st) return st;
  std::string op = "creating port group " + pg.name;
  auto xml = networkXml(pg);
  if (!xml) return std::move(xml).error().wrap(op);
  auto c = conn();
  if (!c) return std::move(c).error().wrap(op);
  virNetworkPtr n = virNetworkDefineXML(*c, xml->c_str());
  if (n == nullptr) return libvirtError(op);
  // Start it; on failure leave nothing half-made behind.
  if (virNetworkCreate(n) < 0 || virNetworkSetAutostart(n, 1) < 0) {
    Error e = libvirtError(op);
    if (virNetworkIsActive(n) == 1) virNetworkDestroy(n);
    virNetworkUndefine(n);
    virNetworkFree(n);
    return e;
  }
  virNetworkFree(n);
  return vic::ok();
}

Status LibvirtHypervisor::deletePortGroup(const std::string& name) {
  return withNetwork(name, "deleting port group " + name, [](virNetworkPtr n) {
    if (virNetworkIsActive(n) == 1 && virNetworkDestroy(n) < 0) return -1;
    return virNetworkUndefine(n);
  });
}

Result<std::vector<std::string>> LibvirtHypervisor::listPortGroups() {
  auto c = conn();
  if (!c) return std::move(c).error();
  virNetworkPtr* nets = nullptr;
  int n = virConnectListAllNetworks(*c, &nets, 0);
  if (n < 0) return libvirtError("listing port groups");
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    names.emplace_back(virNetworkGetName(nets[i]));
    virNetworkFree(nets[i]);
  }
  std::free(nets);
  std::sort(names.begin(), names.end());
  return names;
}

namespace {
constexpr unsigned kLiveAndConfig = VIR_NETWORK_UPDATE_AFFECT_LIVE | VIR_NETWORK_UPDATE_AFFECT_CONFIG;
}

Status LibvirtHypervisor::setHostEntry(const std::string& portGroup, const HostEntry& e) {
  (void)removeHostEntry(portGroup, e);  // replace, so a restarted container keeps one entry
  std::string what = "adding host " + e.ip + " to port group " + portGroup;
  return withNetwork(portGroup, what, [&](virNetworkPtr n) {
    if (!e.mac.empty() && virNetworkUpdate(n, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_IP_DHCP_HOST, -1,
                         dhcpHostXml(e).c_str(), kLiveAndConfig) < 0) {
      return -1;
    }
    return virNetworkUpdate(n, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_DNS_HOST, -1,
                            dnsHostXml(e).c_str(), kLiveAndConfig);
  });
}

Status LibvirtHypervisor::removeHostEntry(const std::string& portGroup, const HostEntry& e) {
  std::string what = "removing host " + e.ip + " from port group " + portGroup;
  Status dhcp = e.mac.empty() ? ok() : withNetwork(portGroup, what, [&](virNetworkPtr n) {
    return virNetworkUpdate(n, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_IP_DHCP_HOST, -1,
                            dhcpHostXml(e).c_str(), kLiveAndConfig);
  });
  Status dns = withNetwork(portGroup, what, [&](virNetworkPtr n) {
    return virNetworkUpdate(n, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_DNS_HOST, -1,
                            dnsHostXml(e).c_str(), kLiveAndConfig);
  });
  return dhcp ? dns : dhcp;
}

Result<std::string> LibvirtHypervisor::portGroupXml(const std::string& name) {
  std::string xml;
  auto st = withNetwork(name, "reading port group " + name, [&](virNetworkPtr n) {
    char* d = virNetworkGetXMLDesc(n, 0);
    if (d == nullptr) return -1;
    xml = d;
    std::free(d);
    return 0;
  });
  if (!st) return std::move(st).error();
  return xml;
}

Result<std::string> LibvirtHypervisor::domainXml(const std::string& vm) {
  std::string xml;
  auto st = withDomain(vm, "reading the definition of " + vm, [&](virDomainPtr d) {
    char* desc = virDomainGetXMLDesc(d, 0);
    if (desc == nullptr) return -1;
    xml = desc;
    std::free(desc);
    return 0;
  });
  if (!st) return std::move(st).error();
  return xml;
}

int LibvirtHypervisor::subscribe(EventHandler handler) {
  std::lock_guard lock(handlersMu_);
  int id = nextHandler_++;
  handlers_[id] = std::move(handler);
  return id;
}

void LibvirtHypervisor::unsubscribe(int id) {
  std::lock_guard lock(handlersMu_);
  handlers_.erase(id);
}

void LibvirtHypervisor::deliver(const VmEvent& e) {
  std::lock_guard lock(handlersMu_);
  for (auto& [id, h] : handlers_) h(e);
}

int LibvirtHypervisor::lifecycleCallback(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque) {
  VmEvent e;
  e.vm = virDomainGetName(dom);
  e.kind = kindOf(event, detail);
  if (event == VIR_DOMAIN_EVENT_STOPPED) e.detail = stopDetail(detail);
  if (event == VIR_DOMAIN_EVENT_SUSPENDED && detail == VIR_DOMAIN_EVENT_SUSPENDED_IOERROR) e.detail = kIoErrorPause;
  unsigned id = virDomainGetID(dom);  // the run's id while it runs; (unsigned)-1 once stopped
  e.runId = id == static_cast<unsigned>(-1) ? 0 : id;
  auto& sink = *static_cast<std::shared_ptr<EventSink>*>(opaque);
  std::lock_guard lock(sink->mu);
  if (sink->owner != nullptr) sink->owner->deliver(e);
  return 0;
}

void LibvirtHypervisor::freeSink(void* opaque) { delete static_cast<std::shared_ptr<EventSink>*>(opaque); }

}  // namespace vic::hv
