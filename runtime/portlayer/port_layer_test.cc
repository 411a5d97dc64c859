// The port layer over a FakeHypervisor whose VMs boot a fake tether: execution, interaction and
// networking without libvirt or QEMU (instant clone and state over time are in their own files).
// Every test also proves that no hypervisor call runs on the I/O thread (the fake aborts when one
// does).
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
  // The container may be gone before the wait begins: then the wait finds no such container.
  auto st = t.run(t.pl->wait(c->id, WaitCondition::kRemoved));
  if (!st) {
    EXPECT_EQ(st.error().code(), Errc::kNotFound) << st.error().message();
  }
  EXPECT_FALSE(t.pl->find(c->id));
  for (int i = 0; i < 100 && eventActions(t.pl->events()).back() != "destroy"; ++i) t.pump(std::chrono::milliseconds(50));
  EXPECT_EQ(eventActions(t.pl->events()).back(), "destroy");
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

}  // namespace
}  // namespace vic::pl
