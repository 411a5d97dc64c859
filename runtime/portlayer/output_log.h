// Reading a container's persistent output log (vsock/log_record.h format) on the host:
// incrementally, since QEMU appends to it while the container runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vsock/log_record.h"
#include "vsock/messages.h"

namespace vic::pl {

// Records from byte `offset` on; `next` is where the next read should start (a torn tail
// is left for later).
std::vector<vsock::LogRecord> readLogRecords(const std::string& file, uint64_t offset, uint64_t* next);

// The records that hold the last `n` lines (docker logs --tail): a line is what ends with a
// newline, or the unfinished rest at the end; the first record kept may be cut.
std::vector<vsock::LogRecord> lastLines(std::vector<vsock::LogRecord> records, size_t n);

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
