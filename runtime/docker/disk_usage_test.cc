#include "runtime/docker/disk_usage.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/testing/temp_dir.h"

namespace vic::docker {
namespace {

images::ImageRecord image(const std::string& id, std::vector<std::string> diffIds) {
  images::ImageRecord r;
  r.id = id;
  r.diffIds = std::move(diffIds);
  return r;
}

TEST(DiskUsage, LayersAreCountedOnceAndSharedOnesAreShared) {
  auto base = image("sha256:a", {"sha256:d1"});
  auto child = image("sha256:b", {"sha256:d1", "sha256:d2"});
  auto other = image("sha256:c", {"sha256:d3"});
  auto chains = images::chainIds(child.diffIds);
  std::map<std::string, uint64_t> sizes = {{chains[0], 100}, {chains[1], 20}, {"sha256:d3", 7}, {"sha256:unused", 1000}};
  std::vector<DfImage> all = {{base, {{"Id", base.id}, {"Size", 100}, {"Containers", -1}, {"SharedSize", -1}}},
                              {child, {{"Id", child.id}, {"Size", 120}}},
                              {other, {{"Id", other.id}, {"Size", 7}}}};
  auto u = imagesUsage(all, {{"sha256:b", 2}}, sizes);
  EXPECT_EQ(u.layersSize, 127u);  // a layer no image uses is not counted
  ASSERT_EQ(u.images.size(), 3u);
  EXPECT_EQ(u.images[0]["SharedSize"], 100);
  EXPECT_EQ(u.images[0]["Containers"], 0);
  EXPECT_EQ(u.images[0]["Size"], 100);  // the summary's own fields stay
  EXPECT_EQ(u.images[1]["SharedSize"], 100);
  EXPECT_EQ(u.images[1]["Containers"], 2);
  EXPECT_EQ(u.images[2]["SharedSize"], 0);
}

TEST(DiskUsage, ContainersAndVolumesGetTheirUsage) {
  auto c = containerUsage({{"Id", "x"}}, 4096, 1000);
  EXPECT_EQ(c["SizeRw"], 4096);
  EXPECT_EQ(c["SizeRootFs"], 5096);
  auto v = volumeUsage({{"Name", "v"}}, 8192, 2);
  EXPECT_EQ(v["UsageData"], (json{{"Size", 8192}, {"RefCount", 2}}));
}

TEST(DiskUsage, FreedLayersAreThoseGone) {
  images::LayerRecord a{"sha256:a", "", "", 0, 10}, b{"sha256:b", "", "", 0, 5};
  EXPECT_EQ(layersFreed({a, b}, {a}), 5u);
  EXPECT_EQ(layersFreed({a, b}, {a, b}), 0u);
}

TEST(DiskUsage, AllocatedBytesCountBlocksNotLength) {
  vic::testing::TempDir dir{"vic-du"};
  std::string sparse = dir.str() + "/sparse", full = dir.str() + "/full";
  std::ofstream(sparse).close();
  std::filesystem::resize_file(sparse, 1 << 20);
  std::ofstream(full) << std::string(8192, 'x');
  EXPECT_LT(allocatedBytes(sparse), 1u << 20);
  EXPECT_GE(allocatedBytes(full), 8192u);
  EXPECT_EQ(allocatedBytes(dir.str() + "/missing"), 0u);
}

}  // namespace
}  // namespace vic::docker
