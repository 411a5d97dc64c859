#include "guest/tether/copy_tree.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace vic::tether {
namespace {
namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/copytree.XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(CopyTree, KeepsModesTimesAndLinksWithoutFollowingThem) {
  TempDir src, dst;
  fs::create_directories(src.path + "/data/sub");
  std::ofstream(src.path + "/data/sub/file") << "content";
  ::chmod((src.path + "/data/sub/file").c_str(), 0640);
  ::chmod((src.path + "/data/sub").c_str(), 0711);
  timespec times[2] = {{1000000, 0}, {2000000, 0}};
  ::utimensat(AT_FDCWD, (src.path + "/data/sub/file").c_str(), times, 0);
  ::symlink("/etc/passwd", (src.path + "/data/link").c_str());
  ::mkfifo((src.path + "/data/pipe").c_str(), 0600);
  ASSERT_TRUE(copyTree(src.path + "/data", dst.path));
  std::ifstream in(dst.path + "/sub/file");
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, "content");
  struct stat st{};
  ASSERT_EQ(::stat((dst.path + "/sub/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000000);
  ASSERT_EQ(::stat((dst.path + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  EXPECT_EQ(fs::read_symlink(dst.path + "/link"), "/etc/passwd");  // a link, not a copy of its target
  EXPECT_TRUE(fs::is_fifo(dst.path + "/pipe"));
}

TEST(CopyTree, EmptyVolumeIgnoresLostAndFound) {
  TempDir d;
  EXPECT_TRUE(emptyVolume(d.path));
  EXPECT_FALSE(hasEntries(d.path));
  fs::create_directory(d.path + "/lost+found");
  EXPECT_TRUE(emptyVolume(d.path));
  EXPECT_TRUE(hasEntries(d.path));
  std::ofstream(d.path + "/x") << "";
  EXPECT_FALSE(emptyVolume(d.path));
  EXPECT_FALSE(copyTree(d.path + "/nonexistent", d.path + "/y"));
}

}  // namespace
}  // namespace vic::tether
