// Execution: a container's life as its VM's (create, start, stop, kill, wait, remove).
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
#include "vsock/codec.h"

namespace vic::pl {
namespace fs = std::filesystem;
using vsock::Request;
using vsock::TetherConnection;

asio::awaitable<Result<ContainerSpec>> PortLayer::create(ContainerSpec spec) {
  if (spec.name.empty()) spec.name = freeRandomName();
  if (auto st = assignAddresses(spec); !st) co_return std::move(st).error();
  if (auto holder = nameHolder(spec.name)) {  // made, or being made by a create still running
    co_return Error(Errc::kConflict, "Conflict. The container name \"/" + spec.name + "\" is already in use by container \"" +
                                         *holder + "\". You have to remove (or rename) that container to be able to reuse that name.");
  }
  if (auto room = roomOnDatastore(); !room) co_return std::move(room).error();
  auto volumes = provideVolumes(spec);  // Volumes is the I/O thread's (mke2fs stays here for now)
  if (!volumes) co_return std::move(volumes).error();
  creating_[spec.id] = spec;  // holds the name and addresses while the disk and VM are made
  auto makeIt = [this, spec] { return makeContainer(spec); };
  auto made = co_await offload(makeIt);
  creating_.erase(spec.id);
  if (!made) {
    auto undo = [d = dir(spec.id)] {
      std::error_code ec;
      fs::remove_all(d, ec);
    };
    co_await offload(undo);
    dropVolumes(*volumes);
    co_return std::move(made).error();
  }
  spec = std::move(*made);  // with its CID
  specs_[spec.id] = spec;
  containerEvent(spec, "create");
  co_return spec;
}

// The container's directory, disk, tether config and VM (on the blocking pool).
Result<ContainerSpec> PortLayer::makeContainer(ContainerSpec spec) {
  if (!opts_.vsock) spec.vsockCid = 0;
  std::string d = dir(spec.id);
  std::error_code ec;
  fs::create_directories(d, ec);
  if (auto st = hv::shareWithQemu(d, 0770); !st) return std::move(st).error();  // QEMU writes its log here
  std::string rel = "containers/" + spec.id + "/rw.qcow2";
  auto parent = images_.layers().diskOf(spec.topLayer);
  if (auto st = ds_.createChild(rel, parent); !st) return std::move(st).error().wrap("creating the container's disk");
  if (auto st = hv::shareWithQemu(d + "/rw.qcow2", 0660); !st) return std::move(st).error();
  if (auto st = writeTetherConfig(spec, false); !st) return std::move(st).error();
  auto defined = defineContainer(spec, vmSpec(spec));
  if (!defined) return std::move(defined).error().wrap("defining the containerVM");
  return defined;
}

asio::awaitable<Status> PortLayer::start(const std::string& id) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  auto l = live(id);
  if (statusOf(*spec).state == RunState::kRunning) co_return Error(Errc::kNotModified, "container already started");
  while (l->diskUsers > 0) co_await l->changed.wait();  // a copy into the stopped container finishes first
  co_await vmEnded(l);  // the last run's VM, whose guest just powered off, ends first
  if (statusOf(*spec).state == RunState::kRunning || l->starting) co_return Error(Errc::kNotModified, "container already started");
  l->starting = true;
  log::Steps t(log::Level::kDebug, "portlayer", "start " + shortId(id));
  bool runBlock = l->pendingAttach > 0;
  Status st = writeTetherConfig(*spec, runBlock);
  std::string started = std::to_string(nowNs());
  if (st) st = roomOnDatastore();
  if (st) st = volumesFree(*spec);
  if (st) st = co_await publish(id);
  if (!st) co_return startFailed(id, std::move(st).error());  // docker's own words (a taken port): no prefix
  std::map<std::string, std::string> startedAt{{kStartedKey, started}};  // no braced list in co_await (GCC 12)
  if (!l->policyStart && spec->restart.name != "no") {  // by hand: the policy applies again, counted anew
    startedAt[kStoppedKey] = "0";
    startedAt[kRestartsKey] = "0";
  }
  if (st) st = co_await setAnnotations(id, startedAt);
  if (st && (spec->vsockCid != 0) != opts_.vsock) {  // made under the other transport: it takes this VCH's
    auto current = specOf(id);  // as setAnnotations saved it
    if (!current) st = std::move(current).error();
    else st = co_await redefine(*current);
    if (st) spec = specOf(id);
  }
  t.step("prepare");
  std::optional<hv::CloneSource> source;
  if (st) source = co_await cloneSource(*spec);
  t.step("template");
  l->runBlock = runBlock;
  l->mainStreams.clear();
  ++l->boots;
  l->poweringOn = true;  // a stop event now waits for the answer: it may be this boot's or an old one
  auto powerOn = [this, id, source] { return powerOnVm(id, source); };
  if (st) {
    auto on = co_await offload(powerOn);
    if (on) {
      l->cloned = on->cloned;
      l->runId = on->runId;
    } else {
      st = std::move(on).error();
    }
  }
  l->poweringOn = false;
  l->changed.notify();
  t.step(l->cloned ? "clone" : "power-on");
  if (!st) co_return startFailed(id, std::move(st).error().wrap("starting container " + shortId(id)));
  l->power = hv::PowerState::kRunning;  // a quick exit's afterStop waits for this start, then says off
  containerEvent(*spec, "start");
  networkUp(id);
  if (spec->logLimits.maxBytes > 0) asio::co_spawn(io_, keepLogTrimmed(id), asio::detached);
  asio::co_spawn(io_, watchHealth(id), asio::detached);
  co_await syncHost();  // names and published ports answer when start returns
  t.step("network");
  auto conn = co_await connection(id);
  t.step("tether");
  l->starting = false;
  l->changed.notify();
  if (conn && runBlock) {
    asio::steady_timer grace(io_, std::chrono::seconds(10));  // attachers bind their channels first
    while (l->pendingAttach > 0 && grace.expiry() > asio::steady_timer::clock_type::now()) {
      asio::steady_timer tick(io_, std::chrono::milliseconds(20));
      co_await tick.async_wait(asio::use_awaitable);
    }
    t.step("attach");
    co_await unblockMain(id, *conn);
    t.step("unblock");
  }
  l->changed.notify();
  // docker fails the start itself when the process cannot be launched (the CLI then exits 127/126)
  TetherConnection::Ptr tether = conn ? *conn : nullptr;  // no ?: inside co_await (GCC 12 double-destroys)
  std::string failed = co_await launchError(id, tether);
  t.step("launched");
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

// A containerVM powered off: however it happened, the container has exited.
// Events do not say which boot they are about, so the VM decides: once no power-on is under way,
// a VM that is off means the latest boot stopped (handled once); one that runs means the event
// was late or repeated (an earlier boot's) and changes nothing.
asio::awaitable<void> PortLayer::afterStop(std::string id, int64_t haltedRun) {
  auto l = live(id);
  log::Steps steps(log::Level::kDebug, "portlayer", "stop event of " + shortId(id));
  while (l->poweringOn) co_await l->changed.wait();
  uint64_t boot = l->boots;
  if (l->stoppedBoot == boot) co_return;  // a second event for the same stop
  if (haltedRun != 0) {
    // The guest powered off: its disks are clean and its output is out. libvirt takes a few
    // hundred ms more to end the VM (and holds it meanwhile): the container has exited already.
    if (haltedRun != l->runId) co_return;  // an earlier run's
    l->halting = true;
  } else if (!co_await settleStopped(id)) {
    co_return;  // running again: an old event
  }
  if (l->stoppedBoot == boot || l->boots != boot) co_return;  // handled meanwhile, or started again
  l->stoppedBoot = boot;
  steps.step("settled");
  // The VM is off, but tether's last bytes may still be on their way: attached clients read
  // them all (to the end of their streams) before the connection is dropped.
  co_await streamsDrained(l);
  if (l->conn) l->conn->shutdown();
  l->conn.reset();
  steps.step("channel");
  while (l->starting) co_await l->changed.wait();  // its start is told (and its "start" event sent) first
  l->power = hv::PowerState::kOff;
  ++l->stops;
  if (l->health) l->health->status = "unhealthy";  // docker's: a stopped check reads unhealthy
  networkDown(id);
  auto spec = specOf(id);
  if (!spec) co_return;
  auto st = statusOf(*spec);
  events_.publish({"container", "die", id,
                   {{"name", spec->name}, {"image", spec->imageRef}, {"exitCode", std::to_string(st.exitCode)}}, nowNs(), 0});
  l->changed.notify();
  steps.step("die");
  if (!l->removed && wantsRestart(*spec, st)) asio::co_spawn(io_, restartLater(id, (st.finishedNs - st.startedNs) / 1000000), asio::detached);
  if (spec->autoRemove && !l->removed) {
    Status gone = co_await destroy(id);
    steps.step("removed");
    if (gone) removeAnonymousVolumes(*spec);  // --rm takes the anonymous volumes along
  }
}

// Until each attached stream of main has ended (tether sends their ends before it powers off),
// the connection is gone, or 2 s passed. Data already received stays readable after that.
asio::awaitable<void> PortLayer::streamsDrained(std::shared_ptr<Live> l) {
  auto ended = [&] {
    if (!l->conn || !l->conn->alive()) return true;
    for (auto ch : l->mainStreams) {
      if (!l->conn->ended(ch)) return false;
    }
    return true;
  };
  for (int i = 0; i < 100 && !ended(); ++i) {
    asio::steady_timer t(io_, std::chrono::milliseconds(10));
    co_await t.async_wait(asio::use_awaitable);
  }
}

// A halting VM's end (its kStopped event), or settleTimeout: disks are then free of QEMU.
asio::awaitable<void> PortLayer::vmEnded(std::shared_ptr<Live> l) {
  auto deadline = std::chrono::steady_clock::now() + opts_.settleTimeout;
  while (l->halting && std::chrono::steady_clock::now() < deadline) {
    asio::steady_timer t(io_, std::chrono::milliseconds(10));
    co_await t.async_wait(asio::use_awaitable);
  }
}

bool knownOff(const Result<hv::PowerState>& p) {
  if (!p) return p.error().code() == Errc::kNotFound;
  return *p != hv::PowerState::kRunning && *p != hv::PowerState::kPaused;
}

// libvirt reports the stop a moment before its power state says so (and before a power-on
// would be accepted): wait for it, off the I/O thread, so a restart that follows works.
// False when the VM still runs after opts_.settleTimeout: the event was about an earlier boot.
asio::awaitable<bool> PortLayer::settleStopped(const std::string& id) {
  auto settle = [this, vm = vmName(id)] {
    auto deadline = std::chrono::steady_clock::now() + opts_.settleTimeout;
    while (true) {
      if (knownOff(hv_.powerState(vm))) return true;  // unreachable is not off
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  co_return co_await offload(settle);
}

asio::awaitable<Status> PortLayer::stop(const std::string& id, std::optional<int> timeout) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (auto st = co_await stoppedByHand(*spec); !st) co_return st;
  if (statusOf(*spec).state != RunState::kRunning) co_return Error(Errc::kNotModified, "container already stopped");
  if (auto st = co_await resumeIfPaused(id); !st) co_return st;  // as docker: a paused container is stopped too
  auto l = live(id);
  uint64_t stopsBefore = l->stops;
  int secs = timeout.value_or(spec->stopTimeout);
  auto conn = co_await connection(id);
  if (conn && secs != 0) {
    Request sig = vsock::Signal{"main", spec->stopSignal};
    (void)co_await (*conn)->call(sig);
  }
  co_await stopsMoved(l, stopsBefore, std::chrono::steady_clock::now() + std::chrono::seconds(secs < 0 ? 3600 * 24 : secs));
  if (l->stops == stopsBefore) {
    events_.publish({"container", "kill", id, {{"name", spec->name}, {"signal", "9"}}, nowNs(), 0});
    auto powerOff = [this, vm = vmName(id)]() -> Status {
      Status off = hv_.powerOff(vm);
      return off || knownOff(hv_.powerState(vm)) ? ok() : off;
    };
    if (Status off = co_await offload(powerOff); !off) co_return off;
    asio::co_spawn(io_, afterStop(id), asio::detached);  // without waiting for libvirt's event
    co_await stopsMoved(l, stopsBefore, std::chrono::steady_clock::now() + opts_.settleTimeout + std::chrono::seconds(3));
  }
  containerEvent(*spec, "stop");
  co_return ok();
}

// Until the container's stop is handled (its count moves past `before`) or the deadline.
asio::awaitable<void> PortLayer::stopsMoved(std::shared_ptr<Live> l, uint64_t before, std::chrono::steady_clock::time_point deadline) {
  while (l->stops == before && std::chrono::steady_clock::now() < deadline) {
    asio::steady_timer t(io_, std::chrono::milliseconds(50));
    co_await t.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<Status> PortLayer::kill(const std::string& id, int signal) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (auto st = co_await stoppedByHand(*spec); !st) co_return st;
  if (statusOf(*spec).state != RunState::kRunning) {
    co_return Error(Errc::kConflict, "Container " + id + " is not running");  // the API adds "Cannot kill container: <ref>: "
  }
  events_.publish({"container", "kill", id, {{"name", spec->name}, {"signal", std::to_string(signal)}}, nowNs(), 0});
  if (auto st = co_await resumeIfPaused(id); !st) co_return st;  // the signal reaches it, as docker's does
  auto conn = co_await connection(id);
  if (conn) {
    Request sig = vsock::Signal{"main", signal};
    auto r = co_await (*conn)->call(sig);
    if (r) co_return ok();
  }
  if (signal != SIGKILL) co_return Error(Errc::kUnavailable, "cannot reach container " + shortId(id) + " to signal it");
  auto powerOff = [this, vm = vmName(id)]() -> Status {  // tether may have gone with its reply: off is off
    Status off = hv_.powerOff(vm);
    return off || knownOff(hv_.powerState(vm)) ? ok() : off;
  };
  co_return co_await offload(powerOff);
}

asio::awaitable<Result<ContainerStatus>> PortLayer::wait(const std::string& id, WaitCondition cond) {
  if (!specs_.count(id)) co_return noSuch(id);
  auto l = live(id);
  uint64_t stopsBefore = l->stops;
  ContainerStatus last = statusOf(specs_[id]);
  while (true) {
    auto it = specs_.find(id);  // re-read: start records its time in the spec
    if (it == specs_.end()) co_return l->final.value_or(last);  // removed
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
  // A power-on under way (a clone mid-migration, a cold boot's QEMU starting) answers first: torn
  // down under it, a clone reads as failed, which means a cold-boot attempt and a remade template.
  while (l->poweringOn) co_await l->changed.wait();
  l->removed = true;
  if (l->halting) {  // its guest is off and its VM ending: that, and its files, go in the background
    asio::co_spawn(io_, reapVm(vmName(id), dir(id)), asio::detached);
    co_return forget(id);
  }
  auto remove = [this, vm = vmName(id), d = dir(id)] { return removeVm(vm, d); };
  if (Status st = co_await offload(remove); !st) {
    l->removed = false;
    co_return std::move(st).error().wrap("removing container " + shortId(id));
  }
  co_return forget(id);
}

// Blocking: the VM (powered off if need be, then undefined), then its directory.
Status PortLayer::removeVm(const std::string& vm, const std::string& d) {
  Status st = hv_.destroy(vm);
  if (!st && st.error().code() != Errc::kNotFound) return st;
  std::error_code ec;
  fs::remove_all(d, ec);
  return ok();
}

// The container leaves the table (its VM and files are gone, or going).
Status PortLayer::forget(const std::string& id) {
  networkDown(id);
  auto spec = specOf(id);
  if (spec) live(id)->final = statusOf(*spec);
  specs_.erase(id);
  if (spec) containerEvent(*spec, "destroy");
  live(id)->changed.notify();
  live_.erase(id);
  return ok();
}

// An ending VM's removal. Until it is done the VM stays defined, so an endpoint that dies
// meanwhile finds it at recovery (an --rm container is removed then).
asio::awaitable<void> PortLayer::reapVm(std::string vm, std::string d) {
  auto remove = [this, vm, d] { return removeVm(vm, d); };
  if (Status st = co_await offload(remove); !st) log::warn("portlayer", st.error().wrap("removing VM " + vm).message());
}

// --log-opt max-size: a running container's log is trimmed as it grows (at most a second late),
// and once more after it stops.
asio::awaitable<void> PortLayer::keepLogTrimmed(std::string id) {
  auto l = live(id);
  if (l->trimming) co_return;
  l->trimming = true;
  for (;;) {
    asio::steady_timer tick(io_, std::chrono::seconds(1));
    co_await tick.async_wait(asio::use_awaitable);
    auto spec = specOf(id);
    if (!spec || l->removed) break;
    bool on = running(id);
    auto trim = [file = logFile(id), limits = spec->logLimits] { return trimOutputLog(file, limits); };
    auto dropped = co_await offload(trim);  // a named lambda: GCC 12 mishandles temporaries in co_await
    if (!dropped) {
      log::warn("portlayer", "container " + shortId(id) + "'s log: " + dropped.error().message());
      break;
    }
    if (!on) break;
  }
  l->trimming = false;
}

}  // namespace vic::pl
