// The port layer over a FakeHypervisor whose VMs boot a fake tether: execution, interaction,
// networking and recovery without libvirt or QEMU. Every test also proves that no hypervisor
// call runs on the I/O thread (the fake aborts when one does).
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
#include "runtime/portlayer/output_log.h"
#include "runtime/portlayer/test_vch.h"

namespace vic::pl {
namespace {

using namespace std::chrono_literals;

bool called(const TestVch& t, const std::string& call) {
  auto calls = t.hv.calls();
  return std::find(calls.begin(), calls.end(), call) != calls.end();
}

std::vector<std::string> eventActions(EventBus& bus) {
  std::vector<std::string> out;
  for (const auto& e : bus.since(0)) out.push_back(e.action);
  return out;
}

TEST(PortLayer, RunsAContainerToItsExitAndKeepsTheOutputAndExitCode) {
  TestVch t;
  auto c = t.created({"echo", "hello", "vm"}, "greeter");
  EXPECT_TRUE(called(t, "defineVm " + t.vm(c.id)));
  EXPECT_EQ(t.pl->find("greeter")->status.state, RunState::kCreated);
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  auto st = t.run(t.pl->wait(c.id, WaitCondition::kNotRunning));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, RunState::kExited);
  EXPECT_EQ(st->exitCode, 0);
  EXPECT_GT(st->finishedNs, 0);
  uint64_t next = 0;
  auto records = readLogRecords(t.pl->logFile(c.id), 0, &next);
  std::string out;
  for (const auto& r : records) {
    if (r.kind == vsock::LogKind::kStdout) out += r.data;
  }
  EXPECT_EQ(out, "hello vm\n");
  auto actions = eventActions(t.pl->events());
  EXPECT_EQ(actions, (std::vector<std::string>{"create", "start", "die"}));
}

size_t countCalls(TestVch& t, const std::string& prefix) {
  size_t n = 0;
  for (const auto& c : t.hv.calls()) n += c.rfind(prefix, 0) == 0;
  return n;
}

std::string stdoutOf(TestVch& t, const std::string& id) {
  uint64_t next = 0;
  std::string out;
  for (const auto& r : readLogRecords(t.pl->logFile(id), 0, &next)) {
    if (r.kind == vsock::LogKind::kStdout) out += r.data;
  }
  return out;
}

TEST(InstantClone, ContainersForkFromOneTemplateAndEachLearnsWhoItIs) {
  TestVch t;
  auto a = t.created({"echo", "from", "a"}, "a");
  auto b = t.created({"echo", "from", "b"}, "b");
  ASSERT_TRUE(t.run(t.pl->start(a.id)));
  ASSERT_TRUE(t.run(t.pl->start(b.id)));
  ASSERT_TRUE(t.run(t.pl->wait(a.id, WaitCondition::kNotRunning)));
  ASSERT_TRUE(t.run(t.pl->wait(b.id, WaitCondition::kNotRunning)));
  EXPECT_EQ(stdoutOf(t, a.id), "from a\n");
  EXPECT_EQ(stdoutOf(t, b.id), "from b\n");
  EXPECT_EQ(countCalls(t, "freezeTemplate t-template-"), 1u);  // one template, made once
  EXPECT_TRUE(called(t, "instantClone " + t.vm(a.id)));
  EXPECT_TRUE(called(t, "instantClone " + t.vm(b.id)));
  EXPECT_FALSE(called(t, "powerOn " + t.vm(a.id)));
  auto who = t.identities();
  ASSERT_EQ(who.size(), 2u);
  EXPECT_EQ(who[0].config.id, a.id);
  EXPECT_EQ(who[1].config.id, b.id);
  EXPECT_EQ(who[0].config.main.argv, (std::vector<std::string>{"echo", "from", "a"}));
  EXPECT_NE(who[0].seed, who[1].seed);  // two clones never share RNG state
  EXPECT_EQ(who[0].seed.size(), 128u);
  EXPECT_LT(std::abs(who[1].clockNs - nowNs()), int64_t{10} * 1000 * 1000 * 1000);
  EXPECT_EQ(t.pl->list().size(), 2u);  // the template is no container
}

TEST(InstantClone, OffMeansEveryStartBoots) {
  TestVch t(false);
  auto c = t.created({"echo", "cold"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  ASSERT_TRUE(t.run(t.pl->wait(c.id, WaitCondition::kNotRunning)));
  EXPECT_EQ(stdoutOf(t, c.id), "cold\n");
  EXPECT_TRUE(called(t, "powerOn " + t.vm(c.id)));
  EXPECT_EQ(countCalls(t, "instantClone"), 0u);
  EXPECT_EQ(countCalls(t, "defineVm t-template-"), 0u);
  EXPECT_TRUE(t.identities().empty());
}

TEST(InstantClone, ADamagedTemplateMeansOneColdBootThenItIsMadeAgain) {
  TestVch t;
  auto a = t.created({"echo", "a"});
  ASSERT_TRUE(t.run(t.pl->start(a.id)));
  ASSERT_TRUE(t.run(t.pl->wait(a.id, WaitCondition::kNotRunning)));
  for (const auto& e : std::filesystem::directory_iterator(t.ds->root() + "/templates")) {
    std::ofstream(e.path() / "state", std::ios::trunc) << "garbage";
  }
  auto b = t.created({"echo", "b"});
  ASSERT_TRUE(t.run(t.pl->start(b.id)));
  ASSERT_TRUE(t.run(t.pl->wait(b.id, WaitCondition::kNotRunning)));
  EXPECT_EQ(stdoutOf(t, b.id), "b\n");  // the right guest, cold-booted
  EXPECT_TRUE(called(t, "powerOn " + t.vm(b.id)));
  auto c = t.created({"echo", "c"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  ASSERT_TRUE(t.run(t.pl->wait(c.id, WaitCondition::kNotRunning)));
  EXPECT_EQ(stdoutOf(t, c.id), "c\n");
  EXPECT_EQ(countCalls(t, "freezeTemplate t-template-"), 2u);
  EXPECT_TRUE(called(t, "instantClone " + t.vm(c.id)));
  EXPECT_FALSE(called(t, "powerOn " + t.vm(c.id)));
}

TEST(InstantClone, ATemplateOfAnotherBootstrapImageIsNeverUsed) {
  TestVch t;
  auto a = t.created({"echo", "a"});
  ASSERT_TRUE(t.run(t.pl->start(a.id)));
  ASSERT_TRUE(t.run(t.pl->wait(a.id, WaitCondition::kNotRunning)));
  std::ofstream(t.dir.str() + "/bootstrap.img", std::ios::trunc) << "bootstrap, upgraded";
  t.restartPortLayer();
  auto b = t.created({"echo", "b"});
  ASSERT_TRUE(t.run(t.pl->start(b.id)));
  ASSERT_TRUE(t.run(t.pl->wait(b.id, WaitCondition::kNotRunning)));
  EXPECT_EQ(countCalls(t, "freezeTemplate t-template-"), 2u);
  std::set<std::string> templates;
  for (const auto& c : t.hv.calls()) {
    if (c.rfind("freezeTemplate ", 0) == 0) templates.insert(c);
  }
  EXPECT_EQ(templates.size(), 2u);  // a new key, not the old template
  EXPECT_TRUE(called(t, "instantClone " + t.vm(b.id)));
}

TEST(InstantClone, AnotherShapeBootsColdOnceWhileItsTemplateIsMade) {
  TestVch t;
  auto s = t.spec({"echo", "big"}, "big");
  s.memoryMiB = 1024;
  auto c = t.run(t.pl->create(s));
  ASSERT_TRUE(c);
  ASSERT_TRUE(t.run(t.pl->start(c->id)));
  ASSERT_TRUE(t.run(t.pl->wait(c->id, WaitCondition::kNotRunning)));
  EXPECT_TRUE(called(t, "powerOn " + t.vm(c->id)));
  t.pump(500ms);  // the 1024 MiB template is made in the background
  EXPECT_EQ(countCalls(t, "freezeTemplate t-template-"), 2u) << ::testing::PrintToString(t.hv.calls());
  ASSERT_TRUE(t.run(t.pl->start(c->id)));
  ASSERT_TRUE(t.run(t.pl->wait(c->id, WaitCondition::kNotRunning)));
  EXPECT_TRUE(called(t, "instantClone " + t.vm(c->id)));
}

// --log-opt max-size=100k max-file=2: the port layer trims the log it never writes (the guest
// does), keeping the newest output and the exit record; without limits every byte stays.
TEST(PortLayer, TrimsTheLogOfAContainerWithLogLimitsOnly) {
  TestVch t;
  auto limited = t.spec({"yes", "1000000"}, "limited");
  limited.logLimits = {100000, 2};
  auto a = t.run(t.pl->create(limited));
  ASSERT_TRUE(a);
  auto b = t.created({"yes", "1000000"}, "unlimited");
  for (const auto& id : {a->id, b.id}) {
    ASSERT_TRUE(t.run(t.pl->start(id)));
    ASSERT_TRUE(t.run(t.pl->wait(id, WaitCondition::kNotRunning)));
  }
  t.pump(1500ms);  // the trimmer's tick after the exit
  EXPECT_EQ(stdoutOf(t, b.id).size(), 1000000u);
  std::string kept = stdoutOf(t, a->id);
  EXPECT_GT(kept.size(), 50000u);
  EXPECT_LE(kept.size(), 200000u);  // max-size * max-file at most (a trim keeps max-size * (max-file - 1))
  EXPECT_EQ(kept.substr(kept.size() - 2), "y\n");
  auto st = t.pl->find("limited");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status.state, RunState::kExited);
  EXPECT_EQ(st->status.exitCode, 0);
  OutputLogCache fresh;  // read anew, as after an endpoint restart
  ASSERT_TRUE(fresh.lastExit(t.pl->logFile(a->id)));
}

TEST(PortLayer, ReportsTheMainProcessExitCode) {
  TestVch t;
  auto c = t.created({"exit", "3"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  auto st = t.run(t.pl->wait(c.id, WaitCondition::kNotRunning));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->exitCode, 3);
}

TEST(PortLayer, AProcessThatCannotStartFailsTheStartWithDockersWords) {
  TestVch t;
  auto c = t.created({"no-such-binary"});
  auto st = t.run(t.pl->start(c.id));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("failed to create task for container"), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find("executable file not found"), std::string::npos);
}

TEST(PortLayer, StopSignalsThenTheContainerExits) {
  TestVch t;
  auto c = t.created({"sleep"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  EXPECT_EQ(t.pl->find(c.id)->status.state, RunState::kRunning);
  auto again = t.run(t.pl->start(c.id));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Errc::kNotModified);
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 5)));
  auto st = t.pl->find(c.id)->status;
  EXPECT_EQ(st.state, RunState::kExited);
  EXPECT_EQ(st.exitCode, 128 + SIGTERM);
  auto stopped = t.run(t.pl->stop(c.id, 5));
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code(), Errc::kNotModified);
}

TEST(PortLayer, KillOfAStoppedContainerIsDockersConflict) {
  TestVch t;
  auto c = t.created({"sleep"});
  auto st = t.run(t.pl->kill(c.id, SIGKILL));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "Container " + c.id + " is not running");
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  ASSERT_TRUE(t.run(t.pl->kill(c.id, SIGKILL)));
  auto exited = t.run(t.pl->wait(c.id, WaitCondition::kNotRunning));
  ASSERT_TRUE(exited);
  EXPECT_EQ(exited->exitCode, 128 + SIGKILL);
}

