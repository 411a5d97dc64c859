#include "common/guest_root.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.h"

namespace vic {
namespace {

namespace fs = std::filesystem;

// A guest tree beside a "host" directory of canaries: resolution that leaked out of the root
// would find or remove the canaries.
class GuestRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(base_ / "root/etc");
    fs::create_directories(base_ / "host/etc");
    std::ofstream(base_ / "host/etc/passwd") << "host\n";
    std::ofstream(base_ / "root/etc/passwd") << "guest\n";
    auto r = GuestRoot::open((base_ / "root").string());
    ASSERT_TRUE(r) << r.error().message();
    root_.emplace(std::move(*r));
  }
  std::string read(const Result<UniqueFd>& fd) {
    char buf[64] = {};
    return fd ? std::string(buf, static_cast<size_t>(std::max<ssize_t>(0, ::read(fd->get(), buf, sizeof buf)))) : "";
  }
  testing::TempDir dir_{"vic-guestroot"};
  fs::path base_ = dir_.path();
  std::optional<GuestRoot> root_;
};

TEST_F(GuestRootTest, AbsoluteAndDotDotSymlinksResolveInsideTheRoot) {
  fs::create_symlink((base_ / "host/etc").string(), base_ / "root/abs");  // the host's path, as an image would write it
  fs::create_symlink("../../../../../../host/etc", base_ / "root/rel");
  fs::create_symlink("/etc", base_ / "root/guestetc");
  EXPECT_EQ(read(root_->openPath("/guestetc/passwd", O_RDONLY)), "guest\n");
  EXPECT_EQ(read(root_->openPath("../../../etc/passwd", O_RDONLY)), "guest\n");
  EXPECT_EQ(root_->openPath("abs/passwd", O_RDONLY).error().code(), Errc::kNotFound);
  EXPECT_EQ(root_->openPath("rel/passwd", O_RDONLY).error().code(), Errc::kNotFound);
  EXPECT_FALSE(root_->openPath("/proc/self/root/etc/passwd", O_RDONLY));
}

TEST_F(GuestRootTest, SlotNeverFollowsTheLastComponentAndMakesParentsInside) {
  fs::create_symlink("/etc/passwd", base_ / "root/link");
  auto s = root_->slot("link");
  ASSERT_TRUE(s);
  struct stat st{};
  ASSERT_EQ(::fstatat(s->dir.get(), s->base.c_str(), &st, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  fs::create_symlink((base_ / "host").string(), base_ / "root/h");
  auto made = root_->slot("h/new/dir/file", true);  // h points at the host: stays a dangling name inside
  EXPECT_FALSE(made);
  EXPECT_FALSE(fs::exists(base_ / "host/new"));
  auto deep = root_->slot("a/b/c/file", true);
  ASSERT_TRUE(deep) << deep.error().message();
  EXPECT_TRUE(fs::is_directory(base_ / "root/a/b/c"));
  EXPECT_FALSE(root_->slot("a/.."));
}

TEST_F(GuestRootTest, RemoveAllRemovesSymlinksNotTheirTargets) {
  fs::create_symlink((base_ / "host/etc").string(), base_ / "root/x");
  ASSERT_TRUE(root_->removeAll("x/passwd"));  // inside the root x/passwd does not exist
  EXPECT_TRUE(fs::exists(base_ / "host/etc/passwd"));
  ASSERT_TRUE(root_->removeAll("x"));
  EXPECT_FALSE(fs::is_symlink(base_ / "root/x"));
  EXPECT_TRUE(fs::exists(base_ / "host/etc/passwd"));
  fs::create_symlink("/", base_ / "root/up");
  ASSERT_TRUE(root_->removeAll("up/etc/passwd"));  // "/" is the root: the guest's file goes
  EXPECT_FALSE(fs::exists(base_ / "root/etc/passwd"));
  EXPECT_TRUE(fs::exists(base_ / "host/etc/passwd"));
  EXPECT_FALSE(root_->removeAll("/"));
}

TEST_F(GuestRootTest, ClearDirKeepsWhatItIsTold) {
  fs::create_directories(base_ / "root/d/sub/deeper");
  std::ofstream(base_ / "root/d/keep") << "k";
  std::ofstream(base_ / "root/d/sub/deeper/f") << "f";
  fs::create_symlink((base_ / "host").string(), base_ / "root/d/hostlink");
  ASSERT_TRUE(root_->clearDir("d", [](const std::string& n) { return n == "keep"; }));
  EXPECT_TRUE(fs::exists(base_ / "root/d/keep"));
  EXPECT_FALSE(fs::exists(base_ / "root/d/sub"));
  EXPECT_FALSE(fs::is_symlink(base_ / "root/d/hostlink"));
  EXPECT_TRUE(fs::exists(base_ / "host/etc/passwd"));
}

TEST_F(GuestRootTest, RemoveTreeHandlesDepthBeyondPathMax) {
  // 1500 levels of "dd/": no path string can name the bottom (PATH_MAX 4096), and no recursion is needed
  UniqueFd cur(::dup(root_->fd()));
  for (int i = 0; i < 1500; ++i) {
    ASSERT_EQ(::mkdirat(cur.get(), "dd", 0755), 0);
    cur.reset(::openat(cur.get(), "dd", O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(cur);
  }
  ::close(::openat(cur.get(), "f", O_CREAT | O_WRONLY, 0644));
  ASSERT_TRUE(removeTreeAt(root_->fd(), "dd"));
  EXPECT_FALSE(fs::exists(base_ / "root/dd"));
}

}  // namespace
}  // namespace vic
