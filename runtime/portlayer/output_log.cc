#include "runtime/portlayer/output_log.h"

#include <fstream>

#include "vsock/codec.h"

namespace vic::pl {

std::vector<vsock::LogRecord> readLogRecords(const std::string& file, uint64_t offset, uint64_t* next) {
  std::ifstream in(file, std::ios::binary);
  *next = offset;
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  auto parsed = vsock::parseLog(bytes);
  *next = offset + parsed.consumed;
  return std::move(parsed.records);
}

void OutputLogCache::update(const std::string& file) {
  uint64_t next = offset_;
  for (auto& r : readLogRecords(file, offset_, &next)) {
    lastNs_ = r.timeNs;
    if (r.kind != vsock::LogKind::kExit) continue;
    auto e = vsock::decodeExitStatus(r.data);
    if (e) exit_ = *e;
  }
  offset_ = next;
}

std::optional<vsock::ExitStatus> OutputLogCache::lastExit(const std::string& file) {
  update(file);
  return exit_;
}

int64_t OutputLogCache::lastWriteNs(const std::string& file) {
  update(file);
  return lastNs_;
}

}  // namespace vic::pl
