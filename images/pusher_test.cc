// docker push's pure parts (the schema 2 manifest, which tags a name pushes, mount sources,
// deterministic gzip, progress lines: golden) and the Pusher end to end against FakeRegistry
// keeping what is pushed.
#include "images/pusher.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "common/testing/temp_dir.h"
#include "images/fake_registry.h"
#include "images/layer_gzip.h"
#include "images/progress.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;

std::string digestOf(char c) { return "sha256:" + std::string(64, c); }

TEST(Schema2Manifest, AsDistributionWritesIt) {
  Descriptor config{std::string(kDockerConfig), digestOf('c'), 1469, false, {}};
  Descriptor l1{std::string(kDockerLayerGzip), digestOf('1'), 2811969, false, {}};
  Descriptor l2{std::string(kDockerLayerGzip), digestOf('2'), 32, false, {}};
  EXPECT_EQ(schema2Manifest(config, {l1, l2}),
            "{\n"
            "   \"schemaVersion\": 2,\n"
            "   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
            "   \"config\": {\n"
            "      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
            "      \"size\": 1469,\n"
            "      \"digest\": \"" + digestOf('c') + "\"\n"
            "   },\n"
            "   \"layers\": [\n"
            "      {\n"
            "         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
            "         \"size\": 2811969,\n"
            "         \"digest\": \"" + digestOf('1') + "\"\n"
            "      },\n"
            "      {\n"
            "         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
            "         \"size\": 32,\n"
            "         \"digest\": \"" + digestOf('2') + "\"\n"
            "      }\n"
            "   ]\n"
            "}");
  std::string empty = schema2Manifest(config, {});
  EXPECT_NE(empty.find("\"layers\": []\n}"), std::string::npos) << empty;
  auto parsed = parseManifest(schema2Manifest(config, {l1, l2}), "", "x");  // our own reader takes it
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(std::get<Manifest>(*parsed).layers.size(), 2u);
}

TEST(PushTargets, EveryTagOrTheOneNamedWithDockersErrors) {
  ImageRecord a, b, c;
  a.id = digestOf('a');
  a.repoTags = {"127.0.0.1:5000/x:v2", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/y:latest"};
  b.id = digestOf('b');
  b.repoTags = {"127.0.0.1:5000/x:old", "docker.io/library/busybox:latest"};
  c.id = digestOf('c');
  std::vector<ImageRecord> images{a, b, c};
  auto ref = *parseReference("127.0.0.1:5000/x");
  ref.tag.clear();
  auto all = pushTargets(ref, images);
  ASSERT_TRUE(all) << all.error().message();
  std::vector<std::string> tags;
  for (const auto& t : *all) tags.push_back(t.first + "=" + t.second.id.substr(7, 1));
  EXPECT_EQ(tags, (std::vector<std::string>{"latest=a", "old=b", "v2=a"}));

  auto one = pushTargets(*parseReference("127.0.0.1:5000/x:old"), images);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].second.id, b.id);

  auto noTag = pushTargets(*parseReference("127.0.0.1:5000/x:nosuch"), images);
  ASSERT_FALSE(noTag);
  EXPECT_EQ(noTag.error().message(), "tag does not exist: 127.0.0.1:5000/x:nosuch");
  auto noRepo = pushTargets(*parseReference("nosuch/thing:1"), images);
  ASSERT_FALSE(noRepo);
  EXPECT_EQ(noRepo.error().message(), "An image does not exist locally with the tag: nosuch/thing");
  auto hub = pushTargets(*parseReference("alpine"), images);
  EXPECT_EQ(hub.error().message(), "An image does not exist locally with the tag: alpine");
}

