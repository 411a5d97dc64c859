// The image store against a real registry: every fixture image is pulled into qcow2 layer
// chains, and the top layer's disk (mounted read-only through qemu-storage-daemon + fuse2fs)
// must hold exactly the tree that applying the same layers to a plain directory gives.
// Failed and killed pulls must leave the datastore as it was.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/files.h"
#include "common/process.h"
#include "hypervisor/disk_mount.h"
#include "images/image_loader.h"
#include "images/layer_apply.h"
#include "images/puller.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;

// "path type mode uid gid size content-or-target" for every entry under root.
std::set<std::string> describeTree(const std::string& root) {
  std::set<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    if (rel == "lost+found" || rel.rfind("lost+found/", 0) == 0) continue;
    struct stat st{};
    ::lstat(it->path().c_str(), &st);
    std::string what = S_ISLNK(st.st_mode) ? fs::read_symlink(it->path()).string()
                       : S_ISREG(st.st_mode) ? sha256Digest(readFile(it->path().string()))
                                              : "";
    out.insert(rel + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
               std::to_string(st.st_gid) + " " + std::to_string(S_ISDIR(st.st_mode) ? 0 : st.st_size) + " " + what);
  }
  return out;
}

// Every file in the datastore (what "leaves no trace" is checked against).
std::set<std::string> listing(const std::string& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) out.insert(fs::relative(e.path(), root).string());
  return out;
}

// Entries seen so far while a pull is writing: its FUSE export and loop mount come and go
// under the walk (EIO on a mount being torn down), so errors end the count instead of throwing.
size_t entriesWhileBusy(const std::string& root) {
  std::error_code ec;
  size_t n = 0;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

bool anyMountUnder(const std::string& dir) { return readFile("/proc/mounts").find(dir) != std::string::npos; }

class ImageStoreIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = "/var/tmp/vic-imagestore-it-" + std::to_string(::getpid());
    auto out = runChecked({VIC_REGISTRY_FIXTURES, "fill", dir_ + "/registry"}, "filling the fixture registry");
    ASSERT_TRUE(out) << out.error().message();
    std::ifstream(dir_ + "/registry/addr") >> addr_;
  }
  static void TearDownTestSuite() {
    (void)runProcess({VIC_REGISTRY_FIXTURES, "stop", dir_ + "/registry"});
    fs::remove_all(dir_);
  }
  void SetUp() override { store_ = open(ds()); }
  static std::string ds() { return dir_ + "/ds-" + ::testing::UnitTest::GetInstance()->current_test_info()->name(); }
  static std::unique_ptr<ImageStore> open(const std::string& root) {
    auto d = hv::Datastore::open(root);
    EXPECT_TRUE(d);
    LayerStoreOptions opts;
    opts.diskSize = 256 << 20;
    auto s = ImageStore::open(*d, opts);
    EXPECT_TRUE(s) << s.error().message();
    return std::move(*s);
  }
  Result<ImageRecord> pull(const std::string& repo, std::vector<std::string>* lines = nullptr, PullOptions opts = {}) {
    Puller puller(*store_, store_->downloadDir());
    return puller.pull(addr_ + "/" + repo, opts, [&](const std::string& l) {
      if (lines) lines->push_back(l);
    });
  }
  // The tree on the image's top disk.
  std::set<std::string> diskTree(const ImageRecord& img) {
    std::string disk = store_->layers().datastore().root() + "/" + store_->layers().diskOf(img.topLayer());
    auto m = hv::DiskMount::mount(disk, dir_ + "/mnt-" + img.id.substr(7, 12), false);
    EXPECT_TRUE(m) << m.error().message();
    if (!m) return {};
    auto tree = describeTree((*m)->root());
    EXPECT_TRUE((*m)->unmount());
    hv::cleanupMountDir(dir_ + "/mnt-" + img.id.substr(7, 12));
    return tree;
  }
  // The tree from applying the image's layers (fetched again) to a directory.
  std::set<std::string> expectedTree(const std::string& repo, const Platform& platform = {}) {
    auto ref = parseReference(addr_ + "/" + repo);
    RegistryClient c(*ref, {});
    auto m = c.manifest(ref->tag);
    auto parsed = parseManifest(m->body, m->contentType, repo);
    if (auto* idx = std::get_if<Index>(&*parsed)) {
      m = c.manifest(selectPlatform(*idx, platform)->digest);
      parsed = parseManifest(m->body, m->contentType, repo);
    }
    std::string root = dir_ + "/expected-" + ref->path;
    fs::create_directories(root);
    ::chmod(root.c_str(), 0755);
    for (const auto& l : std::get<Manifest>(*parsed).layers) {
      std::string f = dir_ + "/blob";
      EXPECT_TRUE(c.fetchBlob(l.digest, l.size, f));
      EXPECT_TRUE(applyLayer(f, root, true));
      fs::remove(f);
    }
    return describeTree(root);
  }
  static inline std::string dir_, addr_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImageStoreIT, EveryFixtureFlattensOnItsTopDiskFileByFile) {
  for (const char* repo : {"test/busybox:latest", "test/busybox:v2s2", "test/layers:latest", "test/deep:latest"}) {
    auto img = pull(repo);
    ASSERT_TRUE(img) << repo << ": " << img.error().message();
    EXPECT_EQ(diskTree(*img), expectedTree(repo)) << repo;
  }
  auto deep = store_->find(addr_ + "/test/deep");
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->diffIds.size(), 120u);
  auto info = hv::Datastore::open(ds())->info(store_->layers().diskOf(deep->topLayer()));
  ASSERT_TRUE(info) << info.error().message();  // qemu-img info --backing-chain opens it as it is
  EXPECT_LE(info->chain.size(), 25u);            // flattened every 24 layers, plus the scratch disk
}