TEST(PortLayer, AVmThatDiesWithoutAnExitRecordIsKilled137) {
  TestVch t;
  auto c = t.created({"sleep"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  t.hv.crash(t.vm(c.id));
  auto st = t.run(t.pl->wait(c.id, WaitCondition::kNotRunning));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, RunState::kExited);
  EXPECT_EQ(st->exitCode, 137);
}

TEST(PortLayer, NamesAreUniqueWithDockersConflictMessage) {
  TestVch t;
  auto a = t.created({"sleep"}, "web");
  auto b = t.run(t.pl->create(t.spec({"sleep"}, "web")));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), Errc::kConflict);
  EXPECT_NE(b.error().message().find("The container name \"/web\" is already in use by container \"" + a.id + "\""),
            std::string::npos);
  auto unnamed = t.created({"sleep"});
  EXPECT_FALSE(unnamed.name.empty());
  ASSERT_TRUE(t.run(t.pl->rename(unnamed.id, "db")));
  EXPECT_EQ(t.pl->find("db")->spec.id, unnamed.id);
  auto clash = t.run(t.pl->rename(unnamed.id, "web"));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code(), Errc::kConflict);
}

TEST(PortLayer, FindsByNameIdAndUniquePrefix) {
  TestVch t;
  auto c = t.created({"sleep"}, "finder");
  EXPECT_EQ(t.pl->find("/finder")->spec.id, c.id);
  EXPECT_EQ(t.pl->find(c.id.substr(0, 5))->spec.id, c.id);
  auto none = t.pl->find("nothing-here");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "No such container: nothing-here");
}

