// The port layer's state over time, over the FakeHypervisor: endpoint restarts, a hypervisor
// outage, restart policies, stats, health checks and pause.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/time.h"
#include "runtime/portlayer/exec_sessions.h"
#include "runtime/portlayer/output_log.h"
#include "runtime/portlayer/test_vch.h"

namespace vic::pl {
namespace {

using namespace std::chrono_literals;

TEST(PortLayer, ARestartedEndpointFindsItsContainersAndTheirState) {
  TestVch t;
  auto running = t.created({"sleep"}, "survivor");
  auto exited = t.created({"exit", "7"}, "done");
  ASSERT_TRUE(t.run(t.pl->start(running.id)));
  ASSERT_TRUE(t.run(t.pl->start(exited.id)));
  (void)t.run(t.pl->wait(exited.id, WaitCondition::kNotRunning));
  t.restartPortLayer();
  EXPECT_EQ(t.pl->list().size(), 2u);
  EXPECT_EQ(t.pl->find("survivor")->status.state, RunState::kRunning);
  auto done = t.pl->find("done")->status;
  EXPECT_EQ(done.state, RunState::kExited);
  EXPECT_EQ(done.exitCode, 7);
  ASSERT_TRUE(t.run(t.pl->stop(running.id, 5)));  // the reconnected tether takes the signal
  EXPECT_EQ(t.pl->find("survivor")->status.exitCode, 128 + SIGTERM);
}

TEST(PortLayer, ARestartedEndpointSeesTheGuestOfARunningContainerPowerOff) {
  TestVch t;
  t.hv.holdShutdowns(true);
  auto c = t.created({"sleep"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  t.restartPortLayer();
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 5)));
  EXPECT_EQ(t.pl->find(c.id)->status.exitCode, 128 + SIGTERM);
  // exited at its guest's power-off: no power-off was forced, the VM is still ending
  EXPECT_EQ(t.hv.powerState(t.vm(c.id)).valueOr(hv::PowerState::kOff), hv::PowerState::kShuttingDown);
  t.hv.finishShutdowns();
}

// libvirtd stopped (killed, restarted, upgraded): answers keep the last known state, nothing
// dies or is removed for it, and once it is back what happened meanwhile is read from the VMs.
TEST(PortLayer, WhileTheHypervisorIsDownNothingDiesAndItsStateIsReadAgainAfter) {
  TestVch t;
  auto up = t.created({"sleep"}, "up");
  auto spec = t.spec({"sleep"}, "gone");
  spec.autoRemove = true;
  auto gone = t.run(t.pl->create(spec));
  ASSERT_TRUE(gone);
  ASSERT_TRUE(t.run(t.pl->start(up.id)));
  ASSERT_TRUE(t.run(t.pl->start(gone->id)));
  size_t eventsBefore = t.pl->events().since(0).size();
  t.hv.setDown(true);
  t.hv.crash(t.vm(gone->id));  // its VM ends while no one can be told
  t.pump(300ms);
  auto stopped = t.run(t.pl->stop(up.id, 0));
  ASSERT_FALSE(stopped);  // a clear error, not a stop that did not happen
  EXPECT_EQ(stopped.error().code(), Errc::kUnavailable);
  EXPECT_EQ(t.pl->find("up")->status.state, RunState::kRunning);
  EXPECT_EQ(t.pl->find("gone")->status.state, RunState::kRunning);  // last known
  auto actions = eventActions(t.pl->events());
  EXPECT_EQ(std::count(actions.begin() + static_cast<long>(eventsBefore), actions.end(), "die"), 0);
  t.hv.setDown(false);
  t.pump(2500ms);  // the port layer's probe reconnects; the VMs are read again
  EXPECT_EQ(t.pl->find("up")->status.state, RunState::kRunning);
  EXPECT_FALSE(t.pl->find("gone"));  // it died then, and --rm removed it
  actions = eventActions(t.pl->events());
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "die"), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "destroy"), 1);
  ASSERT_TRUE(t.run(t.pl->stop(up.id, 0)));  // and it works again
  EXPECT_EQ(t.pl->find("up")->status.state, RunState::kExited);
}

