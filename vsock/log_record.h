// The persistent output log (VIC's output.log): tether writes every byte of the main
// session's stdout/stderr, and finally the exit record, to a second virtio-serial port that
// QEMU backs with a file on the datastore. The host reads the file for `docker logs`, even
// when the VCH endpoint was down. Pure encode/decode; shared by tether and the port layer.
//
//   offset  size  field
//   0       1     magic 0xD7
//   1       1     kind: 1 stdout, 2 stderr, 3 exit (payload: JSON ExitStatus), 4 start
//   2       2     reserved, 0
//   4       4     payload length, big-endian, at most kMaxLogPayload
//   8       8     timestamp, nanoseconds since the epoch, big-endian
//   16      n     payload
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vic::vsock {

enum class LogKind : uint8_t { kStdout = 1, kStderr = 2, kExit = 3, kStart = 4 };

inline constexpr uint8_t kLogMagic = 0xD7;
inline constexpr size_t kLogHeaderSize = 16;
inline constexpr uint32_t kMaxLogPayload = 64 * 1024;

struct LogRecord {
  LogKind kind = LogKind::kStdout;
  int64_t timeNs = 0;
  std::string data;
};

// Appends one or more records (payloads longer than kMaxLogPayload are split).
void appendLogRecords(std::vector<uint8_t>& out, LogKind kind, int64_t timeNs, std::span<const uint8_t> data);

struct LogParse {
  std::vector<LogRecord> records;
  std::vector<size_t> starts;  // where each record begins in the input
  size_t consumed = 0;      // bytes of whole records and garbage; a torn tail (VM killed mid-write) is left
  size_t skipped = 0;       // bytes of garbage resynchronised over
};
// Decodes whole records; never throws; bounded by the input.
LogParse parseLog(std::span<const uint8_t> bytes);

}  // namespace vic::vsock