TEST(PortLayer, RemoveRefusesARunningContainerUnlessForced) {
  TestVch t;
  auto c = t.created({"sleep"}, "busy");
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  auto st = t.run(t.pl->remove(c.id, false));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "cannot remove container \"/busy\": container is running: stop the container before removing or force remove");
  ASSERT_TRUE(t.run(t.pl->remove(c.id, true)));
  EXPECT_FALSE(t.pl->find(c.id));
  EXPECT_FALSE(t.hv.spec(t.vm(c.id)));
  EXPECT_FALSE(std::filesystem::exists(t.ds->root() + "/containers/" + c.id));
}

TEST(PortLayer, ALateOrRepeatedStopEventDoesNotStopARestartedContainer) {
  TestVch t;
  auto c = t.created({"sleep"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 5)));
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  size_t dies = 0;
  for (const auto& e : t.pl->events().since(0)) dies += e.action == "die";
  t.hv.sendEvent({t.vm(c.id), hv::VmEventKind::kStopped, "shutdown"});  // the first stop, again
  t.pump(600ms);
  EXPECT_EQ(t.pl->find(c.id)->status.state, RunState::kRunning);
  size_t diesAfter = 0;
  for (const auto& e : t.pl->events().since(0)) diesAfter += e.action == "die";
  EXPECT_EQ(diesAfter, dies);
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 5)));  // the tether connection survived the stale event
  EXPECT_EQ(t.pl->find(c.id)->status.exitCode, 128 + SIGTERM);
  t.hv.sendEvent({t.vm(c.id), hv::VmEventKind::kStopped, "shutdown"});  // a repeat of this stop
  t.pump(600ms);
  size_t diesEnd = 0;
  for (const auto& e : t.pl->events().since(0)) diesEnd += e.action == "die";
  EXPECT_EQ(diesEnd, diesAfter + 1);
}