// A container whose process ends while libvirtd is down is still running as last known, but
// its guest has powered off (QEMU, run with -no-shutdown, stays until libvirtd reaps it): exec
// and top are refused from tether's exit record instead of waiting on a guest that is gone.
TEST(PortLayer, WhileTheHypervisorIsDownAContainerWhoseProcessEndedTakesNoExec) {
  TestVch t;
  auto c = t.created({"sleep"}, "ends");
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  t.hv.setDown(true);
  ASSERT_TRUE(t.run(t.pl->kill(c.id, SIGTERM)));  // through tether: no libvirt needed
  t.pump(300ms);
  EXPECT_EQ(t.pl->find("ends")->status.state, RunState::kRunning);  // last known
  vsock::SessionSpec e;
  e.id = "e1";
  e.argv = {"echo", "x"};
  auto exec = t.run(t.pl->exec(c.id, e));
  ASSERT_FALSE(exec);
  EXPECT_EQ(exec.error().code(), Errc::kConflict);
  EXPECT_EQ(exec.error().message(), "Container " + c.id + " is not running");
  ExecSessions execs(*t.pl);
  auto made = execs.create(c.id, ExecSpec{{"echo", "x"}, {}, "", "", false, false, 0, 0});
  ASSERT_FALSE(made) << "docker exec's create is refused, not its start (which the CLI reads as a failed upgrade)";
  EXPECT_EQ(made.error().message(), "Container " + c.id + " is not running");
  auto top = t.run(t.pl->processes(c.id));
  ASSERT_FALSE(top);
  EXPECT_EQ(top.error().message(), "Container " + c.id + " is not running");
  t.hv.setDown(false);
  t.pump(2500ms);
  EXPECT_EQ(t.pl->find("ends")->status.state, RunState::kExited);
  EXPECT_EQ(t.pl->find("ends")->status.exitCode, 143);
}

ContainerSpec withPolicy(TestVch& t, std::vector<std::string> argv, const std::string& name, RestartPolicy p) {
  auto s = t.spec(std::move(argv), name);
  s.restart = std::move(p);
  auto made = t.run(t.pl->create(s));
  EXPECT_TRUE(made) << made.error().message();
  return *made;
}

// on-failure:2 restarts a failing container twice (after docker's growing back-off), then stops;
// a zero exit or "no" never restarts; every restart is counted and survives an endpoint restart.
TEST(RestartPolicy, OnFailureRestartsUpToItsLimit) {
  TestVch t;
  auto failing = withPolicy(t, {"exit", "3"}, "failing", {"on-failure", 2});
  auto fine = withPolicy(t, {"exit", "0"}, "fine", {"on-failure", 0});
  auto plain = t.created({"exit", "3"}, "plain");
  for (const auto& id : {failing.id, fine.id, plain.id}) ASSERT_TRUE(t.run(t.pl->start(id)));
  t.pump(2000ms);  // 100 ms, then 200 ms of back-off, and the runs
  auto st = t.pl->find("failing")->status;
  EXPECT_EQ(st.state, RunState::kExited);
  EXPECT_FALSE(st.restarting);
  EXPECT_EQ(st.restartCount, 2);
  EXPECT_EQ(st.exitCode, 3);
  EXPECT_EQ(t.pl->find("fine")->status.restartCount, 0);
  EXPECT_EQ(t.pl->find("plain")->status.restartCount, 0);
  EXPECT_EQ(countCalls(t, "instantClone " + t.vm(failing.id)) + countCalls(t, "powerOn " + t.vm(failing.id)), 3u);
  t.restartPortLayer();
  EXPECT_EQ(t.pl->find("failing")->status.restartCount, 2);  // in the VM's metadata
  ASSERT_TRUE(t.run(t.pl->start(failing.id)));  // by hand: counted anew
  t.pump(2000ms);
  EXPECT_EQ(t.pl->find("failing")->status.restartCount, 2);
}

// always: a container that ends is started again; docker stop is by hand and ends that, until
// the next start by hand; an endpoint that was down when it ended restarts it when it is back.
TEST(RestartPolicy, AlwaysRestartsUntilStoppedByHandAndAcrossEndpointRestarts) {
  TestVch t;
  auto c = withPolicy(t, {"sleep"}, "svc", {"always", 0});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  t.hv.crash(t.vm(c.id));  // the process (here: its VM) died
  t.pump(1000ms);
  auto st = t.pl->find("svc")->status;
  EXPECT_EQ(st.state, RunState::kRunning);
  EXPECT_EQ(st.restartCount, 1);
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 1)));
  t.pump(1000ms);
  EXPECT_EQ(t.pl->find("svc")->status.state, RunState::kExited);  // stopped by hand: stays so
  t.restartPortLayer();
  t.pump(500ms);
  EXPECT_EQ(t.pl->find("svc")->status.state, RunState::kExited);  // also after an endpoint restart
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  EXPECT_EQ(t.pl->find("svc")->status.restartCount, 0);
  t.hv.crash(t.vm(c.id));  // unseen: the endpoint goes away before its event is handled
  t.restartPortLayer();
  t.pump(1000ms);
  EXPECT_EQ(t.pl->find("svc")->status.state, RunState::kRunning);
  EXPECT_EQ(t.pl->find("svc")->status.restartCount, 1);
  ASSERT_TRUE(t.run(t.pl->setRestartPolicy(c.id, {"no", 0})));  // docker update --restart no
  t.hv.crash(t.vm(c.id));
  t.pump(1000ms);
  EXPECT_EQ(t.pl->find("svc")->status.state, RunState::kExited);
}

