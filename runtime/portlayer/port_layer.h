// The port layer: execution, interaction and networking for containerVMs (VIC's port layer). Containers
// are VMs: the spec lives in the VM's metadata, the state comes from the VM's power state and
// tether's exit record in the container's output log, the output lives in that log on the
// datastore. In memory there is only what a restart can rebuild (tether connections, waiters,
// the last power state the hypervisor reported).
// All methods run on the io_context's thread; every hypervisor call, and every other call that
// blocks (disk tools, iptables), runs on the blocking pool: the hypervisor refuses to be called
// on the I/O thread (common/io_thread.h). The parts, as VIC's port layer has them:
//   port_layer.cc              the container table: specs, lookups, state, recovery, events
//   port_layer_exec.cc         execution: create, start, stop, kill, wait, remove
//   port_layer_interaction.cc  interaction: tether connections, attach, exec, signals, stats
//   port_layer_storage.cc      storage: volumes; port_layer_files.cc: cp, export, diff, commit
//   port_layer_net.cc          networking: addresses, DNS names, published ports, connect
//   port_layer_policy.cc       restart policies, pause, update; port_layer_space.cc: a full datastore
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/blocking.h"
#include "common/id.h"
#include "common/result.h"
#include "hypervisor/datastore.h"
#include "hypervisor/hypervisor.h"
#include "images/image_store.h"
#include "runtime/portlayer/container.h"
#include "runtime/portlayer/events.h"
#include "runtime/portlayer/network.h"
#include "runtime/portlayer/output_log.h"
#include "runtime/portlayer/port_forward.h"
#include "runtime/portlayer/template_key.h"
#include "runtime/portlayer/tree_diff.h"
#include "runtime/portlayer/volume.h"
#include "vsock/archive.h"
#include "vsock/host_connection.h"
#include "vsock/log_record.h"
#include "vsock/transport.h"

namespace vic::pl {

namespace asio = boost::asio;

struct PortLayerOptions {
  std::string vch;            // VCH name: VM names are <vch>-<id12>, metadata vic.vch
  std::string kernel, bootstrap;
  std::string pool;           // resource pool ("" = libvirt's default partition)
  std::chrono::seconds bootTimeout{90};
  std::string runDir;  // where tether sockets live (vch::runDir: a short path)
  std::chrono::milliseconds settleTimeout{5000};  // a stop event's VM must be off by then, else the event was old
  bool instantClone = true;  // containers start as clones of a template (false: every start boots)
  // Tether over AF_VSOCK (vsock_cid.h: chosen once, when the endpoint starts): every containerVM
  // and template gets a guest CID no VM on the host has, and the host connects to that; else
  // (and for a VM without a CID) over the VM's virtio-serial port.
  bool vsock = false;
  std::string cidLock = "/run/vic/vsock-cid.lock";  // host-wide, every VCH's: held while a CID is chosen
  // Where the host reaches the tether of the VM with a CID (unset: AF_VSOCK to the CID's tether
  // port; unit tests: a unix socket their fake guest serves).
  std::function<vsock::Endpoint(uint32_t cid)> vsockEndpoint{};
  // A full datastore: below minFreeBytes no container is created or started, and a VM that
  // QEMU paused for a failed write resumes once there is that much again (checked every
  // spaceCheckInterval). freeBytes: the datastore's free space (statvfs when not given).
  uint64_t minFreeBytes = uint64_t{64} << 20;
  std::chrono::milliseconds spaceCheckInterval{1000};
  std::function<std::optional<uint64_t>()> freeBytes{};
};

inline constexpr const char* kGuestCmdline = "console=ttyS0 quiet panic=-1";
// The MAC of a template's NIC (never up, so every template can have the same): a clone's tether
// gives that NIC the container's first MAC.
inline constexpr const char* kTemplateMac = "02:00:00:00:00:01";

enum class WaitCondition { kNotRunning, kNextExit, kRemoved };

// Stdio of a session, bound to tether channels; the personality pumps bytes through it.
struct SessionStreams {
  vsock::TetherConnection::Ptr conn;
  vsock::ChannelSet channels;
  std::string session;
};

// The hypervisor says the VM is off, or that there is no such VM (an error reaching it says nothing).
bool knownOff(const Result<hv::PowerState>& p);

class PortLayer {
 public:
  // `firewall` loads the published ports' rules (IptablesFirewall; a recorder in unit tests).
  PortLayer(asio::io_context& io, hv::Hypervisor& hv, hv::Datastore ds, images::ImageStore& images,
            Networks& nets, Volumes& vols, Firewall& firewall, PortLayerOptions opts);
  ~PortLayer();