// Seen in e2e.networking: `docker restart` killed the VM, and libvirt's stop event for it came
// while the next power-on was still under way; the container was then reported not running.
TEST(PortLayer, AStopEventDuringAPowerOnIsAboutTheEarlierBoot) {
  TestVch t;
  auto c = t.created({"sleep"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 5)));
  t.hv.duringNext("powerOn", [&] {
    t.hv.sendEvent({t.vm(c.id), hv::VmEventKind::kStopped, "destroyed"});
    std::this_thread::sleep_for(200ms);  // the port layer sees the event before the VM runs
  });
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  t.pump(600ms);
  EXPECT_EQ(t.pl->find(c.id)->status.state, RunState::kRunning);
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 5)));  // and its own stop is still seen
  EXPECT_EQ(t.pl->find(c.id)->status.state, RunState::kExited);
}

TEST(PortLayer, AutoRemoveTakesTheContainerAwayWhenItExits) {
  TestVch t;
  auto s = t.spec({"echo", "bye"});
  s.autoRemove = true;
  auto c = t.run(t.pl->create(s));
  ASSERT_TRUE(c);
  ASSERT_TRUE(t.run(t.pl->start(c->id)));
  auto st = t.run(t.pl->wait(c->id, WaitCondition::kRemoved));
  ASSERT_TRUE(st);
  EXPECT_FALSE(t.pl->find(c->id));
  auto actions = eventActions(t.pl->events());
  EXPECT_EQ(actions.back(), "destroy");
}