TEST(PortLayer, StatsComeFromTheHypervisorForRunningContainers) {
  TestVch t;
  auto c = t.created({"sleep"});
  EXPECT_FALSE(t.run(t.pl->stats(c.id)));
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  auto s = t.run(t.pl->stats(c.id));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->memoryLimitBytes, c.memoryMiB << 20);
}


// Pumps the io_context until `done` holds (at most `limit`).
template <class F>
bool pumpUntil(TestVch& t, F done, std::chrono::milliseconds limit = 5000ms) {
  for (auto waited = 0ms; waited < limit; waited += 20ms) {
    if (done()) return true;
    t.pump(20ms);
  }
  return done();
}

std::string healthOf(TestVch& t, const std::string& id) {
  auto h = t.pl->find(id)->status.health;
  return h ? h->status : "none";
}

TEST(PortLayer, HealthProbesRunThroughExecAndDecideTheStatus) {
  TestVch t;
  auto good = t.spec({"sleep"}, "good");
  good.health = {{"CMD", "echo", "fine"}, 50'000'000, 1'000'000'000, 0, 0, 2};
  auto bad = t.spec({"sleep"}, "bad");
  bad.health = {{"CMD", "exit", "3"}, 50'000'000, 1'000'000'000, 0, 0, 2};
  auto slow = t.spec({"sleep"}, "slow");
  slow.health = {{"CMD", "sleep"}, 50'000'000, 100'000'000, 0, 0, 1};
  auto none = t.spec({"sleep"}, "none");
  for (auto* s : {&good, &bad, &slow, &none}) {
    ASSERT_TRUE(t.run(t.pl->create(*s)));
    ASSERT_TRUE(t.run(t.pl->start(s->id)));
  }
  EXPECT_EQ(healthOf(t, "none"), "none");
  ASSERT_TRUE(pumpUntil(t, [&] { return healthOf(t, "good") == "healthy"; })) << healthOf(t, "good");
  ASSERT_TRUE(pumpUntil(t, [&] { return healthOf(t, "bad") == "unhealthy"; })) << healthOf(t, "bad");
  ASSERT_TRUE(pumpUntil(t, [&] { return healthOf(t, "slow") == "unhealthy"; })) << healthOf(t, "slow");
  auto g = *t.pl->find("good")->status.health;
  EXPECT_EQ(g.log.back().output, "fine\n");
  EXPECT_EQ(g.log.back().exitCode, 0);
  auto b = *t.pl->find("bad")->status.health;
  EXPECT_GE(b.failingStreak, 2);
  EXPECT_EQ(b.log.back().exitCode, 3);
  auto sl = *t.pl->find("slow")->status.health;
  EXPECT_EQ(sl.log.back().exitCode, -1);
  EXPECT_EQ(sl.log.back().output, "Health check exceeded timeout (100ms)");
  auto actions = eventActions(t.pl->events());
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "health_status: healthy"), 1);  // on a change only
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "health_status: unhealthy"), 2);
  EXPECT_EQ(t.pl->find("good")->status.state, RunState::kRunning);  // probes end, main goes on
  ASSERT_TRUE(t.run(t.pl->stop(good.id, 1)));
  EXPECT_EQ(healthOf(t, "good"), "unhealthy");  // docker's: a stopped container's check reads unhealthy
  ASSERT_TRUE(t.run(t.pl->start(good.id)));
  EXPECT_EQ(healthOf(t, "good"), "starting");  // each start begins again
  ASSERT_TRUE(pumpUntil(t, [&] { return healthOf(t, "good") == "healthy"; }));
}

