// Pulls from a hostile registry (images/fake_registry: canned answers on loopback) into a
// real image store (qcow2 layers written through the host's mounts): wrong types, oversized
// answers, a file:// token realm, a layer past its declared size after a good layer was
// written. Each pull must fail with a message saying why and leave the datastore as it was.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/files.h"
#include "common/process.h"
#include "images/fake_registry.h"
#include "images/puller.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;

std::set<std::string> listing(const std::string& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) out.insert(fs::relative(e.path(), root).string());
  return out;
}

std::string descriptor(std::string_view mediaType, const std::string& body, int64_t size) {
  return R"({"mediaType":")" + std::string(mediaType) + R"(","digest":")" + sha256Digest(body) + R"(","size":)" +
         std::to_string(size) + "}";
}

class HostileRegistryIT : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/var/tmp/vic-hostile-it-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_ + "/ds");
    auto d = hv::Datastore::open(dir_ + "/ds");
    ASSERT_TRUE(d) << d.error().message();
    LayerStoreOptions opts;
    opts.diskSize = 64 << 20;
    auto s = ImageStore::open(*d, opts);
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
    before_ = listing(dir_ + "/ds");
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  // A one-file layer tar (uncompressed: its digest is its diff id).
  std::string layerTar(const std::string& name) {
    std::string src = dir_ + "/src-" + name;
    fs::create_directories(src);
    std::ofstream(src + "/" + name) << "layer " << name << "\n";
    auto out = runChecked({"tar", "-C", src, "--owner=0", "--group=0", "-cf", src + ".tar", name}, "making a layer");
    EXPECT_TRUE(out) << out.error().message();
    return readFile(src + ".tar");
  }
  void serveManifest(const std::string& body) {
    reg_.set("/v2/test/x/manifests/latest", {200, {{"Content-Type", std::string(kOciManifest)}}, body});
  }
  Result<ImageRecord> pull() {
    Puller puller(*store_, store_->downloadDir());
    return puller.pull(reg_.host() + "/test/x", {}, [](const std::string&) {});
  }
  void expectNothingLeft() {
    EXPECT_EQ(listing(dir_ + "/ds"), before_);
    EXPECT_TRUE(store_->list().empty());
    EXPECT_TRUE(store_->layers().list().empty());
  }

  FakeRegistry reg_;
  std::string dir_;
  std::unique_ptr<ImageStore> store_;
  std::set<std::string> before_;
};

TEST_F(HostileRegistryIT, AWrongTypedManifestFailsThePull) {
  serveManifest(R"({"schemaVersion":"2","config":{},"layers":[]})");
  auto r = pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "malformed manifest for " + reg_.host() + "/test/x:latest: schemaVersion must be an integer, not a string");
  expectNothingLeft();
}

TEST_F(HostileRegistryIT, AManifestOver4MiBFailsThePull) {
  serveManifest(std::string(kMaxManifestBytes + 100, '{'));
  auto r = pull();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("the registry's answer is larger than 4194304 bytes"), std::string::npos)
      << r.error().message();
  expectNothingLeft();
}

TEST_F(HostileRegistryIT, AFileRealmFailsThePull) {
  reg_.set("/v2/test/x/manifests/latest", {401, {{"WWW-Authenticate", R"(Bearer realm="file:///etc/shadow")"}}, ""});
  auto r = pull();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("is not a usable URL: only http and https are allowed"), std::string::npos)
      << r.error().message();
  expectNothingLeft();
}

TEST_F(HostileRegistryIT, ALayerPastItsDeclaredSizeUndoesTheLayersBeforeIt) {
  std::string one = layerTar("one"), two = layerTar("two");
  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
                       sha256Digest(one) + R"(",")" + sha256Digest(two) + R"("]}})";
  constexpr std::string_view kTar = "application/vnd.oci.image.layer.v1.tar";
  serveManifest(R"({"schemaVersion":2,"config":)" + descriptor("application/vnd.oci.image.config.v1+json", config,
                                                              static_cast<int64_t>(config.size())) +
                R"(,"layers":[)" + descriptor(kTar, one, static_cast<int64_t>(one.size())) + "," +
                descriptor(kTar, two, 512) + "]}");
  reg_.set("/v2/test/x/blobs/" + sha256Digest(config), {200, {}, config});
  reg_.set("/v2/test/x/blobs/" + sha256Digest(one), {200, {}, one});
  reg_.set("/v2/test/x/blobs/" + sha256Digest(two), {200, {}, two});
  PullOptions opts;
  opts.parallel = 1;  // layer one is written before layer two fails
  Puller puller(*store_, store_->downloadDir());
  std::vector<std::string> lines;
  auto r = puller.pull(reg_.host() + "/test/x", opts, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "blob " + sha256Digest(two) + " is larger than the 512 bytes its descriptor declares");
  bool wroteOne = false;
  for (const auto& l : lines) wroteOne |= l.find("Pull complete") != std::string::npos;
  EXPECT_TRUE(wroteOne) << "layer one should have been written before the failure";
  expectNothingLeft();

  // the same image with honest sizes pulls, so the failure above was the size alone
  serveManifest(R"({"schemaVersion":2,"config":)" + descriptor("application/vnd.oci.image.config.v1+json", config,
                                                              static_cast<int64_t>(config.size())) +
                R"(,"layers":[)" + descriptor(kTar, one, static_cast<int64_t>(one.size())) + "," +
                descriptor(kTar, two, static_cast<int64_t>(two.size())) + "]}");
  auto good = pull();
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(good->diffIds.size(), 2u);
}

}  // namespace
}  // namespace vic::images