  // Rebuilds state from libvirt (containers of this VCH) and reconnects to running ones. Blocks:
  // call it before the io_context runs.
  Status recover();
  // Makes the template of a container shape unless it exists (instant clone; recover() starts
  // this for the default shape). Concurrent starts of that shape wait for it.
  asio::awaitable<void> prepareTemplate(int vcpus, uint64_t memoryMiB);

  // ---- execution ----
  // An empty spec.name gets a random name no other container has.
  asio::awaitable<Result<ContainerSpec>> create(ContainerSpec spec);
  std::vector<ContainerInfo> list();
  // docker's lookup: full id, name, then unique id prefix. "No such container: x".
  Result<ContainerInfo> find(const std::string& ref);
  asio::awaitable<Status> start(const std::string& id);
  asio::awaitable<Status> stop(const std::string& id, std::optional<int> timeout);
  asio::awaitable<Status> kill(const std::string& id, int signal);
  // docker pause/unpause: the VM's vCPUs stop (memory, disks and connections stay); docker's
  // refusals for a container that is not running, already paused, or not paused.
  asio::awaitable<Status> pause(const std::string& id);
  asio::awaitable<Status> unpause(const std::string& id);
  // docker update --restart: the policy from now on (and across endpoint restarts).
  asio::awaitable<Status> setRestartPolicy(const std::string& id, RestartPolicy policy);
  // docker update --memory/--cpus: from the container's next start (refused beyond the VCH's pool).
  asio::awaitable<Status> setResources(const std::string& id, std::optional<uint64_t> memoryMiB, std::optional<int> vcpus);
  asio::awaitable<Result<ContainerStatus>> wait(const std::string& id, WaitCondition cond);
  // removeVolumes: its anonymous volumes go too (docker rm -v); named ones never do.
  asio::awaitable<Status> remove(const std::string& id, bool force, bool removeVolumes = false);
  asio::awaitable<Status> rename(const std::string& id, const std::string& newName);
  asio::awaitable<Status> setAnnotations(const std::string& id, const std::map<std::string, std::string>& add);

  // ---- interaction ----
  // Binds stdio channels to the main session; before start, waits for the start (the main
  // session is held with runBlock until every pending attach has bound its channels).
  asio::awaitable<Result<SessionStreams>> attach(const std::string& id, bool in, bool out, bool err);
  // Whether the container takes an exec now: running, not paused, its process not ended (docker's
  // messages otherwise). exec() checks it again.
  Status execAllowed(const std::string& id);
  asio::awaitable<Result<SessionStreams>> exec(const std::string& id, vsock::SessionSpec session);
  asio::awaitable<Result<vsock::ExitStatus>> waitSession(const std::string& id, const std::string& session);
  asio::awaitable<Status> resize(const std::string& id, const std::string& session, uint16_t rows, uint16_t cols);
  asio::awaitable<Status> signalSession(const std::string& id, const std::string& session, int signal);
  std::string logFile(const std::string& id) const;
  // docker top: the processes in a running container, as its guest lists them.
  asio::awaitable<Result<vsock::ProcessList>> processes(const std::string& id);
  // CPU, memory and disk use of a running container's VM (kConflict when it is not running).
  asio::awaitable<Result<hv::VmStats>> stats(const std::string& id);

  // ---- storage ----
  Volumes& volumes() { return vols_; }
  std::vector<std::string> volumeUsers(const std::string& name) const;  // ids of the containers that mount it

  // ---- files: docker cp and export (port_layer_files.cc) ----
  // Through tether while the container runs, through its disk (or the volume's) when it does not.
  using ChunkSink = std::function<asio::awaitable<bool>(std::span<const uint8_t>)>;  // false: stop
  asio::awaitable<Result<vsock::FileStat>> statPath(const std::string& id, const std::string& path);
  asio::awaitable<Status> readArchive(const std::string& id, const std::string& path, const vsock::SourceOptions& opts,
                                      const ChunkSink& out);
  // `tarFile`: the archive on the host's disk (an upload the API spooled), read in pieces.
  asio::awaitable<Status> writeArchive(const std::string& id, const std::string& path, const std::string& tarFile,
                                       const vsock::SinkOptions& opts);
  // docker diff, and the layer docker commit adds to the image (stopped containers: the
  // container's disk against its image's top layer).
  asio::awaitable<Result<std::vector<Change>>> diff(const std::string& id);
  // pause: a running container's VM is paused while its disk is read (docker commit's default).
  asio::awaitable<Result<images::LayerRecord>> commitLayer(const std::string& id, bool pause = true);

