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

std::vector<vsock::LogRecord> lastLines(std::vector<vsock::LogRecord> records, size_t n) {
  if (n == 0) return {};
  bool atEnd = true;  // a newline that ends the whole log closes its last line: not counted twice
  size_t lines = 0;
  for (size_t i = records.size(); i-- > 0;) {
    const std::string& d = records[i].data;
    for (size_t j = d.size(); j-- > 0;) {
      bool last = atEnd;
      atEnd = false;
      if (d[j] != '\n' || last) continue;
      if (++lines == n) {  // the line after this newline is the n-th from the end
        records[i].data.erase(0, j + 1);
        records.erase(records.begin(), records.begin() + static_cast<long>(i));
        if (records.front().data.empty()) records.erase(records.begin());
        return records;
      }
    }
  }
  return records;
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