TEST(MountCandidates, OtherRepositoriesOfTheSameRegistryHoldingTheLayer) {
  std::vector<std::string> diffs{digestOf('1'), digestOf('2')};
  auto chains = chainIds(diffs);
  ImageRecord base, top, elsewhere;
  base.diffIds = {diffs[0]};
  base.repoDigests = {"127.0.0.1:5000/test/busybox@" + digestOf('d'), "127.0.0.1:5000/target@" + digestOf('e')};
  top.diffIds = diffs;
  top.repoDigests = {"127.0.0.1:5000/test/top@" + digestOf('f')};
  elsewhere.diffIds = {diffs[0]};
  elsewhere.repoDigests = {"docker.io/library/busybox@" + digestOf('g')};
  auto target = *parseReference("127.0.0.1:5000/target");
  std::vector<ImageRecord> images{base, top, elsewhere};
  EXPECT_EQ(mountCandidates(target, chains[0], images), (std::vector<std::string>{"test/top", "test/busybox"}));
  EXPECT_EQ(mountCandidates(target, chains[1], images), std::vector<std::string>{"test/top"});
  EXPECT_EQ(mountCandidates(target, chains[0], images, 1), std::vector<std::string>{"test/top"});
  EXPECT_TRUE(mountCandidates(*parseReference("127.0.0.1:6000/target"), chains[0], images).empty());
}

TEST(PushProgress, GoldenLines) {
  EXPECT_EQ(progressAction("Preparing", "6602617241c3"),
            "{\"id\":\"6602617241c3\",\"progressDetail\":{},\"status\":\"Preparing\"}\r\n");
  EXPECT_EQ(progressAction("Mounted from test/busybox", "6602617241c3"),
            "{\"id\":\"6602617241c3\",\"progressDetail\":{},\"status\":\"Mounted from test/busybox\"}\r\n");
  EXPECT_EQ(progressPushAux("latest", digestOf('a'), 527),
            "{\"aux\":{\"Digest\":\"" + digestOf('a') + "\",\"Size\":527,\"Tag\":\"latest\"},\"progressDetail\":{}}\r\n");
}

TEST(GzipLayer, DeterministicAndAGzipBlobIsUsedAsItIs) {
  vic::testing::TempDir dir("vic-gzip");
  std::string tar(100000, '\0');
  for (size_t i = 0; i < tar.size(); i += 7) tar[i] = static_cast<char>('a' + i % 13);
  std::string plain = dir.str() + "/layer.tar";
  std::ofstream(plain, std::ios::binary) << tar;
  auto one = gzipLayer(plain, sha256Digest(tar), dir.str() + "/work");
  ASSERT_TRUE(one) << one.error().message();
  auto two = gzipLayer(plain, sha256Digest(tar), dir.str() + "/work");
  ASSERT_TRUE(two);
  EXPECT_TRUE(one->temporary);
  EXPECT_NE(one->path, two->path);
  EXPECT_EQ(one->digest, two->digest);  // the same tar, the same blob
  std::string gz = readFile(one->path);
  EXPECT_EQ(one->digest, sha256Digest(gz));
  EXPECT_EQ(one->size, gz.size());
  EXPECT_EQ(gz, gzipBytes(tar));
  EXPECT_EQ(gz.substr(0, 10), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10));  // no name, mtime 0
  EXPECT_TRUE(isGzipFile(one->path));

  auto same = gzipLayer(one->path, sha256Digest(tar), dir.str() + "/work");  // as pulled: kept as it is
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->temporary);
  EXPECT_EQ(same->path, one->path);
  EXPECT_EQ(same->digest, one->digest);

  auto wrong = gzipLayer(plain, digestOf('0'), dir.str() + "/work");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message().find("no longer matches it"), std::string::npos) << wrong.error().message();
  EXPECT_EQ(dirEntries(dir.str() + "/work").size(), 2u);  // the refused one is gone
}

