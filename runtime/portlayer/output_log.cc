#include "runtime/portlayer/output_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "vsock/codec.h"

namespace vic::pl {

std::vector<vsock::LogRecord> readLogRecords(const std::string& file, uint64_t offset, uint64_t* next, size_t maxBytes) {
  *next = offset;
  // QEMU's user owns the file and its directory: a symlink put there is not followed.
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) <= offset) {
    ::close(fd);
    return {};
  }
  off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);  // over what a trim punched out
  if (data > static_cast<off_t>(offset)) offset = static_cast<uint64_t>(data);
  if (static_cast<uint64_t>(st.st_size) <= offset) {
    ::close(fd);
    return {};
  }
  std::vector<uint8_t> bytes(std::min<uint64_t>(maxBytes, static_cast<uint64_t>(st.st_size) - offset));
  ssize_t n = ::pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  ::close(fd);
  if (n <= 0) return {};
  bytes.resize(static_cast<size_t>(n));
  auto parsed = vsock::parseLog(bytes);
  *next = offset + parsed.consumed;
  return std::move(parsed.records);
}

void OutputLogCache::update(const std::string& file) {
  for (uint64_t next = offset_;; offset_ = next) {
    for (auto& r : readLogRecords(file, offset_, &next)) {
      lastNs_ = r.timeNs;
      if (r.kind != vsock::LogKind::kExit) continue;
      auto e = vsock::decodeExitStatus(r.data);
      if (e) exit_ = *e;
    }
    if (next == offset_) break;
  }
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

namespace {

bool endsLine(const vsock::LogRecord& r) {
  bool output = r.kind == vsock::LogKind::kStdout || r.kind == vsock::LogKind::kStderr;
  return !output || (!r.data.empty() && r.data.back() == '\n');
}

// Where the first record at or after `target` that begins a line begins, walking from `from` (a
// record boundary), but no later than the last record: a log is never trimmed of its last (exit)
// record. With no line start there, the first record at or after `target`.
uint64_t cutPoint(int fd, uint64_t from, uint64_t target, uint64_t size) {
  uint64_t lastStart = from;
  std::optional<uint64_t> anyStart;
  bool lineStart = true;
  std::vector<uint8_t> bytes;
  for (uint64_t offset = from; offset < size;) {
    bytes.resize(std::min<uint64_t>(kLogWindow, size - offset));
    ssize_t n = ::pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n <= 0) break;
    bytes.resize(static_cast<size_t>(n));
    auto parsed = vsock::parseLog(bytes);
    for (size_t i = 0; i < parsed.starts.size(); ++i) {
      uint64_t at = offset + parsed.starts[i];
      if (at >= target && lineStart) return at;
      if (at >= target && !anyStart) anyStart = at;
      lastStart = at;
      lineStart = endsLine(parsed.records[i]);
    }
    if (parsed.consumed == 0) break;
    offset += parsed.consumed;
  }
  return anyStart ? std::min(*anyStart, lastStart) : lastStart;
}

}  // namespace

Result<uint64_t> trimOutputLog(const std::string& file, const LogLimits& limits) {
  if (limits.maxBytes == 0) return uint64_t{0};
  int fd = ::open(file.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Result<uint64_t>(uint64_t{0}) : Error::fromErrno("trimming " + file);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(Errc::kInvalidArgument, "trimming " + file + ": not a regular file");
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  off_t data = ::lseek(fd, 0, SEEK_DATA);
  uint64_t start = data < 0 ? size : static_cast<uint64_t>(data);
  uint64_t files = static_cast<uint64_t>(std::max(limits.maxFiles, 1));
  if (size - start <= limits.maxBytes * files) {
    ::close(fd);
    return uint64_t{0};
  }
  // As docker keeps max-file - 1 whole files and the current one, rotated at max-size.
  uint64_t cut = cutPoint(fd, start, size - limits.maxBytes * (files - 1), size);
  int rc = cut > start ? ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(cut)) : 0;
  int err = errno;
  ::close(fd);
  if (rc != 0) return Error::fromErrno("trimming " + file, err);
  return cut - start;
}

std::vector<vsock::LogRecord> outputTail(const std::string& file, size_t n, uint64_t* next) {
  std::vector<vsock::LogRecord> kept;
  size_t bytes = 0, trimAt = 4 * kLogWindow;
  uint64_t offset = 0;
  for (uint64_t before = ~0ULL; before != offset;) {
    before = offset;
    for (auto& r : readLogRecords(file, offset, &offset)) {
      if (r.kind != vsock::LogKind::kStdout && r.kind != vsock::LogKind::kStderr) continue;
      bytes += r.data.size();
      kept.push_back(std::move(r));
    }
    if (bytes < trimAt) continue;
    kept = lastLines(std::move(kept), n);  // the last n lines of it all are in these and what follows
    bytes = 0;
    for (const auto& r : kept) bytes += r.data.size();
    trimAt = std::max(trimAt, 2 * bytes);
  }
  *next = offset;
  return lastLines(std::move(kept), n);
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
