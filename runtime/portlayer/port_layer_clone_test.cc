// Instant clone over the FakeHypervisor: templates per shape, clones that learn who they are, and
// the cold boots a damaged, stale or missing template leads to.
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

// docker rm -f while the container's clone is being made (seen in e2e: a restart policy's start
// right after an endpoint restart, removed at once): the removal waits for the power-on, so the
// clone is not torn down under way, no cold boot follows and the template is not dropped.
TEST(InstantClone, ARemovalDuringTheCloneWaitsForItAndLeavesTheTemplateAlone) {
  TestVch t;
  auto c = t.created({"sleep"});
  std::optional<Status> removed;
  auto removal = [&]() -> asio::awaitable<void> { removed = co_await t.pl->remove(c.id, true, false); };
  t.hv.duringNext("instantClone", [&] {
    asio::co_spawn(t.io(), removal, asio::detached);
    std::this_thread::sleep_for(300ms);  // the removal has its chance while the clone is under way
  });
  (void)t.run(t.pl->start(c.id));  // it may fail: the container goes while it starts
  for (int i = 0; i < 100 && !removed; ++i) t.pump(50ms);
  ASSERT_TRUE(removed.has_value());
  EXPECT_TRUE(*removed) << removed->error().message();
  EXPECT_FALSE(t.pl->find(c.id));
  auto calls = t.hv.calls();
  auto at = [&](const std::string& call) { return std::find(calls.begin(), calls.end(), call) - calls.begin(); };
  EXPECT_LT(at("instantClone " + t.vm(c.id)), at("destroy " + t.vm(c.id)));
  EXPECT_FALSE(called(t, "powerOn " + t.vm(c.id)));  // no cold boot of a container that went
  auto next = t.created({"echo", "next"});
  ASSERT_TRUE(t.run(t.pl->start(next.id)));
  EXPECT_TRUE(called(t, "instantClone " + t.vm(next.id)));
  EXPECT_EQ(countCalls(t, "freezeTemplate t-template-"), 1u);  // the template was kept
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
}  // namespace
}  // namespace vic::pl
