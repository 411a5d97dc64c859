#include "runtime/portlayer/image_ops.h"

#include <gtest/gtest.h>

#include "images/manifest.h"

namespace vic::pl {
namespace {

ContainerInfo container(const std::string& id, const std::string& image, bool running) {
  ContainerInfo c;
  c.spec.id = id;
  c.spec.imageId = image;
  c.status.state = running ? RunState::kRunning : RunState::kExited;
  return c;
}

TEST(ImageOps, AnImagesUserIsARunningContainerOverAStoppedOne) {
  auto users = imageUsers({container("c1", "i1", false), container("c2", "i1", true), container("c3", "i1", false),
                           container("c4", "i2", false)});
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users["i1"].container, "c2");
  EXPECT_TRUE(users["i1"].running);
  EXPECT_EQ(users["i2"].container, "c4");
  EXPECT_FALSE(users["i2"].running);
  EXPECT_TRUE(imageUsers({}).empty());
}

TEST(ImageOps, ACommittedImageIsItsBaseAndOneMoreLayer) {
  images::ImageRecord base;
  base.id = "sha256:base";
  base.repoTags = {"docker.io/library/busybox:latest"};
  base.diffIds = {"sha256:d1"};
  base.size = 100;
  images::LayerRecord layer;
  layer.diffId = "sha256:d2";
  layer.size = 20;
  auto rec = commitRecord(base, layer, "{\"config\":{}}", 1700000000123456789);
  EXPECT_EQ(rec.id, images::sha256Digest("{\"config\":{}}"));
  EXPECT_EQ(rec.diffIds, (std::vector<std::string>{"sha256:d1", "sha256:d2"}));
  EXPECT_EQ(rec.size, 120u);
  EXPECT_EQ(rec.created, 1700000000);
  EXPECT_TRUE(rec.repoTags.empty());  // the tag is the store's to move
}

}  // namespace
}  // namespace vic::pl
