#include "runtime/portlayer/tree_diff.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "common/testing/temp_dir.h"
#include "images/layer_apply.h"

namespace vic::pl {
namespace {

namespace fs = std::filesystem;

struct Trees {
  vic::testing::TempDir temp{"vic-treediff"};
  fs::path dir = temp.path();
  Trees() {
    fs::create_directories(dir / "base/etc/keep");
    fs::create_directories(dir / "base/gone/deeper");
    std::ofstream(dir / "base/etc/hosts") << "127.0.0.1 localhost\n";
    std::ofstream(dir / "base/etc/keep/same") << "same\n";
    std::ofstream(dir / "base/gone/deeper/f") << "f\n";
    std::ofstream(dir / "base/old") << "old\n";
    fs::create_directories(dir / "new");
    (void)!std::system(("cp -a " + (dir / "base").string() + "/. " + (dir / "new").string()).c_str());  // same mtimes
  }
  std::string base() const { return (dir / "base").string(); }
  std::string next() const { return (dir / "new").string(); }
};

TEST(TreeDiff, UnchangedTreesHaveNoChanges) {
  Trees t;
  auto d = diffTrees(t.base(), t.next());
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_TRUE(d->empty());
}

TEST(TreeDiff, ReportsAddedModifiedAndDeletedAsDockerDoes) {
  Trees t;
  std::ofstream(t.next() + "/etc/hosts", std::ios::app) << "10.0.0.2 peer\n";  // modified file
  fs::create_directories(t.next() + "/new/sub");
  std::ofstream(t.next() + "/new/sub/file") << "x\n";
  fs::remove_all(t.next() + "/gone");                                          // a deleted subtree
  ::chmod((t.next() + "/old").c_str(), 0600);                                   // a mode change
  auto d = diffTrees(t.base(), t.next());
  ASSERT_TRUE(d) << d.error().message();
  std::vector<Change> want = {{"/etc", ChangeKind::kModified},     {"/etc/hosts", ChangeKind::kModified},
                              {"/gone", ChangeKind::kDeleted},     {"/new", ChangeKind::kAdded},
                              {"/new/sub", ChangeKind::kAdded},    {"/new/sub/file", ChangeKind::kAdded},
                              {"/old", ChangeKind::kModified}};
  EXPECT_EQ(*d, want);
}

TEST(TreeDiff, InitPathsAreLeftOut) {
  Trees t;
  std::ofstream(t.next() + "/etc/hosts", std::ios::app) << "10.0.0.2 me\n";
  fs::create_directories(t.next() + "/proc/1");
  auto d = diffTrees(t.base(), t.next(), {"/etc/hosts", "/proc"});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->empty()) << d->front().path;
}

TEST(TreeDiff, TheLayerTarRebuildsTheNewTreeOnTheBase) {
  Trees t;
  std::ofstream(t.next() + "/etc/hosts", std::ios::trunc) << "changed\n";
  fs::create_directories(t.next() + "/new");
  std::ofstream(t.next() + "/new/a") << "a\n";
  fs::create_hard_link(t.next() + "/new/a", t.next() + "/new/b");
  fs::create_symlink("a", t.next() + "/new/link");
  fs::remove_all(t.next() + "/gone");
  fs::remove(t.next() + "/old");
  auto d = diffTrees(t.base(), t.next());
  ASSERT_TRUE(d);
  std::string tar = (t.dir / "layer.tar").string();
  ASSERT_TRUE(writeLayerTar(t.next(), *d, tar));
  ASSERT_TRUE(images::applyLayer(tar, t.base(), true));  // the base becomes the new tree
  EXPECT_EQ(readFile(t.base() + "/etc/hosts"), "changed\n");
  EXPECT_EQ(readFile(t.base() + "/new/b"), "a\n");
  EXPECT_EQ(fs::read_symlink(t.base() + "/new/link"), "a");
  struct stat a{}, b{};
  ::stat((t.base() + "/new/a").c_str(), &a);
  ::stat((t.base() + "/new/b").c_str(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino) << "a hard link stays a hard link";
  EXPECT_FALSE(fs::exists(t.base() + "/gone"));
  EXPECT_FALSE(fs::exists(t.base() + "/old"));
  EXPECT_TRUE(fs::exists(t.base() + "/etc/keep/same"));
}

TEST(TreeDiff, SymlinksToHostPathsAreNeverFollowed) {
  Trees t;
  fs::create_directories(t.dir / "host");
  std::ofstream(t.dir / "host/secret") << "host secret\n";
  fs::create_symlink((t.dir / "host").string(), t.next() + "/evil");  // the container's root planted it
  auto d = diffTrees(t.base(), t.next());
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (std::vector<Change>{{"/evil", ChangeKind::kAdded}}));  // the link, not what it points at
  std::string tar = (t.dir / "layer.tar").string();
  // even a change list naming a path through the link stays inside the container's root
  auto st = writeLayerTar(t.next(), {{"/evil", ChangeKind::kAdded}, {"/evil/secret", ChangeKind::kAdded}}, tar);
  EXPECT_FALSE(st);
  EXPECT_EQ(readFile(tar).find("host secret"), std::string::npos);
}

}  // namespace
}  // namespace vic::pl