// A store whose layers are planted as files: the disk is a stand-in (the pusher reads only the
// kept tar), so the Pusher runs without writing qcow2 layers.
class PusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reg_.acceptPushes();
    auto ds = hv::Datastore::open(dir_.str());
    ASSERT_TRUE(ds);
    LayerStoreOptions opts;
    opts.diskSize = 16 << 20;
    auto s = ImageStore::open(*ds, opts);
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }
  // An image of layers holding `tars` (kept gzip-compressed when `gzipped`), tagged `tag`.
  ImageRecord image(const std::vector<std::string>& tars, const std::string& tag, bool gzipped = false) {
    ImageRecord r;
    for (const auto& t : tars) r.diffIds.push_back(sha256Digest(t));
    auto chains = chainIds(r.diffIds);
    std::string layers = dir_.str() + "/images/layers/";
    for (size_t i = 0; i < tars.size(); ++i) {
      std::string hex = hexOf(chains[i]);
      std::ofstream(layers + hex + ".qcow2") << "";
      std::ofstream(layers + hex + ".json") << "{}";
      std::ofstream(layers + hex + ".blob", std::ios::binary) << (gzipped ? gzipBytes(tars[i]) : tars[i]);
    }
    std::string diffs;
    for (const auto& d : r.diffIds) diffs += (diffs.empty() ? "\"" : ",\"") + d + "\"";
    std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[)" + diffs + "]}," +
                         R"("tag":")" + tag + "\"}";
    r.id = sha256Digest(config);
    EXPECT_TRUE(store_->commit(r, config, tag, ""));
    return *store_->find(r.id);
  }
  struct Pushed {
    Result<std::vector<PushedTag>> result;
    std::vector<std::string> lines;
  };
  Pushed push(const std::string& name, int parallel = 1) {
    PushOptions opts;
    opts.parallel = parallel;
    std::vector<std::string> lines;
    Pusher pusher(*store_, store_->downloadDir());
    auto r = pusher.push(name, opts, [&](const std::string& l) { lines.push_back(l); });
    return {std::move(r), std::move(lines)};
  }
  // The lines without byte progress (their count depends on chunk sizes).
  static std::vector<std::string> statuses(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) {
      if (l.find("\"Pushing\"") == std::string::npos) out.push_back(l);
    }
    return out;
  }
  vic::testing::TempDir dir_{"vic-pusher"};
  FakeRegistry reg_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(PusherTest, PushesLayersConfigAndManifestWithDockerdsProgress) {
  std::string bottom(5000, 'b'), top(3000, 't');
  auto img = image({bottom, top}, reg_.host() + "/test/app:latest");
  std::string repo = reg_.host() + "/test/app";
  auto p = push(repo + ":latest");
  ASSERT_TRUE(p.result) << p.result.error().message();
  ASSERT_EQ(p.result->size(), 1u);
  const PushedTag& t = (*p.result)[0];
  auto man = reg_.manifest("test/app", "latest");
  ASSERT_TRUE(man);
  EXPECT_EQ(man->contentType, "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(t.digest, sha256Digest(man->body));
  EXPECT_EQ(t.size, man->body.size());
  std::string config = *store_->config(img.id);
  Descriptor c{std::string(kDockerConfig), img.id, static_cast<int64_t>(config.size()), false, {}};
  std::string gb = gzipBytes(bottom), gt = gzipBytes(top);
  Descriptor lb{std::string(kDockerLayerGzip), sha256Digest(gb), static_cast<int64_t>(gb.size()), false, {}};
  Descriptor lt{std::string(kDockerLayerGzip), sha256Digest(gt), static_cast<int64_t>(gt.size()), false, {}};
  EXPECT_EQ(man->body, schema2Manifest(c, {lb, lt}));
  EXPECT_EQ(reg_.blob("test/app", img.id), config);  // the config as stored: its digest is the image id
  EXPECT_EQ(reg_.blob("test/app", lb.digest), gb);

  std::string idTop = img.diffIds[1].substr(7, 12), idBottom = img.diffIds[0].substr(7, 12);
  EXPECT_EQ(statuses(p.lines), (std::vector<std::string>{
                                   progressStatus("The push refers to repository [" + repo + "]"),
                                   progressAction("Preparing", idTop),
                                   progressAction("Preparing", idBottom),
                                   progressAction("Waiting", idBottom),
                                   progressAction("Pushed", idTop),
                                   progressAction("Pushed", idBottom),
                                   progressStatus("latest: digest: " + t.digest + " size: " + std::to_string(t.size)),
                                   progressPushAux("latest", t.digest, t.size),
                               }));
  EXPECT_NE(std::find(p.lines.begin(), p.lines.end(), progressBytes("Pushing", idTop, gt.size(), gt.size())), p.lines.end());
  EXPECT_EQ(store_->find(img.id)->repoDigests, std::vector<std::string>{repo + "@" + t.digest});  // docker's digest reference
  EXPECT_TRUE(dirEntries(store_->downloadDir()).empty());  // the compressed layers are gone

  auto again = push(repo + ":latest");  // everything is there now
  ASSERT_TRUE(again.result);
  EXPECT_EQ((*again.result)[0].digest, t.digest);
  auto lines = statuses(again.lines);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[4], progressAction("Layer already exists", idTop));
  EXPECT_EQ(lines[5], progressAction("Layer already exists", idBottom));
}

