// imagec against a real registry (Debian's docker-registry with the project's fixtures):
// manifests, indexes, blobs with verified digests, layers applied with whiteouts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "images/layer_apply.h"
#include "images/manifest.h"
#include "images/registry_client.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;

class ImagecIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = "/var/tmp/vic-imagec-it-" + std::to_string(::getpid());
    auto out = runChecked({VIC_REGISTRY_FIXTURES, "fill", dir_}, "filling the fixture registry");
    ASSERT_TRUE(out) << out.error().message();
    std::ifstream(dir_ + "/addr") >> addr_;
  }
  static void TearDownTestSuite() {
    (void)runProcess({VIC_REGISTRY_FIXTURES, "stop", dir_});
    fs::remove_all(dir_);
  }
  RegistryClient client(const std::string& repo) { return RegistryClient(*parseReference(addr_ + "/" + repo), {}); }

  // Resolves ref (index -> platform), downloads every layer and applies it to `root`.
  void pull(const std::string& repo, const std::string& tag, const std::string& root, Platform want = {}) {
    auto c = client(repo);
    auto m = c.manifest(tag);
    ASSERT_TRUE(m) << m.error().message();
    auto parsed = parseManifest(m->body, m->contentType, repo);
    ASSERT_TRUE(parsed) << parsed.error().message();
    if (auto* idx = std::get_if<Index>(&*parsed)) {
      auto d = selectPlatform(*idx, want);
      ASSERT_TRUE(d) << d.error().message();
      m = c.manifest(d->digest);
      ASSERT_TRUE(m);
      parsed = parseManifest(m->body, m->contentType, repo);
      ASSERT_TRUE(parsed);
    }
    auto& man = std::get<Manifest>(*parsed);
    auto config = c.fetchBlobBytes(man.config.digest);
    ASSERT_TRUE(config) << config.error().message();
    fs::create_directories(root);
    for (const auto& l : man.layers) {
      std::string file = dir_ + "/" + l.digest.substr(7);
      auto st = c.fetchBlob(l.digest, l.size, file);
      ASSERT_TRUE(st) << st.error().message();
      auto applied = applyLayer(file, root, ::geteuid() == 0);
      ASSERT_TRUE(applied) << applied.error().message();
    }
  }
  static std::string read(const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static inline std::string dir_, addr_;
};

TEST_F(ImagecIT, OneLayerBusyboxOciAndSchema2) {
  for (const char* tag : {"latest", "v2s2"}) {
    std::string root = dir_ + "/root-busybox-" + tag;
    pull("test/busybox", tag, root);
    EXPECT_TRUE(fs::exists(root + "/bin/busybox")) << tag;
    EXPECT_EQ(fs::read_symlink(root + "/bin/sh"), "busybox") << tag;
    EXPECT_EQ(read(root + "/etc/motd"), "welcome\n");
  }
}

TEST_F(ImagecIT, LayersFlattenWithWhiteoutsOpaqueDirsAndLinks) {
  std::string root = dir_ + "/root-layers";
  pull("test/layers", "latest", root);
  EXPECT_FALSE(fs::exists(root + "/bin/cat"));
  EXPECT_FALSE(fs::exists(root + "/data/gone"));
  EXPECT_FALSE(fs::exists(root + "/data/keep/a"));     // under the opaque dir of the last layer
  EXPECT_EQ(read(root + "/data/keep/b"), "two\n");
  EXPECT_EQ(read(root + "/data/replaced/new"), "new\n");
  EXPECT_FALSE(fs::exists(root + "/data/replaced/old"));
  EXPECT_EQ(read(root + "/data/hardlink"), "shared\n");
  EXPECT_EQ(fs::read_symlink(root + "/data/symlink"), "keep/a");
}

TEST_F(ImagecIT, IndexPicksThePlatform) {
  std::string arm = dir_ + "/root-arm64";
  pull("test/multi", "latest", arm, *parsePlatform("linux/arm64"));
  EXPECT_EQ(read(arm + "/arch"), "arm64\n");
  std::string amd = dir_ + "/root-amd64";
  pull("test/multi", "latest", amd);
  EXPECT_FALSE(fs::exists(amd + "/arch"));
}

TEST_F(ImagecIT, DeepImageHas120Layers) {
  auto c = client("test/deep");
  auto m = c.manifest("latest");
  ASSERT_TRUE(m);
  auto parsed = parseManifest(m->body, m->contentType, "deep");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(std::get<Manifest>(*parsed).layers.size(), 120u);
}

TEST_F(ImagecIT, CorruptBlobUnknownTagAndRegistryDown) {
  auto c = client("test/corrupt");
  auto m = c.manifest("latest");
  ASSERT_TRUE(m);
  auto parsed = parseManifest(m->body, m->contentType, "corrupt");
  ASSERT_TRUE(parsed);
  auto& man = std::get<Manifest>(*parsed);
  std::string bad = man.layers.back().digest;
  std::string file = dir_ + "/corrupt-layer";
  auto st = c.fetchBlob(bad, man.layers.back().size, file);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "filesystem layer verification failed for digest " + bad);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(fs::exists(file + ".partial"));

  auto missing = client("test/busybox").manifest("nosuchtag");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_NE(missing.error().message().find("manifest for " + addr_ + "/test/busybox:nosuchtag not found"), std::string::npos)
      << missing.error().message();

  auto down = RegistryClient(*parseReference("127.0.0.1:1/test/busybox"), {}).manifest("latest");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), Errc::kUnavailable);
  EXPECT_NE(down.error().message().find("Get \"http://127.0.0.1:1/v2/test/busybox/manifests/latest\""), std::string::npos)
      << down.error().message();
}

}  // namespace
}  // namespace vic::images
