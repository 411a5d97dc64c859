// Small file helpers shared by tether and the host tools.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic {

// The whole file, or "" when it cannot be read (callers that must tell the two apart open
// the file themselves).
inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes `path` through `<path>.tmp` + rename, so readers see the old or the new content.
inline Status writeFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return Error(Errc::kIo, "writing " + tmp + " (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Error(Errc::kIo, "renaming " + tmp + ": " + ec.message());
  return ok();
}

// The names in `dir` (without "." and ".."), sorted; empty when it cannot be read.
std::vector<std::string> dirEntries(const std::string& dir);
// A symlink's target, or "" when `path` is not a readable symlink.
std::string linkTarget(const std::string& path);

}  // namespace vic
