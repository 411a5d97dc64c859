// Wall-clock time as the wire formats carry it.
#pragma once

#include <chrono>
#include <cstdint>

namespace vic {

// Nanoseconds since the Unix epoch, by the system (wall) clock.
inline int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace vic
