// A small tar (ustar + pax) writer and incremental reader for `docker cp` through tether.
// Pure over bytes; the filesystem side is in archive.h.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::vsock {

struct TarEntry {
  std::string name;      // relative, '/'-separated; directories without a trailing slash
  std::string linkname;  // symlink target or hardlink source
  char type = '0';       // '0' file, '5' directory, '2' symlink, '1' hardlink
  uint32_t mode = 0644;  // permission bits
  uint32_t uid = 0, gid = 0;
  int64_t mtime = 0;     // seconds
  uint64_t size = 0;     // data bytes (files only)
};

// Header blocks for `e` (a pax extended header first when names or size do not fit ustar).
std::vector<uint8_t> tarHeader(const TarEntry& e);
inline size_t tarPadding(uint64_t size) { return static_cast<size_t>((512 - size % 512) % 512); }
inline constexpr size_t kTarTrailer = 1024;  // two zero blocks

class TarSink {
 public:
  virtual ~TarSink() = default;
  virtual Status begin(const TarEntry& e) = 0;
  virtual Status data(std::span<const uint8_t> bytes) = 0;
  virtual Status end() = 0;
};

// Feed any split of a tar stream; entries come out as they complete. Pax 'x' and GNU 'L'/'K'
// long names are understood; global pax headers and unknown types are skipped.
class TarReader {
 public:
  Status feed(std::span<const uint8_t> bytes, TarSink& sink);
  bool finished() const { return finished_; }

 private:
  enum class State { kHeader, kData, kMeta, kSkip };
  Status onHeader(TarSink& sink);
  Status onMeta();  // a completed pax or GNU long-name payload
  Status finishSection(TarSink& sink);

  std::vector<uint8_t> block_;  // partial 512-byte header
  std::string meta_;            // pax/GNU payload being collected
  char metaType_ = 0;
  TarEntry pending_;            // overrides from pax/GNU headers for the next entry
  bool havePendingName_ = false, havePendingLink_ = false, havePendingSize_ = false;
  State state_ = State::kHeader;
  uint64_t remaining_ = 0, padding_ = 0;
  int zeroBlocks_ = 0;
  bool finished_ = false;
};

// A name from an archive is safe to extract when it is relative and has no ".." component.
bool safeArchiveName(const std::string& name);

}  // namespace vic::vsock
