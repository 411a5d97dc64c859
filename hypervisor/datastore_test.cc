#include "hypervisor/datastore.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "common/testing/temp_dir.h"

namespace vic::hv {
namespace {

namespace fs = std::filesystem;

class DatastoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ds = Datastore::open(root_.string());
    ASSERT_TRUE(ds);
    ds_.emplace(std::move(*ds));
  }
  vic::testing::TempDir dir_{"vic-ds"};
  fs::path root_ = dir_.path();
  std::optional<Datastore> ds_;
};

// The paths given to QEMU's group sit in directories that group can write: a symlink in a
// disk's place must not hand its target over.
TEST_F(DatastoreTest, SharingWithQemuDoesNotFollowASymlink) {
  std::string target = (root_ / "secret").string(), link = (root_ / "rw.qcow2").string();
  { std::ofstream(target) << "x"; }
  ::chmod(target.c_str(), 0600);
  fs::create_symlink(target, link);
  EXPECT_FALSE(shareWithQemu(link, 0660));
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_gid, ::getgid());
  fs::remove(link);
  { std::ofstream(link) << "disk"; }
  EXPECT_TRUE(shareWithQemu(link, 0660));
  EXPECT_TRUE(shareWithQemu(root_.string(), 0770));  // directories too
}

TEST_F(DatastoreTest, PathsStayInside) {
  EXPECT_EQ(*ds_->resolve("images/a.qcow2"), (root_ / "images/a.qcow2").string());
  EXPECT_EQ(ds_->resolve("../x.qcow2").error().code(), Errc::kInvalidArgument);
  EXPECT_FALSE(ds_->resolve("/etc/passwd"));
  EXPECT_FALSE(ds_->resolve("a/../../x"));
  EXPECT_FALSE(ds_->resolve(""));
}

TEST_F(DatastoreTest, ChainOfThreeWithRelativeBackingAndDeleteRules) {
  ASSERT_TRUE(ds_->createDisk("images/scratch.qcow2", 64 << 20, "containerfs"));
  ASSERT_TRUE(ds_->createChild("images/layer1.qcow2", "images/scratch.qcow2"));
  ASSERT_TRUE(ds_->createChild("containers/c1/rw.qcow2", "images/layer1.qcow2"));
  auto info = ds_->info("containers/c1/rw.qcow2");
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->chain, (std::vector<std::string>{"containers/c1/rw.qcow2", "images/layer1.qcow2", "images/scratch.qcow2"}));
  EXPECT_EQ(info->virtualSize, uint64_t{64} << 20);
  // relative backing paths, as qemu-img itself reports them
  auto raw = runChecked({"qemu-img", "info", "--backing-chain", (root_ / "containers/c1/rw.qcow2").string()}, "info");
  ASSERT_TRUE(raw);
  EXPECT_NE(raw->find("backing file: ../../images/layer1.qcow2"), std::string::npos) << *raw;
  // the scratch disk is ext4 with the label tether looks for
  auto label = runChecked({"sh", "-c", "qemu-img convert -O raw " + (root_ / "images/scratch.qcow2").string() + " " +
                                           (root_ / "s.raw").string() + " && e2label " + (root_ / "s.raw").string()}, "label");
  ASSERT_TRUE(label) << label.error().message();
  EXPECT_EQ(*label, "containerfs\n");

  auto refused = ds_->deleteDisk("images/layer1.qcow2");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Errc::kConflict);
  EXPECT_EQ(refused.error().message(), "disk images/layer1.qcow2 is the parent of containers/c1/rw.qcow2");
  ASSERT_TRUE(ds_->deleteDisk("containers/c1/rw.qcow2"));
  ASSERT_TRUE(ds_->deleteDisk("images/layer1.qcow2"));
  EXPECT_EQ(ds_->deleteDisk("images/layer1.qcow2").error().code(), Errc::kNotFound);
}

// Inode tables left for the kernel to zero (lazy_itable_init) would be zeroed again by every
// containerVM that mounts the disk: a kernel thread writing ~128 MiB per 8 GiB on its one vCPU.
TEST_F(DatastoreTest, Ext4DisksComeWithTheirInodeTablesZeroed) {
  ASSERT_TRUE(ds_->createDisk("images/scratch.qcow2", 512 << 20, "containerfs"));
  std::string raw = (root_ / "s.raw").string();
  auto groups = runChecked({"sh", "-c", "qemu-img convert -O raw " + (root_ / "images/scratch.qcow2").string() + " " + raw +
                                            " && dumpe2fs " + raw + " 2>/dev/null | grep '^Group [0-9]'"}, "dumpe2fs");
  ASSERT_TRUE(groups) << groups.error().message();
  size_t lines = 0, zeroed = 0;
  for (size_t at = 0; (at = groups->find("Group ", at)) != std::string::npos; ++at) {
    ++lines;
    size_t end = groups->find('\n', at);
    if (groups->substr(at, end - at).find("ITABLE_ZEROED") != std::string::npos) ++zeroed;
  }
  EXPECT_EQ(lines, 4u) << *groups;  // 512 MiB: four groups of 128 MiB
  EXPECT_EQ(zeroed, lines) << *groups;
}

TEST_F(DatastoreTest, ResizeAndBadInput) {
  ASSERT_TRUE(ds_->createDisk("v.qcow2", 8 << 20));
  ASSERT_TRUE(ds_->resize("v.qcow2", 16 << 20));
  EXPECT_EQ(ds_->info("v.qcow2")->virtualSize, uint64_t{16} << 20);
  EXPECT_EQ(ds_->createDisk("v.qcow2", 8 << 20).error().code(), Errc::kConflict);
  EXPECT_EQ(ds_->createDisk("tiny.qcow2", 1000).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(ds_->createChild("c.qcow2", "missing.qcow2").error().code(), Errc::kNotFound);
  EXPECT_FALSE(ds_->createChild("../c.qcow2", "v.qcow2"));
}

TEST(Qcow2Header, BackingFileName) {
  std::string h(512, '\0');
  h.replace(0, 4, "QFI\xfb");
  EXPECT_EQ(*qcow2BackingFile(h), "");
  h[15] = static_cast<char>(200);  // offset 200
  h[19] = 5;                       // length 5
  h.replace(200, 5, "a.img");
  EXPECT_EQ(*qcow2BackingFile(h), "a.img");
  EXPECT_FALSE(qcow2BackingFile("not qcow2"));
  h[19] = static_cast<char>(0xff);
  h[18] = 0x7f;  // absurd length
  EXPECT_FALSE(qcow2BackingFile(h));
}

}  // namespace
}  // namespace vic::hv