  // ---- networking ----
  Networks& networks() { return nets_; }  // reads; changes go through the two below
  asio::awaitable<Result<Scope>> createNetwork(const ScopeRequest& r);
  asio::awaitable<Status> removeNetwork(const std::string& id);
  // docker network connect/disconnect: the NIC is added to or removed from the VM; a running
  // one gets it hot-plugged and tether configures it.
  asio::awaitable<Status> connect(const std::string& id, const std::string& scope, const std::string& ip,
                                  const std::vector<std::string>& aliases);
  asio::awaitable<Status> disconnect(const std::string& id, const std::string& scope);
  // The host ports a running container got (empty when it publishes none or is stopped).
  std::vector<PortBinding> publishedPorts(const std::string& id) const;
  // Returns once the host-side updates queued so far (DNS entries, firewall rules) are applied.
  asio::awaitable<void> syncHost();

  EventBus& events() { return events_; }
  std::string vmName(const std::string& id) const { return opts_.vch + "-" + shortId(id); }

 private:
  // storage (port_layer_storage.cc)
  Result<std::vector<std::string>> provideVolumes(ContainerSpec& spec);  // the volumes it made
  void dropVolumes(const std::vector<std::string>& names);
  Status volumesFree(const ContainerSpec& spec);
  void addVolumeDisks(const ContainerSpec& spec, hv::VmSpec& vm) const;
  void fillMounts(const ContainerSpec& spec, vsock::ContainerConfig& cfg) const;
  void removeAnonymousVolumes(const ContainerSpec& spec);
  // files (port_layer_files.cc)
  struct DiskLease;
  struct StreamCall;
  bool liveInGuest(const ContainerSpec& spec);
  asio::awaitable<Result<std::shared_ptr<DiskLease>>> leaseDisk(const ContainerSpec& spec, const std::string& path,
                                                                bool writable);
  asio::awaitable<Status> releaseDisk(const std::shared_ptr<DiskLease>& lease);
  template <class F>
  asio::awaitable<Status> withTrees(const ContainerSpec& spec, F f, bool pause = true);
  template <class F>
  static Status compareTrees(const std::string& base, const std::string& disk, const std::string& work, bool running, F f);
  void cleanupDiskMounts();
  asio::awaitable<Result<std::shared_ptr<StreamCall>>> startStream(const std::string& id, const vsock::Request& request);
  asio::awaitable<Status> readFromTether(const std::string& id, const vsock::ReadFiles& request, const ChunkSink& out);
  asio::awaitable<Status> writeToTether(const std::string& id, const vsock::WriteFiles& request, const std::string& tarFile);
  // networking (port_layer_net.cc)
  std::set<uint32_t> usedAddresses(const std::string& scope) const;
  Status assignAddress(NetworkEndpoint& ep, const std::string& requestedIp) const;
  Status assignAddresses(ContainerSpec& spec) const;
  void fillNetworkConfig(const ContainerSpec& spec, vsock::ContainerConfig& cfg) const;
  static std::vector<std::string> dnsNames(const ContainerSpec& spec, const NetworkEndpoint& ep);
  void announce(const ContainerSpec& spec, bool up);
  Result<std::vector<PortBinding>> reservePorts(const ContainerSpec& spec);
  void refreshForwards();
  asio::awaitable<Status> publish(const std::string& id);  // before power-on: host ports taken
  void networkUp(const std::string& id);      // after power-on: names and rules (queued)
  void networkDown(const std::string& id);    // after power-off: all of it undone (queued)
  void onHost(std::function<void()> update);  // queues a blocking host update, run in order
  void restoreNetwork(const ContainerSpec& spec);
  std::optional<std::string> nameHolder(const std::string& name) const;  // the id using it
  std::string freeRandomName() const;
  struct Live {  // what a restart rebuilds: connections, waiters, the log cache
    explicit Live(const asio::any_io_executor& ex) : changed(ex) {}
    vsock::TetherConnection::Ptr conn;
    bool connecting = false;
    bool starting = false;
    bool poweringOn = false;  // between a start's boot count and its power-on's answer
    bool runBlock = false;    // the last start holds main until Unblock (told to a clone with its identity)
    bool cloned = false;      // the last start was an instant clone: its tether answers at once
    bool removed = false;
    bool trimming = false;  // keepLogTrimmed runs
    bool restarting = false;    // restartLater waits out its back-off
    bool ioPaused = false;      // QEMU paused it: a disk write failed (the datastore is full)
    bool watchingSpace = false;  // resumeWhenSpace runs
    std::optional<Health> health;  // its health check's state since the last start (none: no check)
    bool policyStart = false;   // the start under way is the restart policy's (keeps the count)
    int64_t backoffMs = 0;      // the last back-off (docker's: 100 ms, doubled, at most a minute)
    bool halting = false;  // its guest powered off (kShutDown) and the stop is handled; the VM is still ending
    int64_t runId = 0;     // the VM run of the last start: a kShutDown of another run is old
    std::optional<ContainerStatus> final;  // as it was removed (for its waiters)
    std::vector<vsock::ChannelId> mainStreams;  // attached clients' channels of main, drained before the connection goes
    int pendingAttach = 0;
    int diskUsers = 0;   // copies holding its disk mounted on the host (a start waits for them)
    uint64_t stops = 0;  // power-offs seen (next-exit waits for this to move)
    uint64_t failedStarts = 0;  // pending attaches give up when a start fails
    hv::PowerState power = hv::PowerState::kOff;  // last reported: recovery, our power-ons, events
    uint64_t boots = 0;        // power-ons asked for (1 for a VM found running at recovery)
    uint64_t stoppedBoot = 0;  // the boot whose stop was handled (repeated events change nothing)
    vsock::Notifier changed;
    OutputLogCache log;
  };
  std::shared_ptr<Live> live(const std::string& id);
  ContainerStatus statusOf(const ContainerSpec& spec);
  Result<ContainerSpec> specOf(const std::string& id);
  asio::awaitable<Status> saveSpec(const ContainerSpec& spec);
  asio::awaitable<Status> redefine(const ContainerSpec& spec);  // stopped: its VM defined anew, spec saved
  bool running(const std::string& id);  // the VM is on (or paused) by the last report
  // It runs and is not paused (its guest can answer); else docker's conflict ("Container <id>" + whenPaused).
  Status guestAnswers(const ContainerSpec& spec, const std::string& whenPaused);
  bool mainEnded(const ContainerSpec& spec);
  vsock::ContainerConfig tetherConfig(const ContainerSpec& spec, bool runBlock) const;
  Status writeTetherConfig(const ContainerSpec& spec, bool runBlock);
  hv::VmSpec vmSpec(const ContainerSpec& spec) const;
  Result<ContainerSpec> makeContainer(ContainerSpec spec);  // blocking: directory, disk, config, VM (with its CID)
  // Blocking: defines `vm`, the VM of `spec`; on an AF_VSOCK VCH a spec without a CID first gets one.
  Result<ContainerSpec> defineContainer(ContainerSpec spec, hv::VmSpec vm);
  vsock::Endpoint tetherEndpoint(const std::string& id);
  std::string dir(const std::string& id) const { return ds_.root() + "/containers/" + id; }
  std::string tetherSocket(const std::string& id) const { return opts_.runDir + "/" + shortId(id) + ".sock"; }
  asio::awaitable<Result<vsock::TetherConnection::Ptr>> connectTether(std::string id);
  asio::awaitable<Result<vsock::TetherConnection::Ptr>> connection(const std::string& id);
  asio::awaitable<std::string> launchError(const std::string& id, vsock::TetherConnection::Ptr conn);
  void onVmEvent(const hv::VmEvent& e);
  asio::awaitable<void> reconnect(std::string id);
  asio::awaitable<void> unblockMain(const std::string& id, vsock::TetherConnection::Ptr conn);
  // The container's VM stopped (haltedRun: its guest powered off in that run, the VM still ending).
  asio::awaitable<void> afterStop(std::string id, int64_t haltedRun = 0);
  asio::awaitable<void> vmEnded(std::shared_ptr<Live> l);  // a halting VM is off (or settleTimeout passed)
  asio::awaitable<void> streamsDrained(std::shared_ptr<Live> l);
  asio::awaitable<void> reapVm(std::string vm, std::string dir);
  asio::awaitable<void> keepLogTrimmed(std::string id);
  asio::awaitable<Status> resumeIfPaused(const std::string& id);
  // health checks (port_layer_health.cc)
  bool sameRun(const std::shared_ptr<Live>& l, uint64_t boot) const;  // still the run of that start
  asio::awaitable<void> watchHealth(std::string id);
  asio::awaitable<HealthProbe> probeHealth(const ContainerSpec& spec, std::vector<std::string> argv, int64_t timeoutNs);
  asio::awaitable<void> awaitHypervisor();  // after "disconnected"
  // A container event as docker reports most: its name and image as attributes.
  void containerEvent(const ContainerSpec& spec, const std::string& action);
  bool wantsRestart(const ContainerSpec& spec, const ContainerStatus& st) const;
  // port_layer_space.cc: a full datastore.
  Status roomOnDatastore() const;  // docker's words when below minFreeBytes
  void onIoErrorPause(const std::string& id);
  void onResumed(const std::string& id);
  asio::awaitable<void> resumeWhenSpace(std::string id);
  asio::awaitable<Status> stoppedByHand(const ContainerSpec& spec);
  asio::awaitable<void> restartLater(std::string id, int64_t ranMs);
  asio::awaitable<void> resync();           // after "reconnected"
  asio::awaitable<void> stopsMoved(std::shared_ptr<Live> l, uint64_t before, std::chrono::steady_clock::time_point deadline);
  Error startFailed(const std::string& id, Error e);
  asio::awaitable<void> removeAfterFailedStart(std::string id);
  asio::awaitable<Status> destroy(const std::string& id);
  Status forget(const std::string& id);
  Status removeVm(const std::string& vm, const std::string& dir);  // blocking
  asio::awaitable<bool> settleStopped(const std::string& id);
  // instant clone (port_layer_clone.cc)
  asio::awaitable<Result<TemplateInputs>> templateInputs(int vcpus, uint64_t memoryMiB);
  std::string templateDir(const TemplateInputs& in) const;
  hv::NicSpec templateNic() const;
  asio::awaitable<std::optional<hv::CloneSource>> cloneSource(const ContainerSpec& spec);
  asio::awaitable<void> remakeInBackground(TemplateInputs in);
  asio::awaitable<Result<hv::CloneSource>> templateFor(const TemplateInputs& in, bool make);
  hv::VmSpec templateVmSpec(const TemplateInputs& in, const std::string& dir) const;
  asio::awaitable<Status> makeTemplate(const TemplateInputs& in, std::string dir);
  asio::awaitable<Result<std::string>> templateReady(std::string consoleLog);
  struct PoweredOn {
    bool cloned = false;
    int64_t runId = 0;
  };
  Result<PoweredOn> powerOnVm(const std::string& id, const std::optional<hv::CloneSource>& source);  // blocking
  asio::awaitable<Status> deliverIdentity(const std::string& id, vsock::TetherConnection::Ptr conn);
  template <class F>
  asio::awaitable<std::invoke_result_t<F>> offload(F f) {
    co_return co_await blocking_.run(std::move(f));
  }