TEST(PortLayer, PauseStopsTheVmAndRefusesWhatAPausedContainerCannotDo) {
  TestVch t;
  auto c = t.created({"sleep"}, "p");
  auto notRunning = t.run(t.pl->pause(c.id));
  ASSERT_FALSE(notRunning);
  EXPECT_EQ(notRunning.error().message(), "Container " + c.id + " is not running");
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  auto notPaused = t.run(t.pl->unpause(c.id));
  ASSERT_FALSE(notPaused);
  EXPECT_EQ(notPaused.error().message(), "Container " + c.id + " is not paused");
  ASSERT_TRUE(t.run(t.pl->pause(c.id)));
  EXPECT_EQ(*t.hv.powerState(t.vm(c.id)), hv::PowerState::kPaused);
  auto st = t.pl->find("p")->status;
  EXPECT_TRUE(st.paused);
  EXPECT_EQ(st.state, RunState::kRunning);
  auto again = t.run(t.pl->pause(c.id));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), "Container " + c.id + " is already paused");
  vsock::SessionSpec e;
  e.id = "e1";
  e.argv = {"echo", "x"};
  auto exec = t.run(t.pl->exec(c.id, e));
  ASSERT_FALSE(exec);
  EXPECT_EQ(exec.error().message(), "Container " + c.id + " is paused, unpause the container before exec");
  auto attach = t.run(t.pl->attach(c.id, false, true, true));
  ASSERT_FALSE(attach);
  EXPECT_EQ(attach.error().message(), "You cannot attach to a paused container, unpause it first");
  ASSERT_TRUE(t.run(t.pl->unpause(c.id)));
  EXPECT_EQ(*t.hv.powerState(t.vm(c.id)), hv::PowerState::kRunning);
  EXPECT_FALSE(t.pl->find("p")->status.paused);
  ASSERT_TRUE(t.run(t.pl->exec(c.id, e)));
  ASSERT_TRUE(t.run(t.pl->pause(c.id)));
  ASSERT_TRUE(t.run(t.pl->kill(c.id, SIGKILL)));  // a paused container is killed as docker kills it
  ASSERT_TRUE(t.run(t.pl->wait(c.id, WaitCondition::kNotRunning)));
  EXPECT_EQ(t.pl->find("p")->status.exitCode, 137);
  auto actions = eventActions(t.pl->events());
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "pause"), 2);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "unpause"), 1);
}

// A full datastore: QEMU pauses a VM whose write fails; the container shows as paused with the
// reason and resumes by itself once there is room. Nothing new is created or started meanwhile.
TEST(PortLayer, AFullDatastorePausesTheWriterSaysWhyAndResumesItWhenThereIsRoom) {
  TestVch t;
  auto c = t.created({"sleep"}, "writer");
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  t.datastoreFree = 10u << 20;
  t.hv.ioErrorPause(t.vm(c.id));
  ASSERT_TRUE(pumpUntil(t, [&] { return t.pl->find("writer")->status.paused; }));
  auto st = t.pl->find("writer")->status;
  EXPECT_EQ(st.state, RunState::kRunning);
  EXPECT_NE(st.error.find("no space left on device"), std::string::npos) << st.error;
  auto full = t.run(t.pl->create(t.spec({"true"}, "late")));
  ASSERT_FALSE(full);
  EXPECT_NE(full.error().message().find("no space left on device: the VCH's datastore "), std::string::npos) << full.error().message();
  EXPECT_NE(full.error().message().find(" has 10 MiB free, containers need 64 MiB"), std::string::npos) << full.error().message();
  t.pump(100ms);  // still full: it stays paused
  EXPECT_EQ(*t.hv.powerState(t.vm(c.id)), hv::PowerState::kPaused);
  t.datastoreFree = 1u << 30;
  ASSERT_TRUE(pumpUntil(t, [&] { return !t.pl->find("writer")->status.paused; }));
  EXPECT_EQ(*t.hv.powerState(t.vm(c.id)), hv::PowerState::kRunning);
  EXPECT_EQ(t.pl->find("writer")->status.error, "");
  auto actions = eventActions(t.pl->events());
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "pause"), 1);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "unpause"), 1);
  ASSERT_TRUE(t.run(t.pl->create(t.spec({"true"}, "late"))));
}

// An endpoint that starts while a VM is paused for a full datastore sees why, and resumes it.
TEST(PortLayer, ARestartedEndpointResumesAVmPausedForAFullDatastore) {
  TestVch t;
  auto c = t.created({"sleep"}, "writer");
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  t.datastoreFree = 0;
  t.hv.ioErrorPause(t.vm(c.id));
  t.restartPortLayer();
  auto st = t.pl->find("writer")->status;
  EXPECT_TRUE(st.paused);
  EXPECT_NE(st.error.find("no space left on device"), std::string::npos) << st.error;
  // a docker unpause by hand resumes it too, and it is no longer said to be waiting for space
  ASSERT_TRUE(t.run(t.pl->unpause(c.id)));
  EXPECT_EQ(t.pl->find("writer")->status.error, "");
  EXPECT_EQ(*t.hv.powerState(t.vm(c.id)), hv::PowerState::kRunning);
}

}  // namespace
}  // namespace vic::pl
