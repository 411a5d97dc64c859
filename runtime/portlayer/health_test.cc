// Health-check rules: defaults, probe commands, docker's merge with the image's check, its
// refusals, what a probe's result does to the state, and when the next probe runs.
#include "runtime/portlayer/health.h"

#include <gtest/gtest.h>

namespace vic::pl {
namespace {

constexpr int64_t kS = 1'000'000'000;

HealthProbe probeAt(int64_t startNs, int exitCode, std::string out = "") { return {startNs, startNs + 1, exitCode, std::move(out)}; }

TEST(Health, DefaultsAreDockers) {
  auto t = healthTiming({});
  EXPECT_EQ(t.intervalNs, 30 * kS);
  EXPECT_EQ(t.timeoutNs, 30 * kS);
  EXPECT_EQ(t.startPeriodNs, 0);
  EXPECT_EQ(t.startIntervalNs, 5 * kS);
  EXPECT_EQ(t.retries, 3);
  Healthcheck h{{"CMD", "true"}, 2 * kS, kS, 10 * kS, kS / 2, 5};
  auto u = healthTiming(h);
  EXPECT_EQ(u.intervalNs, 2 * kS);
  EXPECT_EQ(u.retries, 5);
  // what a hostile client may send: timers stay finite, nothing probes in a loop
  Healthcheck huge{{"CMD", "true"}, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT32_MAX};
  auto capped = healthTiming(huge);
  for (int64_t v : {capped.intervalNs, capped.timeoutNs, capped.startPeriodNs, capped.startIntervalNs}) {
    EXPECT_GT(v, 0);
    EXPECT_LE(v, 366LL * 24 * 3600 * kS);
  }
  EXPECT_GE(nextProbeDelayNs(Health{}, capped, 0, INT64_MAX / 2), 30 * kS);
}

TEST(Health, ProbeCommands) {
  EXPECT_EQ(probeArgv({{"CMD", "wget", "-q", "x"}}), (std::vector<std::string>{"wget", "-q", "x"}));
  EXPECT_EQ(probeArgv({{"CMD-SHELL", "exit 1"}}), (std::vector<std::string>{"/bin/sh", "-c", "exit 1"}));
  EXPECT_TRUE(probeArgv({{"NONE"}}).empty());
  EXPECT_TRUE(probeArgv({}).empty());
  EXPECT_TRUE(probeArgv({{"CMD"}}).empty());
  EXPECT_TRUE(probeArgv({{"CMD-SHELL", "a", "b"}}).empty());
  EXPECT_TRUE(probeArgv({{"SHELL", "x"}}).empty());
}

TEST(Health, TheContainersCheckOverTheImagesFieldByField) {
  Healthcheck image{{"CMD", "true"}, 10 * kS, 3 * kS, 0, 0, 2};
  Healthcheck mine{{}, 5 * kS, 0, 0, 0, 0};
  auto m = mergeHealthcheck(mine, image);
  EXPECT_EQ(m.test, image.test);
  EXPECT_EQ(m.intervalNs, 5 * kS);
  EXPECT_EQ(m.timeoutNs, 3 * kS);
  EXPECT_EQ(m.retries, 2);
  auto off = mergeHealthcheck({{"NONE"}}, image);  // --no-healthcheck
  EXPECT_TRUE(probeArgv(off).empty());
}

TEST(Health, DockersRefusals) {
  EXPECT_EQ(healthcheckError({{"CMD", "x"}, 1000}), "Interval in Healthcheck cannot be less than 1ms");
  EXPECT_EQ(healthcheckError({{"CMD", "x"}, 0, 5}), "Timeout in Healthcheck cannot be less than 1ms");
  EXPECT_EQ(healthcheckError({{"CMD", "x"}, 0, 0, 0, 0, -1}), "Retries in Healthcheck cannot be negative");
  EXPECT_EQ(healthcheckError({{"CMD", "x"}, 0, 0, 7}), "StartPeriod in Healthcheck cannot be less than 1ms");
  EXPECT_EQ(healthcheckError({{"CMD", "x"}, 0, 0, 0, 9}), "StartInterval in Healthcheck cannot be less than 1ms");
  EXPECT_NE(healthcheckError({{"SHELL", "x"}}), "");
  EXPECT_NE(healthcheckError({{"CMD"}}), "");
  EXPECT_EQ(healthcheckError({{"NONE"}}), "");
  EXPECT_EQ(healthcheckError({{"CMD-SHELL", "true"}, kS, kS, kS, kS, 1}), "");
}

TEST(Health, FailuresCountToRetriesAndOneSuccessHeals) {
  auto t = healthTiming({{"CMD", "x"}});
  Health h;
  h = applyProbe(h, probeAt(10 * kS, 1), t, 0);
  h = applyProbe(h, probeAt(20 * kS, 1), t, 0);
  EXPECT_EQ(h.status, "starting");
  EXPECT_EQ(h.failingStreak, 2);
  h = applyProbe(h, probeAt(30 * kS, 2), t, 0);
  EXPECT_EQ(h.status, "unhealthy");
  EXPECT_EQ(h.failingStreak, 3);
  h = applyProbe(h, probeAt(40 * kS, 0), t, 0);
  EXPECT_EQ(h.status, "healthy");
  EXPECT_EQ(h.failingStreak, 0);
  EXPECT_EQ(h.log.size(), 4u);
}

TEST(Health, FailuresInTheStartPeriodDoNotCount) {
  auto t = healthTiming({{"CMD", "x"}, 0, 0, 60 * kS, 0, 1});
  Health h;
  h = applyProbe(h, probeAt(100 * kS + 5 * kS, 1), t, 100 * kS);
  EXPECT_EQ(h.status, "starting");
  EXPECT_EQ(h.failingStreak, 0);
  EXPECT_EQ(h.log.size(), 1u);  // still logged
  h = applyProbe(h, probeAt(100 * kS + 61 * kS, 1), t, 100 * kS);  // past it: counts
  EXPECT_EQ(h.status, "unhealthy");
  Health healthy;
  healthy = applyProbe(healthy, probeAt(101 * kS, 0), t, 100 * kS);
  healthy = applyProbe(healthy, probeAt(102 * kS, 1), t, 100 * kS);  // no longer starting: counts at once
  EXPECT_EQ(healthy.status, "unhealthy");
}

TEST(Health, KeepsTheLastFiveProbesAndFourKiBOfOutput) {
  auto t = healthTiming({{"CMD", "x"}});
  Health h;
  for (int i = 0; i < 8; ++i) h = applyProbe(h, probeAt(i * kS, 0, std::to_string(i)), t, 0);
  ASSERT_EQ(h.log.size(), 5u);
  EXPECT_EQ(h.log.front().output, "3");
  EXPECT_EQ(h.log.back().output, "7");
  h = applyProbe(h, probeAt(9 * kS, 0, std::string(10000, 'x')), t, 0);
  EXPECT_EQ(h.log.back().output.size(), kHealthOutputMax);
}

TEST(Health, StartIntervalOnlyWhileStartingInTheStartPeriod) {
  auto t = healthTiming({{"CMD", "x"}, 30 * kS, 0, 20 * kS, 2 * kS, 0});
  Health h;
  EXPECT_EQ(nextProbeDelayNs(h, t, 0, 5 * kS), 2 * kS);
  EXPECT_EQ(nextProbeDelayNs(h, t, 0, 25 * kS), 30 * kS);
  h.status = "healthy";
  EXPECT_EQ(nextProbeDelayNs(h, t, 0, 5 * kS), 30 * kS);
  auto noPeriod = healthTiming({{"CMD", "x"}});
  EXPECT_EQ(nextProbeDelayNs(Health{}, noPeriod, 0, 0), 30 * kS);
}

TEST(Health, GoDurations) {
  EXPECT_EQ(goDuration(30 * kS), "30s");
  EXPECT_EQ(goDuration(90 * kS), "1m30s");
  EXPECT_EQ(goDuration(60 * kS), "1m0s");
  EXPECT_EQ(goDuration(kS / 2), "500ms");
  EXPECT_EQ(goDuration(1500 * 1'000'000), "1.5s");
  EXPECT_EQ(goDuration(3600 * kS + 1), "1h0m0.000000001s");
  EXPECT_EQ(goDuration(0), "0s");
}

}  // namespace
}  // namespace vic::pl