  asio::io_context& io_;
  hv::Hypervisor& hv_;
  hv::Datastore ds_;
  images::ImageStore& images_;
  PortLayerOptions opts_;
  BlockingPool blocking_{8};  // libvirt calls mostly wait: concurrent starts must not queue behind two
  asio::strand<asio::any_io_executor> hostUpdates_{asio::make_strand(blocking_.executor())};
  EventBus events_;
  Networks& nets_;
  Volumes& vols_;
  Firewall& firewall_;
  PortForwarder forwarder_;
  std::map<std::string, std::vector<PortBinding>> published_;  // running containers' host ports
  std::set<std::string> announced_;  // containers whose names the scopes' DNS holds
  std::map<std::string, ContainerSpec> specs_;  // cache of the VMs' metadata (rebuilt by recover)
  std::map<std::string, ContainerSpec> creating_;  // names and addresses held while create runs
  std::map<std::string, std::shared_ptr<Live>> live_;
  bool hvDown_ = false;  // the hypervisor is unreachable: power states are the last known
  std::string imageDigest_, hostKind_;     // template inputs fixed for the endpoint's life
  std::set<std::string> makingTemplates_;  // template directories being made
  vsock::Notifier templatesChanged_{io_.get_executor()};
  int subscription_ = -1;
};

}  // namespace vic::pl
