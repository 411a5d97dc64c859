#include "guest/tether/copy_tree.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.h"

namespace vic::tether {
namespace {
namespace fs = std::filesystem;

using vic::testing::TempDir;

TEST(CopyTree, KeepsModesTimesAndLinksWithoutFollowingThem) {
  TempDir src, dst;
  fs::create_directories(src.str() + "/data/sub");
  std::ofstream(src.str() + "/data/sub/file") << "content";
  ::chmod((src.str() + "/data/sub/file").c_str(), 0640);
  ::chmod((src.str() + "/data/sub").c_str(), 0711);
  timespec times[2] = {{1000000, 0}, {2000000, 0}};
  ::utimensat(AT_FDCWD, (src.str() + "/data/sub/file").c_str(), times, 0);
  ::symlink("/etc/passwd", (src.str() + "/data/link").c_str());
  ::mkfifo((src.str() + "/data/pipe").c_str(), 0600);
  ASSERT_TRUE(copyTree(src.str() + "/data", dst.str()));
  std::ifstream in(dst.str() + "/sub/file");
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, "content");
  struct stat st{};
  ASSERT_EQ(::stat((dst.str() + "/sub/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000000);
  ASSERT_EQ(::stat((dst.str() + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  EXPECT_EQ(fs::read_symlink(dst.str() + "/link"), "/etc/passwd");  // a link, not a copy of its target
  EXPECT_TRUE(fs::is_fifo(dst.str() + "/pipe"));
}

TEST(CopyTree, EmptyVolumeIgnoresLostAndFound) {
  TempDir d;
  EXPECT_TRUE(emptyVolume(d.str()));
  EXPECT_FALSE(hasEntries(d.str()));
  fs::create_directory(d.str() + "/lost+found");
  EXPECT_TRUE(emptyVolume(d.str()));
  EXPECT_TRUE(hasEntries(d.str()));
  std::ofstream(d.str() + "/x") << "";
  EXPECT_FALSE(emptyVolume(d.str()));
  EXPECT_FALSE(copyTree(d.str() + "/nonexistent", d.str() + "/y"));
}

}  // namespace
}  // namespace vic::tether
