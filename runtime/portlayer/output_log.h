// Reading a container's persistent output log (vsock/log_record.h format) on the host:
// incrementally, since QEMU appends to it while the container runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/portlayer/container.h"
#include "vsock/log_record.h"
#include "vsock/messages.h"

namespace vic::pl {

// Records from byte `offset` on, read from at most `maxBytes` of the file (a log grows without
// bound); `next` is where the next read should start: `offset` again once there is nothing more
// (a torn tail is left for later).
inline constexpr size_t kLogWindow = 1 << 20;
std::vector<vsock::LogRecord> readLogRecords(const std::string& file, uint64_t offset, uint64_t* next,
                                             size_t maxBytes = kLogWindow);

// The records that hold the last `n` lines (docker logs --tail): a line is what ends with a
// newline, or the unfinished rest at the end; the first record kept may be cut.
std::vector<vsock::LogRecord> lastLines(std::vector<vsock::LogRecord> records, size_t n);

// Once a log holds more than maxBytes * maxFiles, punches out its head (the file keeps its size;
// readers skip the hole) at a record boundary, keeping about maxBytes * (maxFiles - 1) and never
// the last record. QEMU appends meanwhile. The number of bytes dropped.
Result<uint64_t> trimOutputLog(const std::string& file, const LogLimits& limits);

// The stdout and stderr records that hold the last `n` lines of a whole log file, read a window
// at a time and holding little more than those lines; `next` is where the file ended.
std::vector<vsock::LogRecord> outputTail(const std::string& file, size_t n, uint64_t* next);

// The last exit record of a log, parsed once per growth of the file.
class OutputLogCache {
 public:
  std::optional<vsock::ExitStatus> lastExit(const std::string& file);
  int64_t lastWriteNs(const std::string& file);  // time of the last record, 0 if none

 private:
  void update(const std::string& file);
  uint64_t offset_ = 0;
  std::optional<vsock::ExitStatus> exit_;
  int64_t lastNs_ = 0;
};

}  // namespace vic::pl
