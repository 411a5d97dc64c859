#include "common/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/testing/temp_dir.h"

namespace vic {
namespace {

namespace fs = std::filesystem;

TEST(WriteFileAtomically, NeverWritesThroughAPlantedSymlink) {
  testing::TempDir dir("vic-files");
  const fs::path& base = dir.path();
  std::ofstream(base / "canary") << "host file\n";
  // the old fixed temporary name, and the target itself, planted as symlinks to a host file
  fs::create_symlink(base / "canary", base / "rules.tmp");
  fs::create_symlink(base / "canary", base / "rules");
  ASSERT_TRUE(writeFileAtomically((base / "rules").string(), "new rules\n", 0600));
  EXPECT_EQ(readFile((base / "canary").string()), "host file\n");
  EXPECT_FALSE(fs::is_symlink(base / "rules"));  // replaced by rename, not followed
  EXPECT_EQ(readFile((base / "rules").string()), "new rules\n");
  struct stat st{};
  ASSERT_EQ(::stat((base / "rules").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  size_t leftovers = 0;
  for (const auto& e : fs::directory_iterator(base)) leftovers += e.path().filename().string().find(".tmp-") != std::string::npos;
  EXPECT_EQ(leftovers, 0u);
  fs::remove_all(base);
}

TEST(WriteFileAtomically, AMissingDirectoryIsAnErrorNamingTheFile) {
  auto st = writeFileAtomically("/nonexistent-dir-vic/x", "x");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("/nonexistent-dir-vic/x"), std::string::npos) << st.error().message();
}

// A file that opens but cannot be read (a directory: EISDIR; a threaded cgroup's cgroup.procs:
// EOPNOTSUPP) reads as "", as promised, instead of throwing out of the caller.
TEST(ReadFile, AReadErrorIsAnEmptyStringNotAnException) {
  EXPECT_EQ(readFile("/"), "");
  EXPECT_EQ(readFile("/nonexistent-dir-vic/x"), "");
}

}  // namespace
}  // namespace vic
