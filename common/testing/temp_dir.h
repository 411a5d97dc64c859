// TempDir: a fresh directory under $TMPDIR (or /tmp) for one test, removed with everything in it
// when the object goes. Header-only, for unit tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <cerrno>
#include <string>
#include <system_error>

namespace vic::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "vic-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // A path below the directory: dir / "a/b".
  std::filesystem::path operator/(const std::filesystem::path& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

}  // namespace vic::testing
