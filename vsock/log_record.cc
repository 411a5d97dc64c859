#include "vsock/log_record.h"

#include <algorithm>

namespace vic::vsock {
namespace {

bool validKind(uint8_t k) { return k >= 1 && k <= 4; }

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

void appendLogRecords(std::vector<uint8_t>& out, LogKind kind, int64_t timeNs, std::span<const uint8_t> data) {
  size_t at = 0;
  do {
    size_t n = std::min<size_t>(data.size() - at, kMaxLogPayload);
    uint8_t h[kLogHeaderSize] = {kLogMagic, static_cast<uint8_t>(kind), 0, 0};
    for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<uint8_t>(n >> (24 - 8 * i));
    auto t = static_cast<uint64_t>(timeNs);
    for (int i = 0; i < 8; ++i) h[8 + i] = static_cast<uint8_t>(t >> (56 - 8 * i));
    out.insert(out.end(), h, h + kLogHeaderSize);
    out.insert(out.end(), data.begin() + static_cast<long>(at), data.begin() + static_cast<long>(at + n));
    at += n;
  } while (at < data.size());
}

LogParse parseLog(std::span<const uint8_t> bytes) {
  LogParse r;
  size_t pos = 0;
  while (bytes.size() - pos >= kLogHeaderSize) {
    const uint8_t* h = bytes.data() + pos;
    uint32_t len = be32(h + 4);
    if (h[0] != kLogMagic || !validKind(h[1]) || h[2] != 0 || h[3] != 0 || len > kMaxLogPayload) {
      ++pos;  // not a record start: skip a byte and look again
      ++r.skipped;
      r.consumed = pos;  // never to be looked at again
      continue;
    }
    if (bytes.size() - pos - kLogHeaderSize < len) break;  // torn tail
    uint64_t t = 0;
    for (int i = 0; i < 8; ++i) t = (t << 8) | h[8 + i];
    r.starts.push_back(pos);
    r.records.push_back({static_cast<LogKind>(h[1]), static_cast<int64_t>(t),
                         std::string(reinterpret_cast<const char*>(h + kLogHeaderSize), len)});
    pos += kLogHeaderSize + len;
    r.consumed = pos;
  }
  return r;
}

}  // namespace vic::vsock
