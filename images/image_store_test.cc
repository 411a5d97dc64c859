#include "images/image_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/testing/temp_dir.h"
#include "images/image_loader.h"
#include "images/manifest.h"
#include "images/puller.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;

TEST(ChainIds, FollowTheOciRule) {
  std::string a = sha256Digest("a"), b = sha256Digest("b"), c = sha256Digest("c");
  auto ids = chainIds({a, b, c});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], a);
  EXPECT_EQ(ids[1], sha256Digest(a + " " + b));
  EXPECT_EQ(ids[2], sha256Digest(ids[1] + " " + c));
  EXPECT_TRUE(chainIds({}).empty());
}

TEST(ImageConfig, DiffIdsAndCreated) {
  std::string d = sha256Digest("x");
  auto c = parseImageConfig(R"({"created":"2024-05-06T07:08:09.123Z","rootfs":{"type":"layers","diff_ids":[")" + d + R"("]}})");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->diffIds, std::vector<std::string>{d});
  EXPECT_EQ(c->created, 1714979289);
  EXPECT_FALSE(parseImageConfig(R"({"rootfs":{}})"));
  EXPECT_FALSE(parseImageConfig(R"({"rootfs":{"diff_ids":["md5:1"]}})"));
  EXPECT_FALSE(parseImageConfig("nope"));
  EXPECT_EQ(parseRfc3339("garbage"), 0);
}

TEST(SaveManifest, ParsesBothLayouts) {
  auto m = parseSaveManifest(R"([{"Config":"blobs/sha256/ab","RepoTags":["busybox:latest"],"Layers":["blobs/sha256/cd"]},
                                  {"Config":"ef.json","RepoTags":null,"Layers":["12/layer.tar"]}])");
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].repoTags, std::vector<std::string>{"busybox:latest"});
  EXPECT_TRUE((*m)[1].repoTags.empty());
  EXPECT_EQ((*m)[1].layers, std::vector<std::string>{"12/layer.tar"});
  EXPECT_FALSE(parseSaveManifest(R"({"Config":1})"));
  EXPECT_FALSE(parseSaveManifest(R"([{"Layers":[]}])"));
  struct Case {
    std::string text, message;
  } cases[] = {
      {R"([{"Config":7,"Layers":[]}])", "invalid manifest.json in the image archive: [0].Config must be a string, not an integer"},
      {R"([{"Config":"c","Layers":"l"}])", "invalid manifest.json in the image archive: [0].Layers must be an array, not a string"},
      {R"([{"Config":"c","Layers":[],"RepoTags":[1]}])",
       "invalid manifest.json in the image archive: [0].RepoTags[0] must be a string, not an integer"},
      {R"([{"Config":"c","Layers":[]},3])", "invalid manifest.json in the image archive: [1] must be an object, not an integer"},
      {std::string(100000, '[') + std::string(100000, ']'), "invalid manifest.json in the image archive"},
  };
  for (const auto& c : cases) {
    auto r = parseSaveManifest(c.text);
    ASSERT_FALSE(r) << c.text.substr(0, 100);
    EXPECT_EQ(r.error().message(), c.message);
  }
}

TEST(ImageIndex, RoundTripsAndGolden) {
  ImageRecord r;
  r.id = "sha256:" + std::string(64, 'a');
  r.repoTags = {"docker.io/library/busybox:latest"};
  r.diffIds = {"sha256:" + std::string(64, 'b')};
  r.created = 5;
  r.size = 7;
  std::map<std::string, ImageRecord> m{{r.id, r}};
  std::string text = encodeIndex(m);
  EXPECT_EQ(text, "{\n \"images\": {\n  \"sha256:" + std::string(64, 'a') +
                      "\": {\n   \"created\": 5,\n   \"diffIds\": [\n    \"sha256:" + std::string(64, 'b') +
                      "\"\n   ],\n   \"repoDigests\": [],\n   \"repoTags\": [\n    \"docker.io/library/busybox:latest\"\n   ],\n"
                      "   \"size\": 7\n  }\n },\n \"version\": 1\n}");
  auto back = decodeIndex(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->at(r.id).repoTags, r.repoTags);
  EXPECT_EQ(back->at(r.id).size, 7u);
  EXPECT_FALSE(decodeIndex("[]"));
}

