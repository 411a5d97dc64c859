// Health checks as docker runs them (HEALTHCHECK, --health-*): the rules, as pure functions.
// The port layer runs the probes (port_layer_health.cc) through tether exec on a running
// container and keeps the results in memory; these decide what a probe means and when the next
// one is due.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/portlayer/container.h"

namespace vic::pl {

inline constexpr size_t kHealthLogKeep = 5;         // docker keeps the last five probes
inline constexpr size_t kHealthOutputMax = 4096;    // and the first 4 KiB of each one's output
inline constexpr int64_t kMinHealthDurationNs = 1'000'000;  // docker's minimum: 1 ms

// A health check's timing with docker's defaults filled in (interval 30 s, timeout 30 s,
// start period 0, start interval 5 s, retries 3).
struct HealthTiming {
  int64_t intervalNs, timeoutNs, startPeriodNs, startIntervalNs;
  int retries;
};
HealthTiming healthTiming(const Healthcheck& h);

// What a probe runs: CMD's arguments, or CMD-SHELL's command under /bin/sh -c. Empty when the
// check is off (NONE, nothing, or a form docker would not run).
std::vector<std::string> probeArgv(const Healthcheck& h);

// The container's own check over the image's, field by field, as docker merges them (an unset
// test or a zero duration takes the image's). `image` is the image config's Healthcheck.
Healthcheck mergeHealthcheck(const Healthcheck& container, const Healthcheck& image);
// docker's refusals ("Interval in Healthcheck cannot be less than 1ms", ...); "" when valid.
std::string healthcheckError(const Healthcheck& h);

// A probe's result applied: success makes it healthy; a failure counts towards `retries`
// unless the container is still starting within its start period.
Health applyProbe(Health h, HealthProbe probe, const HealthTiming& t, int64_t startedNs);
// How long after the last probe (or the start) the next one runs.
int64_t nextProbeDelayNs(const Health& h, const HealthTiming& t, int64_t startedNs, int64_t nowNs);

// Go's time.Duration.String() for the timeout message: "30s", "1m30s", "500ms", "1.5s".
std::string goDuration(int64_t ns);

}  // namespace vic::pl
