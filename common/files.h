// Small file helpers shared by tether and the host tools.
#pragma once

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace vic {

// The whole file, or "" when it cannot be read (callers that must tell the two apart open
// the file themselves).
inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  try {
    return std::string(std::istreambuf_iterator<char>(in), {});
  } catch (const std::ios_base::failure&) {  // a read error (EOPNOTSUPP from a threaded cgroup's cgroup.procs)
    return "";
  }
}

// A new file `<prefix><16 random hex digits>`, mode 0600, created with O_EXCL|O_NOFOLLOW: a file
// or symlink planted at a predictable name is never opened. Returns the file and its path.
Result<std::pair<UniqueFd, std::string>> createUniqueFile(const std::string& prefix);
// Writes all of `data` (retrying short writes and EINTR); `what` names the file in errors.
Status writeAll(int fd, const char* data, size_t size, const std::string& what);

// Writes `path` through a new temporary file beside it + rename, so readers see the old or the
// new content. The temporary name is unique and created with O_EXCL|O_NOFOLLOW: a file or
// symlink planted at a predictable name is never written through.
Status writeFileAtomically(const std::string& path, const std::string& content, unsigned mode = 0644);

// The names in `dir` (without "." and ".."), sorted; empty when it cannot be read.
std::vector<std::string> dirEntries(const std::string& dir);
// A symlink's target, or "" when `path` is not a readable symlink.
std::string linkTarget(const std::string& path);

}  // namespace vic
