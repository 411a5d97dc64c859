#include "images/manifest.h"

#include <gtest/gtest.h>

namespace vic::images {
namespace {

constexpr std::string_view kIndexJson = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaa","size":349,"platform":{"architecture":"amd64","os":"linux"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bbb","size":350,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:ccc","size":351,"platform":{"architecture":"arm","os":"linux"}}]})";

TEST(Manifest, ParsesOciManifestWithoutMediaTypeField) {
  auto r = parseManifest(R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c","size":3},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:l1","size":10}]})",
                         "application/vnd.oci.image.manifest.v1+json", "x");
  ASSERT_TRUE(r) << r.error().message();
  auto& m = std::get<Manifest>(*r);
  EXPECT_EQ(m.mediaType, kOciManifest);
  EXPECT_EQ(m.config.digest, "sha256:c");
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_TRUE(knownLayerType(m.layers[0].mediaType));
  EXPECT_FALSE(knownLayerType("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"));
}

TEST(Manifest, IndexAndPlatformSelection) {
  auto r = parseManifest(kIndexJson, "", "multi");
  ASSERT_TRUE(r);
  auto& idx = std::get<Index>(*r);
  ASSERT_EQ(idx.manifests.size(), 3u);
  EXPECT_EQ(selectPlatform(idx, {})->digest, "sha256:aaa");
  EXPECT_EQ(selectPlatform(idx, *parsePlatform("linux/arm64"))->digest, "sha256:bbb");   // v8 implied
  EXPECT_EQ(selectPlatform(idx, *parsePlatform("aarch64"))->digest, "sha256:bbb");
  EXPECT_EQ(selectPlatform(idx, *parsePlatform("linux/arm/v7"))->digest, "sha256:ccc");  // v7 implied in the entry
  auto none = selectPlatform(idx, *parsePlatform("linux/s390x"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "no matching manifest for linux/s390x in the manifest list entries");
  EXPECT_EQ(none.error().code(), Errc::kNotFound);
  EXPECT_FALSE(parsePlatform("linux//v8"));
  EXPECT_FALSE(parsePlatform("a/b/c/d"));
}

TEST(Manifest, DockerListAndSchema1) {
  auto list = parseManifest(R"({"schemaVersion":2,"manifests":[{"digest":"sha256:d","size":1}]})",
                            "application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8", "l");
  ASSERT_TRUE(list);
  EXPECT_EQ(std::get<Index>(*list).mediaType, kDockerList);
  EXPECT_EQ(selectPlatform(std::get<Index>(*list), {})->digest, "sha256:d");  // no platform: matches
  auto v1 = parseManifest(R"({"schemaVersion":1,"name":"old"})", "", "docker.io/library/old:1");
  ASSERT_FALSE(v1);
  EXPECT_NE(v1.error().message().find("schema 1, which is no longer supported"), std::string::npos);
  EXPECT_FALSE(parseManifest("[]", "", "x"));
  EXPECT_FALSE(parseManifest(R"({"schemaVersion":2,"layers":[]})", "", "x"));  // no config
}

TEST(Digest, Sha256OverExactBytes) {
  EXPECT_EQ(sha256Digest(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_NE(sha256Digest("{\"a\":1}"), sha256Digest("{\"a\": 1}"));
}

}  // namespace
}  // namespace vic::images
