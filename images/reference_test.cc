#include "images/reference.h"

#include <gtest/gtest.h>

namespace vic::images {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

TEST(Reference, DockerNormalisation) {
  struct Case { const char* in; const char* full; const char* familiar; };
  for (auto c : std::vector<Case>{
           {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
           {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
           {"library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
           {"foo/bar", "docker.io/foo/bar:latest", "foo/bar:latest"},
           {"index.docker.io/foo/bar:v1", "docker.io/foo/bar:v1", "foo/bar:v1"},
           {"localhost/x", "localhost/x:latest", "localhost/x:latest"},
           {"127.0.0.1:5055/test/busybox:oci", "127.0.0.1:5055/test/busybox:oci", "127.0.0.1:5055/test/busybox:oci"},
           {"reg.example.com/a/b/c", "reg.example.com/a/b/c:latest", "reg.example.com/a/b/c:latest"},
           {"my-repo_1/name__under.x", "docker.io/my-repo_1/name__under.x:latest", "my-repo_1/name__under.x:latest"},
       }) {
    auto r = parseReference(c.in);
    ASSERT_TRUE(r) << c.in << ": " << r.error().message();
    EXPECT_EQ(r->str(), c.full) << c.in;
    EXPECT_EQ(r->familiar(), c.familiar) << c.in;
  }
}

TEST(Reference, DigestsAndRegistryHost) {
  auto d = parseReference("busybox@" + kDigest);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->tag, "");
  EXPECT_EQ(d->str(), "docker.io/library/busybox@" + kDigest);
  EXPECT_EQ(d->registryHost(), "registry-1.docker.io");
  auto both = parseReference("localhost:5000/a:t@" + kDigest);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->tag, "t");
  EXPECT_EQ(both->digest, kDigest);
  EXPECT_EQ(both->registryHost(), "localhost:5000");
}

TEST(Reference, DockersErrors) {
  EXPECT_EQ(parseReference("Busybox").error().message(),
            "invalid reference format: repository name (Busybox) must be lowercase");
  for (std::string bad : std::vector<std::string>{"", ":tag", "busybox:", "a//b", "-x", "x-", "busybox@sha256:abc", "a:b:c",
                          "busybox:" + std::string(129, 't'), "UPPER.example.com:x/y", "a..b", "my_repo.x/name"}) {
    auto r = parseReference(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument) << bad;
    EXPECT_EQ(r.error().message().rfind("invalid reference format", 0), 0u) << bad;
  }
  EXPECT_EQ(parseReference("r.io/" + std::string(260, 'a')).error().message(),
            "invalid reference format: repository name must not be more than 255 characters");
}

}  // namespace
}  // namespace vic::images
