#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace vic::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<int> g_fd{2};

std::string_view levelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info ";
    case Level::kWarn: return "warn ";
    case Level::kError: return "error";
  }
  return "?";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n) + "." + std::to_string(1000 + ms).substr(1) + "Z";
}

}  // namespace

void setLevel(Level level) { g_level = level; }
bool enabled(Level level) { return level >= g_level.load(); }
void setFd(int fd) { g_fd = fd; }

void write(Level level, std::string_view component, std::string_view message) {
  if (level < g_level.load()) return;
  std::string line = cat(timestamp(), ' ', levelName(level), ' ', component, ": ", message, '\n');
  // One write() per line so concurrent writers do not interleave within a line.
  [[maybe_unused]] auto n = ::write(g_fd.load(), line.data(), line.size());
}

void Steps::step(std::string_view name) {
  if (!on_) return;
  auto now = std::chrono::steady_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_).count();
  text_ += cat(text_.empty() ? "" : ", ", name, " ", ms);
  last_ = now;
}

}  // namespace vic::log
