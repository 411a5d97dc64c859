// Small file helpers shared by tether and the host tools.
#pragma once

#include <fstream>
#include <iterator>
#include <string>

namespace vic {

// The whole file, or "" when it cannot be read (callers that must tell the two apart open
// the file themselves).
inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace vic
