#include "runtime/portlayer/health.h"

#include <algorithm>

namespace vic::pl {

namespace {
constexpr int64_t kSecond = 1'000'000'000;
// At most a year: a client's INT64_MAX would overflow the timers' deadlines (and probe in a loop).
constexpr int64_t kMaxDurationNs = 365LL * 24 * 3600 * kSecond;
int64_t orDefault(int64_t v, int64_t dflt) { return v > 0 ? std::min(v, kMaxDurationNs) : dflt; }
}  // namespace

HealthTiming healthTiming(const Healthcheck& h) {
  return {orDefault(h.intervalNs, 30 * kSecond), orDefault(h.timeoutNs, 30 * kSecond), std::clamp<int64_t>(h.startPeriodNs, 0, kMaxDurationNs),
          orDefault(h.startIntervalNs, 5 * kSecond), h.retries > 0 ? h.retries : 3};
}

std::vector<std::string> probeArgv(const Healthcheck& h) {
  if (h.test.empty()) return {};
  if (h.test[0] == "CMD" && h.test.size() > 1) return {h.test.begin() + 1, h.test.end()};
  if (h.test[0] == "CMD-SHELL" && h.test.size() == 2) return {"/bin/sh", "-c", h.test[1]};
  return {};
}

Healthcheck mergeHealthcheck(const Healthcheck& container, const Healthcheck& image) {
  Healthcheck h = container;
  if (h.test.empty()) h.test = image.test;
  if (h.intervalNs == 0) h.intervalNs = image.intervalNs;
  if (h.timeoutNs == 0) h.timeoutNs = image.timeoutNs;
  if (h.startPeriodNs == 0) h.startPeriodNs = image.startPeriodNs;
  if (h.startIntervalNs == 0) h.startIntervalNs = image.startIntervalNs;
  if (h.retries == 0) h.retries = image.retries;
  return h;
}

std::string healthcheckError(const Healthcheck& h) {
  auto tooShort = [](int64_t ns) { return ns != 0 && ns < kMinHealthDurationNs; };
  if (tooShort(h.intervalNs)) return "Interval in Healthcheck cannot be less than 1ms";
  if (tooShort(h.timeoutNs)) return "Timeout in Healthcheck cannot be less than 1ms";
  if (h.retries < 0) return "Retries in Healthcheck cannot be negative";
  if (tooShort(h.startPeriodNs)) return "StartPeriod in Healthcheck cannot be less than 1ms";
  if (tooShort(h.startIntervalNs)) return "StartInterval in Healthcheck cannot be less than 1ms";
  if (!h.test.empty()) {
    const std::string& kind = h.test[0];
    if (kind != "NONE" && kind != "CMD" && kind != "CMD-SHELL") return "unknown health check type: " + kind;
    if (kind != "NONE" && h.test.size() < 2) return "no health check command given for " + kind;
  }
  return "";
}

Health applyProbe(Health h, HealthProbe probe, const HealthTiming& t, int64_t startedNs) {
  if (probe.output.size() > kHealthOutputMax) probe.output.resize(kHealthOutputMax);
  bool inStartPeriod = h.status == "starting" && probe.startNs - startedNs < t.startPeriodNs;
  if (probe.exitCode == 0) {
    h.failingStreak = 0;
    h.status = "healthy";
  } else if (!inStartPeriod) {
    ++h.failingStreak;
    if (h.failingStreak >= t.retries) h.status = "unhealthy";
  }
  h.log.push_back(std::move(probe));
  if (h.log.size() > kHealthLogKeep) h.log.erase(h.log.begin(), h.log.end() - kHealthLogKeep);
  return h;
}

int64_t nextProbeDelayNs(const Health& h, const HealthTiming& t, int64_t startedNs, int64_t nowNs) {
  bool inStartPeriod = h.status == "starting" && t.startPeriodNs > 0 && nowNs - startedNs < t.startPeriodNs;
  return inStartPeriod ? t.startIntervalNs : t.intervalNs;
}

std::string goDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-ns) : static_cast<uint64_t>(ns);
  auto fraction = [](uint64_t v, uint64_t unit) {  // v/unit with the fraction, trailing zeros dropped
    std::string out = std::to_string(v / unit);
    uint64_t rest = v % unit;
    if (rest == 0) return out;
    std::string digits = std::to_string(unit + rest).substr(1);
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    return out + "." + digits;
  };
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1'000'000) return sign + fraction(u, 1000) + "µs";
  if (u < static_cast<uint64_t>(kSecond)) return sign + fraction(u, 1'000'000) + "ms";
  uint64_t secsNs = u % (60 * kSecond), mins = u / (60 * kSecond);
  std::string s = fraction(secsNs, kSecond) + "s";
  if (mins == 0) return sign + s;
  std::string m = std::to_string(mins % 60) + "m";
  if (mins < 60) return sign + m + s;
  return sign + std::to_string(mins / 60) + "h" + m + s;
}

}  // namespace vic::pl