TEST_F(PusherTest, ANameWithoutATagPushesEveryTagAndShareBlobsOnce) {
  auto one = image({"shared", "one"}, reg_.host() + "/test/tags:one", true);
  auto two = image({"shared", "two"}, reg_.host() + "/test/tags:two", true);
  auto p = push(reg_.host() + "/test/tags", 3);
  ASSERT_TRUE(p.result) << p.result.error().message();
  ASSERT_EQ(p.result->size(), 2u);
  EXPECT_EQ((*p.result)[0].tag, "one");
  EXPECT_EQ((*p.result)[1].tag, "two");
  EXPECT_TRUE(reg_.manifest("test/tags", "one"));
  EXPECT_TRUE(reg_.manifest("test/tags", "two"));
  EXPECT_EQ(reg_.blob("test/tags", sha256Digest(gzipBytes("shared"))), gzipBytes("shared"));  // a kept gzip goes as it is
  size_t exists = 0;
  for (const auto& l : p.lines) exists += l.find("Layer already exists") != std::string::npos;
  EXPECT_EQ(exists, 1u);  // the shared layer, for the second tag
  size_t uploads = 0;
  for (const auto& r : reg_.requests()) uploads += r.method == "POST";
  EXPECT_EQ(uploads, 5u);  // three layers and two configs
}

TEST_F(PusherTest, MountsALayerFromTheRepositoryItCameFrom) {
  auto img = image({"base"}, reg_.host() + "/test/mine:latest", true);
  ASSERT_TRUE(store_->addRepoDigest(img.id, reg_.host() + "/test/base@" + digestOf('f')));  // as a pull records it
  reg_.addBlob("test/base", gzipBytes("base"));
  auto p = push(reg_.host() + "/test/mine:latest");
  ASSERT_TRUE(p.result) << p.result.error().message();
  auto lines = statuses(p.lines);
  EXPECT_EQ(lines[2], progressAction("Mounted from test/base", img.diffIds[0].substr(7, 12)));
  EXPECT_TRUE(reg_.blob("test/mine", sha256Digest(gzipBytes("base"))));
}

TEST_F(PusherTest, DockersErrorsAndAStoreLeftAsItWas) {
  image({"l"}, reg_.host() + "/test/e:latest");
  auto index = readFile(dir_.str() + "/images/index.json");
  auto missing = push(reg_.host() + "/test/nothing:latest");
  ASSERT_FALSE(missing.result);
  EXPECT_EQ(missing.result.error().message(), "An image does not exist locally with the tag: " + reg_.host() + "/test/nothing");
  ASSERT_EQ(missing.lines.size(), 1u);  // the repository line came first, as in dockerd
  auto tag = push(reg_.host() + "/test/e:v9");
  EXPECT_EQ(tag.result.error().message(), "tag does not exist: " + reg_.host() + "/test/e:v9");
  EXPECT_EQ(push(reg_.host() + "/test/e@" + digestOf('a')).result.error().message(), "cannot push a digest reference");

  ASSERT_TRUE(store_->tag(reg_.host() + "/test/e:latest", "127.0.0.1:1/test/e:latest"));
  index = readFile(dir_.str() + "/images/index.json");
  auto down = push("127.0.0.1:1/test/e:latest");
  ASSERT_FALSE(down.result);
  EXPECT_NE(down.result.error().message().find("\"http://127.0.0.1:1/v2/test/e/blobs/sha256:"), std::string::npos)
      << down.result.error().message();
  EXPECT_NE(down.result.error().message().find("Couldn't connect to server"), std::string::npos);
  EXPECT_EQ(readFile(dir_.str() + "/images/index.json"), index);
  EXPECT_TRUE(dirEntries(store_->downloadDir()).empty());

  reg_.set("/v2/test/e/manifests/latest", {400, {}, R"({"errors":[{"code":"MANIFEST_INVALID","message":"bad","detail":1}]})"});
  auto refused = push(reg_.host() + "/test/e:latest");
  ASSERT_FALSE(refused.result);
  EXPECT_EQ(refused.result.error().message(), "manifest invalid: bad");
  EXPECT_EQ(readFile(dir_.str() + "/images/index.json"), index);  // no repo digest for a refused manifest
}

}  // namespace
}  // namespace vic::images