TEST_F(ImageStoreIT, Fuse2fsWriterGivesTheSameTree) {  // the path without loop devices
  ::setenv("VIC_DISK_MOUNT", "fuse2fs", 1);
  auto img = pull("test/layers:latest");
  ::unsetenv("VIC_DISK_MOUNT");
  ASSERT_TRUE(img) << img.error().message();
  EXPECT_EQ(diskTree(*img), expectedTree("test/layers:latest"));
}

TEST_F(ImageStoreIT, IndexPlatformSelection) {
  PullOptions arm;
  arm.platform = *parsePlatform("linux/arm64");
  auto img = pull("test/multi:latest", nullptr, arm);
  ASSERT_TRUE(img) << img.error().message();
  EXPECT_EQ(diskTree(*img), expectedTree("test/multi:latest", arm.platform));
  EXPECT_EQ(img->repoDigests.size(), 1u);
}

TEST_F(ImageStoreIT, SecondPullDownloadsNothingAndImagesShareLayers) {
  ASSERT_TRUE(pull("test/busybox:latest"));
  std::vector<std::string> lines;
  auto again = pull("test/busybox:latest", &lines);
  ASSERT_TRUE(again);
  std::string all;
  for (const auto& l : lines) all += l;
  EXPECT_EQ(all.find("Downloading"), std::string::npos) << all;
  EXPECT_NE(all.find("Already exists"), std::string::npos);
  EXPECT_NE(all.find("Status: Image is up to date for " + addr_ + "/test/busybox:latest"), std::string::npos);
  lines.clear();
  auto layers = pull("test/layers:latest", &lines);  // shares busybox's bottom layer
  ASSERT_TRUE(layers);
  EXPECT_EQ(chainIds(layers->diffIds).front(), again->topLayer());
}

TEST_F(ImageStoreIT, CorruptBlobUnknownTagAndDownRegistryLeaveNoTrace) {
  ASSERT_TRUE(pull("test/busybox:latest"));
  auto before = listing(ds());
  std::vector<std::string> lines;
  auto bad = pull("test/corrupt:latest", &lines);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message().rfind("filesystem layer verification failed for digest sha256:", 0), 0u)
      << bad.error().message();
  EXPECT_EQ(listing(ds()), before);
  auto unknown = pull("test/busybox:nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(), "manifest for " + addr_ + "/test/busybox:nope not found: manifest unknown");
  Puller puller(*store_, store_->downloadDir());
  auto down = puller.pull("127.0.0.1:1/test/busybox", {}, {});
  ASSERT_FALSE(down);
  EXPECT_EQ(listing(ds()), before);
  EXPECT_FALSE(store_->find(addr_ + "/test/corrupt"));
}