// Images without layers exercise the naming rules without writing disks.
class ImageStoreNames : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open();
  }
  std::unique_ptr<ImageStore> open() {
    auto ds = hv::Datastore::open(dir_.string());
    EXPECT_TRUE(ds);
    LayerStoreOptions opts;
    opts.diskSize = 16 << 20;
    auto s = ImageStore::open(*ds, opts);
    EXPECT_TRUE(s) << s.error().message();
    return std::move(*s);
  }
  std::string add(const std::string& config, const std::string& tag) {
    ImageRecord r;
    r.id = sha256Digest(config);
    EXPECT_TRUE(store_->commit(r, config, tag, ""));
    return r.id;
  }
  vic::testing::TempDir temp_{"vic-imagestore"};
  fs::path dir_ = temp_.path();
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImageStoreNames, FindByNameIdAndPrefix) {
  std::string id = add("{\"a\":1}", "docker.io/library/busybox:latest");
  EXPECT_EQ(store_->find("busybox")->id, id);
  EXPECT_EQ(store_->find("busybox:latest")->id, id);
  EXPECT_EQ(store_->find("docker.io/library/busybox")->id, id);
  EXPECT_EQ(store_->find(id)->id, id);
  EXPECT_EQ(store_->find(id.substr(7, 12))->id, id);
  auto miss = store_->find("busybox:1");
  ASSERT_FALSE(miss);
  EXPECT_EQ(miss.error().code(), Errc::kNotFound);
  EXPECT_EQ(miss.error().message(), "No such image: busybox:1");
  EXPECT_TRUE(fs::exists(dir_ / "images/layers/scratch.qcow2"));
}

TEST_F(ImageStoreNames, TagMovesAndSurvivesReopen) {
  std::string one = add("{\"a\":1}", "docker.io/library/x:latest");
  std::string two = add("{\"a\":2}", "docker.io/library/x:latest");  // the tag moves
  EXPECT_EQ(store_->find("x")->id, two);
  EXPECT_TRUE(store_->find(one)->repoTags.empty());
  ASSERT_TRUE(store_->tag("x", "me/y:1"));
  store_ = open();
  EXPECT_EQ(store_->find("me/y:1")->id, two);
  EXPECT_EQ(store_->config(two).valueOr(""), "{\"a\":2}");
  EXPECT_FALSE(store_->tag("x", "Bad:Ref"));
}

TEST_F(ImageStoreNames, RemoveUntagsThenDeletesAndRespectsContainers) {
  std::string id = add("{\"a\":1}", "docker.io/library/x:latest");
  ASSERT_TRUE(store_->tag("x", "x:2"));
  auto byId = store_->remove(id, false, {});
  ASSERT_FALSE(byId);
  EXPECT_EQ(byId.error().code(), Errc::kConflict);
  auto untag = store_->remove("x:2", false, {});
  ASSERT_TRUE(untag) << untag.error().message();
  ASSERT_EQ(untag->size(), 1u);
  EXPECT_EQ((*untag)[0].untagged, "x:2");
  auto stopped = [](const std::string&) { return std::optional<ImageStore::User>({"c0ffee0000001234", false}); };
  auto running = [](const std::string&) { return std::optional<ImageStore::User>({"c0ffee0000001234", true}); };
  auto busy = store_->remove("x", false, stopped);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), Errc::kConflict);
  EXPECT_EQ(busy.error().message(), "conflict: unable to remove repository reference \"x\" (must force) - container c0ffee000000 is using its referenced image " + id.substr(7, 12));
  auto busyId = store_->remove(id, false, stopped);
  ASSERT_FALSE(busyId);
  EXPECT_EQ(busyId.error().message(), "conflict: unable to delete " + id.substr(7, 12) + " (must be forced) - image is being used by stopped container c0ffee000000");
  auto forcedRunning = store_->remove("x", true, running);
  ASSERT_FALSE(forcedRunning);
  EXPECT_EQ(forcedRunning.error().message(), "conflict: unable to delete " + id.substr(7, 12) + " (cannot be forced) - image is being used by running container c0ffee000000");
  auto gone = store_->remove("x", false, {});
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->back().deleted, id);
  EXPECT_FALSE(store_->find(id));
  EXPECT_FALSE(fs::exists(dir_ / ("images/configs/" + id.substr(7) + ".json")));
}

}  // namespace
}  // namespace vic::images
