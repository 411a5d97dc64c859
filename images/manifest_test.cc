#include "images/manifest.h"

#include <gtest/gtest.h>

namespace vic::images {
namespace {

constexpr std::string_view kIndexJson = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":349,"platform":{"architecture":"amd64","os":"linux"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","size":350,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","size":351,"platform":{"architecture":"arm","os":"linux"}}]})";

TEST(Manifest, ParsesOciManifestWithoutMediaTypeField) {
  auto r = parseManifest(R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","size":3},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":10}]})",
                         "application/vnd.oci.image.manifest.v1+json", "x");
  ASSERT_TRUE(r) << r.error().message();
  auto& m = std::get<Manifest>(*r);
  EXPECT_EQ(m.mediaType, kOciManifest);
  EXPECT_EQ(m.config.digest, "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
  ASSERT_EQ(m.layers.size(), 1u);
  EXPECT_TRUE(knownLayerType(m.layers[0].mediaType));
  EXPECT_FALSE(knownLayerType("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"));
}

TEST(Manifest, IndexAndPlatformSelection) {
  auto r = parseManifest(kIndexJson, "", "multi");
  ASSERT_TRUE(r);
  auto& idx = std::get<Index>(*r);
  ASSERT_EQ(idx.manifests.size(), 3u);
  EXPECT_EQ(selectPlatform(idx, {})->digest, "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  EXPECT_EQ(selectPlatform(idx, *parsePlatform("linux/arm64"))->digest, "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");   // v8 implied
  EXPECT_EQ(selectPlatform(idx, *parsePlatform("aarch64"))->digest, "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  EXPECT_EQ(selectPlatform(idx, *parsePlatform("linux/arm/v7"))->digest, "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");  // v7 implied in the entry
  auto none = selectPlatform(idx, *parsePlatform("linux/s390x"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "no matching manifest for linux/s390x in the manifest list entries");
  EXPECT_EQ(none.error().code(), Errc::kNotFound);
  EXPECT_FALSE(parsePlatform("linux//v8"));
  EXPECT_FALSE(parsePlatform("a/b/c/d"));
}

TEST(Manifest, DockerListAndSchema1) {
  auto list = parseManifest(R"({"schemaVersion":2,"manifests":[{"digest":"sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","size":1}]})",
                            "application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8", "l");
  ASSERT_TRUE(list);
  EXPECT_EQ(std::get<Index>(*list).mediaType, kDockerList);
  EXPECT_EQ(selectPlatform(std::get<Index>(*list), {})->digest, "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");  // no platform: matches
  auto v1 = parseManifest(R"({"schemaVersion":1,"name":"old"})", "", "docker.io/library/old:1");
  ASSERT_FALSE(v1);
  EXPECT_NE(v1.error().message().find("schema 1, which is no longer supported"), std::string::npos);
  EXPECT_FALSE(parseManifest("[]", "", "x"));
  EXPECT_FALSE(parseManifest(R"({"schemaVersion":2,"layers":[]})", "", "x"));  // no config
}

// A well-formed manifest with `field` of the config descriptor (or the document) replaced.
std::string manifestWith(const std::string& top, const std::string& config) {
  return R"({"schemaVersion":2,)" + top + R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json",)" + config +
         R"(},"layers":[]})";
}
const std::string kGoodConfig = R"("digest":"sha256:)" + std::string(64, 'c') + R"(","size":3)";

TEST(Manifest, WrongTypesAreErrorsNamingTheField) {
  ASSERT_TRUE(parseManifest(manifestWith("", kGoodConfig), "", "x"));
  struct Case {
    std::string body, message;
  } cases[] = {
      {R"({"schemaVersion":"2","config":{},"layers":[]})",
       "malformed manifest for x: schemaVersion must be an integer, not a string"},
      {R"({"schemaVersion":2.5,"layers":[]})", "malformed manifest for x: schemaVersion must be an integer, not a number with a fraction"},
      {R"({"schemaVersion":3,"layers":[]})", "malformed manifest for x: unsupported schemaVersion 3"},
      {R"({"layers":[]})", "malformed manifest for x: schemaVersion is missing"},
      {manifestWith(R"("mediaType":7,)", kGoodConfig), "malformed manifest for x: mediaType must be a string, not an integer"},
      {manifestWith("", R"("digest":"sha256:)" + std::string(64, 'c') + R"(","size":"3")"),
       "malformed manifest for x: config.size must be an integer, not a string"},
      {manifestWith("", R"("digest":"sha256:)" + std::string(64, 'c') + R"(","size":-1)"),
       "malformed manifest for x: config.size is out of range (-1)"},
      {manifestWith("", R"("digest":"sha256:)" + std::string(64, 'c') + R"(","size":18446744073709551615)"),
       "malformed manifest for x: config.size is out of range (18446744073709551615)"},
      {manifestWith("", R"("digest":"sha256:)" + std::string(64, 'c') + R"(")"), "malformed manifest for x: config.size is missing"},
      {manifestWith("", R"("digest":["sha256:x"],"size":1)"), "malformed manifest for x: config.digest must be a string, not an array"},
      {manifestWith("", R"("digest":"sha256:../../etc","size":1)"),
       "malformed manifest for x: config.digest is not a sha256 digest: sha256:../../etc"},
      {R"({"schemaVersion":2,"config":"c","layers":[]})", "malformed manifest for x: config must be an object, not a string"},
      {R"({"schemaVersion":2,"config":{"digest":"sha256:)" + std::string(64, 'c') + R"(","size":1},"layers":{}})",
       "malformed manifest for x: layers must be an array, not an object"},
      {R"({"schemaVersion":2,"config":{"digest":"sha256:)" + std::string(64, 'c') + R"(","size":1},"layers":[null]})",
       "malformed manifest for x: layers[0] must be an object, not null"},
      {R"({"schemaVersion":2,"manifests":[{"digest":"sha256:)" + std::string(64, 'd') + R"(","size":1,"platform":{"os":1}}]})",
       "malformed manifest for x: manifests[0].platform.os must be a string, not an integer"},
      {R"({"schemaVersion":2,"manifests":7})", "malformed manifest for x: manifests must be an array, not an integer"},
  };
  for (const auto& c : cases) {
    auto r = parseManifest(c.body, "", "x");
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().message(), c.message) << c.body;
    EXPECT_EQ(r.error().code(), Errc::kProtocol) << c.body;
  }
}

TEST(Manifest, TooDeepOrTooLargeIsRefused) {
  std::string deep = R"({"schemaVersion":2,"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(parseManifest(deep, "", "x").error().message(), "manifest for x is not a JSON object");
  std::string huge = manifestWith(R"("pad":")" + std::string(kMaxManifestBytes, 'p') + R"(",)", kGoodConfig);
  EXPECT_EQ(parseManifest(huge, "", "x").error().message(), "malformed manifest for x: larger than 4 MiB");
}

TEST(ImageConfig, WrongTypesAreErrors) {
  std::string d = sha256Digest("x");
  struct Case {
    std::string body, message;
  } cases[] = {
      {R"({"rootfs":{"diff_ids":")" + d + R"("}})", "invalid image config: rootfs.diff_ids must be an array, not a string"},
      {R"({"rootfs":{"diff_ids":[7]}})", "invalid image config: rootfs.diff_ids[0] must be a string, not an integer"},
      {R"({"rootfs":[]})", "invalid image config: rootfs must be an object, not an array"},
      {R"({"created":5,"rootfs":{"diff_ids":[]}})", "invalid image config: created must be a string, not an integer"},
      {R"({"rootfs":{"diff_ids":["sha256:zz"]}})", "invalid image config: invalid diff id sha256:zz"},
      {R"({"rootfs":{"diff_ids":[]},"pad":")" + std::string(kMaxConfigBytes, 'p') + R"("})", "invalid image config: larger than 8 MiB"},
  };
  for (const auto& c : cases) {
    auto r = parseImageConfig(c.body);
    ASSERT_FALSE(r) << c.body.substr(0, 200);
    EXPECT_EQ(r.error().message(), c.message);
  }
}

TEST(Digest, Sha256OverExactBytes) {
  EXPECT_EQ(sha256Digest(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_NE(sha256Digest("{\"a\":1}"), sha256Digest("{\"a\": 1}"));
}

}  // namespace
}  // namespace vic::images