TEST_F(ImageStoreIT, KilledPullLeavesNoTraceAfterReopen) {
  ASSERT_TRUE(pull("test/busybox:latest"));
  store_.reset();
  auto before = listing(ds());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  if (child == 0) {  // a pull killed while it writes layers; says "L" once 8 layers are in
    ::close(fds[0]);
    auto s = open(ds());
    Puller puller(*s, s->downloadDir());
    int complete = 0;
    auto r = puller.pull(addr_ + "/test/deep", {}, [&](const std::string& l) {
      if (l.find("Pull complete") != std::string::npos && ++complete == 8) (void)!::write(fds[1], "L", 1);
    });
    std::string why = r ? "the pull finished before it was killed" : "the pull failed: " + r.error().message();
    (void)!::write(fds[1], why.data(), why.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  char first = 0;
  ASSERT_EQ(::read(fds[0], &first, 1), 1) << "the pulling child died";
  if (first != 'L') {
    std::string rest(512, '\0');
    rest.resize(std::max<ssize_t>(0, ::read(fds[0], rest.data(), rest.size())));
    ::waitpid(child, nullptr, 0);
    FAIL() << first << rest;
  }
  // Layers are in; wait (briefly) for the next layer's mount so the kill lands mid-write.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!anyMountUnder(ds()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(fds[0]);
  EXPECT_GT(entriesWhileBusy(ds()), before.size()) << "the killed pull had written nothing";
  store_ = open(ds());
  EXPECT_FALSE(anyMountUnder(ds()));
  EXPECT_EQ(listing(ds()), before);
  EXPECT_TRUE(store_->find(addr_ + "/test/busybox"));
}

TEST_F(ImageStoreIT, BasicAuthRegistryNeedsTheRightCredentials) {
  std::string authAddr;
  std::ifstream(dir_ + "/registry/authaddr") >> authAddr;
  Puller puller(*store_, store_->downloadDir());
  auto before = listing(ds());
  PullOptions opts;
  auto anonymous = puller.pull(authAddr + "/test/busybox", opts, {});
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().message(), "no basic auth credentials");  // docker's words
  opts.registry.creds = {"vic", "wrong", ""};
  auto wrong = puller.pull(authAddr + "/test/busybox", opts, {});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("authentication required"), std::string::npos) << wrong.error().message();
  EXPECT_EQ(listing(ds()), before);
  opts.registry.creds = {"vic", "vic-secret", ""};
  auto img = puller.pull(authAddr + "/test/busybox", opts, {});
  ASSERT_TRUE(img) << img.error().message();
  EXPECT_EQ(img->repoTags, std::vector<std::string>{authAddr + "/test/busybox:latest"});
}

TEST_F(ImageStoreIT, LoadsADockerSaveTarball) {
  std::string tarball = dir_ + "/layers-save.tar";
  auto saved = runChecked({"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + addr_ + "/test/layers:latest",
                           "docker-archive:" + tarball + ":saved/layers:1"}, "skopeo copy to a docker archive");
  ASSERT_TRUE(saved) << saved.error().message();
  std::string out;
  auto ids = loadImages(*store_, tarball, [&](const std::string& l) { out += l; });
  ASSERT_TRUE(ids) << ids.error().message();
  EXPECT_EQ(out, "{\"stream\":\"Loaded image: saved/layers:1\\n\"}\r\n");
  auto img = store_->find("saved/layers:1");
  ASSERT_TRUE(img);
  EXPECT_EQ(diskTree(*img), expectedTree("test/layers:latest"));
  auto before = listing(ds());
  std::ofstream(dir_ + "/junk.tar") << "not a tarball";
  EXPECT_FALSE(loadImages(*store_, dir_ + "/junk.tar", [](const std::string&) {}));
  EXPECT_EQ(listing(ds()), before);
}

}  // namespace
}  // namespace vic::images