// libvirt ends a VM a few hundred ms after its guest powered off (kShutDown, then kStopped):
// the container has exited at kShutDown, and a start waits for the VM's end.
TEST(PortLayer, AContainerHasExitedWhenItsGuestPowersOffAndStartsAgainOnceItsVmEnded) {
  TestVch t;
  t.hv.holdShutdowns(true);
  auto c = t.created({"exit", "3"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  auto st = t.run(t.pl->wait(c.id, WaitCondition::kNotRunning));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->exitCode, 3);
  EXPECT_EQ(t.hv.powerState(t.vm(c.id)).valueOr(hv::PowerState::kOff), hv::PowerState::kShuttingDown);
  std::atomic<bool> finished{false};
  std::thread ender([&] {
    std::this_thread::sleep_for(300ms);
    finished = true;
    t.hv.finishShutdowns();
  });
  auto again = t.run(t.pl->start(c.id));  // the fake refuses to power on a VM that is not off
  ender.join();
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE(finished);
  EXPECT_TRUE(t.run(t.pl->wait(c.id, WaitCondition::kNotRunning)));
}

asio::awaitable<void> waitInto(PortLayer* pl, std::string id, WaitCondition cond, std::optional<Result<ContainerStatus>>* out) {
  out->emplace(co_await pl->wait(id, cond));
}

TEST(PortLayer, AnAutoRemoveContainerIsGoneWhileItsVmEndsAndTheVmGoesAfter) {
  TestVch t;
  t.hv.holdShutdowns(true);
  auto s = t.spec({"exit", "5"});
  s.autoRemove = true;
  auto c = t.run(t.pl->create(s));
  ASSERT_TRUE(c);
  std::optional<Result<ContainerStatus>> waited;  // as docker run --rm: it waits for the removal first
  asio::co_spawn(t.io(), waitInto(t.pl.get(), c->id, WaitCondition::kRemoved, &waited), asio::detached);
  ASSERT_TRUE(t.run(t.pl->start(c->id)));
  for (int i = 0; i < 100 && !waited; ++i) t.pump(20ms);
  ASSERT_TRUE(waited && *waited);
  EXPECT_EQ((*waited)->exitCode, 5);  // its exit code, though it was gone when the waiter woke
  EXPECT_FALSE(t.pl->find(c->id));
  auto vms = t.hv.listVms();
  ASSERT_TRUE(vms);
  EXPECT_NE(std::find(vms->begin(), vms->end(), t.vm(c->id)), vms->end()) << "removed before its VM ended";
  t.hv.finishShutdowns();
  t.pump(300ms);
  vms = t.hv.listVms();
  EXPECT_EQ(std::find(vms->begin(), vms->end(), t.vm(c->id)), vms->end());
  EXPECT_FALSE(std::filesystem::exists(t.dir.str() + "/ds/containers/" + c->id));
}

TEST(PortLayer, AShutDownEventOfAnotherRunChangesNothing) {
  TestVch t;
  auto c = t.created({"sleep"});
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  auto run = t.hv.runId(t.vm(c.id));
  ASSERT_TRUE(run);
  t.hv.sendEvent({t.vm(c.id), hv::VmEventKind::kShutDown, "", *run - 1});  // late, from the run before
  t.pump(300ms);
  EXPECT_EQ(t.pl->find(c.id)->status.state, RunState::kRunning);
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 5)));
  EXPECT_EQ(t.pl->find(c.id)->status.state, RunState::kExited);
}

TEST(PortLayer, AFailedPowerOnLeavesTheContainerCreatedAndAnAutoRemoveOneGoes) {
  TestVch t(false);  // the cold path: its power-on and define fail
  auto c = t.created({"sleep"});
  t.hv.failNext("powerOn", Error(Errc::kUnavailable, "no memory for the VM"));
  auto st = t.run(t.pl->start(c.id));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("no memory for the VM"), std::string::npos);
  EXPECT_NE(t.pl->find(c.id)->status.state, RunState::kRunning);
  ASSERT_TRUE(t.run(t.pl->start(c.id)));  // nothing was left half-done
  ASSERT_TRUE(t.run(t.pl->stop(c.id, 1)));
}

TEST(PortLayer, AFailedDefineLeavesNothingBehind) {
  TestVch t(false);  // the cold path: its power-on and define fail
  t.hv.failNext("defineVm", Error(Errc::kInternal, "libvirt said no"));
  auto s = t.spec({"sleep"}, "ghost");
  auto c = t.run(t.pl->create(s));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("defining the containerVM: libvirt said no"), std::string::npos);
  EXPECT_FALSE(t.pl->find("ghost"));
  EXPECT_FALSE(std::filesystem::exists(t.ds->root() + "/containers/" + s.id));
  EXPECT_TRUE(t.run(t.pl->create(t.spec({"sleep"}, "ghost"))));  // the name is free again
}

