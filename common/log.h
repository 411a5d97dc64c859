// Minimal leveled logging to stderr (or a file the daemon chooses): one line per call,
// "2026-11-22T10:42:09.123Z info  vsock: message". No Boost, so tether can use it.
#pragma once

#include <chrono>
#include <sstream>
#include <string>
#include <string_view>

namespace vic::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void setLevel(Level level);
bool enabled(Level level);  // would a line at this level be written
void setFd(int fd);  // where lines go; default stderr
void write(Level level, std::string_view component, std::string_view message);

// cat("a", 1, 'b') -> "a1b": builds a message without iostream boilerplate at call sites.
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

inline void debug(std::string_view c, std::string_view m) { write(Level::kDebug, c, m); }
inline void info(std::string_view c, std::string_view m) { write(Level::kInfo, c, m); }
inline void warn(std::string_view c, std::string_view m) { write(Level::kWarn, c, m); }
inline void error(std::string_view c, std::string_view m) { write(Level::kError, c, m); }

// Times the steps of one operation and writes them as one line when it ends:
// "<what> (ms): a 12, b 240". Where a start's time goes, without a profiler.
class Steps {
 public:
  Steps(Level level, std::string component, std::string what)
      : level_(level), on_(enabled(level)), component_(std::move(component)), what_(std::move(what)) {}
  Steps(const Steps&) = delete;
  Steps& operator=(const Steps&) = delete;
  ~Steps() {
    if (on_) write(level_, component_, what_ + " (ms): " + text_);
  }
  void step(std::string_view name);

 private:
  Level level_;
  bool on_;  // off: no clock reads or strings on the paths it times
  std::string component_, what_, text_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace vic::log