TEST(PortLayer, AttachBeforeStartReadsAllOfTheOutputEvenWhenTheVmStopsAtOnce) {
  TestVch t;
  auto c = t.created({"yes", "300000"});  // more than one window of output, then main exits
  std::string got;
  bool read = false;
  auto attachAndRead = [&]() -> asio::awaitable<void> {
    auto s = co_await t.pl->attach(c.id, false, true, true);
    if (!s) throw std::runtime_error(s.error().message());
    std::array<uint8_t, 4096> buf{};
    while (true) {
      auto n = co_await s->conn->read(s->channels.stdoutCh, buf);
      if (!n || *n == 0) break;
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    read = true;
  };
  asio::co_spawn(t.io(), attachAndRead(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  for (int i = 0; i < 500 && !read; ++i) t.pump(10ms);
  EXPECT_TRUE(read);
  EXPECT_EQ(got.size(), 300000u);
}

// A client that attaches and never reads holds nothing up: the exit is seen, and what was sent
// to it stays readable, to its end.
TEST(PortLayer, ASilentAttachedClientDoesNotHoldUpTheExit) {
  TestVch t;
  auto c = t.created({"echo", "hi"});
  std::optional<SessionStreams> streams;
  auto attachOnly = [](PortLayer* pl, std::string id, std::optional<SessionStreams>* out) -> asio::awaitable<void> {
    auto s = co_await pl->attach(id, false, true, true);
    if (s) out->emplace(*s);
  };
  asio::co_spawn(t.io(), attachOnly(t.pl.get(), c.id, &streams), asio::detached);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  auto st = t.run(t.pl->wait(c.id, WaitCondition::kNotRunning));
  ASSERT_TRUE(st);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  ASSERT_TRUE(streams);
  auto readAll = [](vsock::TetherConnection::Ptr conn, vsock::ChannelId ch) -> asio::awaitable<std::string> {
    std::string got;
    std::array<uint8_t, 64> buf{};
    while (true) {
      auto n = co_await conn->read(ch, buf);
      if (!n || *n == 0) break;
      got.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    co_return got;
  };
  EXPECT_EQ(t.run(readAll(streams->conn, streams->channels.stdoutCh)), "hi\n");
}

TEST(PortLayer, ExecRunsASessionBesideMain) {
  TestVch t;
  auto c = t.created({"sleep"});
  vsock::SessionSpec e1;
  e1.id = "e1";
  e1.argv = {"echo", "x"};
  auto notRunning = t.run(t.pl->exec(c.id, e1));
  ASSERT_FALSE(notRunning);
  EXPECT_EQ(notRunning.error().message(), "Container " + c.id + " is not running");
  ASSERT_TRUE(t.run(t.pl->start(c.id)));
  vsock::SessionSpec e;
  e.id = "e2";
  e.argv = {"exit", "4"};
  ASSERT_TRUE(t.run(t.pl->exec(c.id, e)));
  auto exit = t.run(t.pl->waitSession(c.id, "e2"));
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exitCode, 4);
  EXPECT_EQ(t.pl->find(c.id)->status.state, RunState::kRunning);  // main goes on
}

TEST(PortLayer, PublishedPortsGetRulesWhileRunningAndLoseThemAfter) {
  TestVch t;
  auto s = t.spec({"sleep"});
  s.ports.push_back({"tcp", 80, "127.0.0.1", 0});  // any free host port
  auto c = t.run(t.pl->create(s));
  ASSERT_TRUE(c);
  ASSERT_TRUE(t.run(t.pl->start(c->id)));
  auto rules = t.firewall.rules();  // applied before start returned
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].binding.containerPort, 80);
  EXPECT_NE(rules[0].binding.hostPort, 0);
  EXPECT_EQ(rules[0].containerIp, c->networks[0].ip);
  EXPECT_EQ(t.pl->publishedPorts(c->id).size(), 1u);
  auto names = t.hv.hostEntries("t-bridge");
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].names[0], c->name);
  ASSERT_TRUE(t.run(t.pl->stop(c->id, 1)));
  t.run(t.pl->syncHost());
  EXPECT_TRUE(t.firewall.rules().empty());
  EXPECT_TRUE(t.hv.hostEntries("t-bridge").empty());
}

TEST(PortLayer, ContainersGetDistinctAddresses) {
  TestVch t;
  auto a = t.created({"sleep"});
  auto b = t.created({"sleep"});
  EXPECT_NE(a.networks[0].ip, b.networks[0].ip);
  EXPECT_NE(a.networks[0].mac, b.networks[0].mac);
}

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

}  // namespace
}  // namespace vic::pl
