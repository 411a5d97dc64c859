#include "runtime/portlayer/volume.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace vic::pl {
namespace {
const std::map<std::string, std::string> kStores = {{"default", "/tmp/d"}, {"fast", "/tmp/f"}};

TEST(VolumePlan, CapacityStoreAndDockersNameRule) {
  auto v = planVolume({"data", {{"Capacity", "2G"}, {"VolumeStore", "fast"}}, {{"a", "b"}}, false}, kStores);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->capacityMiB, 2048u);
  EXPECT_EQ(v->store, "fast");
  EXPECT_EQ(v->labels.at("a"), "b");
  EXPECT_EQ(planVolume({"data", {}, {}, false}, kStores)->capacityMiB, 1024u);  // VIC's default
  auto anon = planVolume({"", {}, {}, true}, kStores);
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->name.size(), 64u);
  EXPECT_EQ(planVolume({"data", {{"VolumeStore", "nope"}}, {}, false}, kStores).error().message(), "volume store nope not found");
  auto bad = planVolume({"bad/name", {}, {}, false}, kStores);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("includes invalid characters for a local volume name"), std::string::npos);
  EXPECT_FALSE(planVolume({"data", {{"Size", "1G"}}, {}, false}, kStores));
}

TEST(VolumePlan, Capacities) {
  EXPECT_EQ(*parseCapacityMiB("512"), 512u);
  EXPECT_EQ(*parseCapacityMiB("512MB"), 512u);
  EXPECT_EQ(*parseCapacityMiB("1GiB"), 1024u);
  EXPECT_EQ(*parseCapacityMiB("1T"), 1u << 20);
  for (const char* bad : {"0", "-1", "", "12XB", "9T", "99999999999999999999", "1.5G"}) EXPECT_FALSE(parseCapacityMiB(bad)) << bad;
  EXPECT_EQ(*parseCapacityMiB("2 gib"), 2048u);
  EXPECT_EQ(*parseCapacityMiB("1Gi"), 1024u);
  EXPECT_EQ(*parseCapacityMiB("2048k"), 2u);
  EXPECT_FALSE(parseCapacityMiB("1GBB"));
  EXPECT_FALSE(parseCapacityMiB("1 2G"));
  // a client's megabyte-long strings: an answer, not a stack overflow (std::regex recursed per character)
  auto huge = parseCapacityMiB("1" + std::string(1 << 20, ' ') + "x");
  ASSERT_FALSE(huge);
  EXPECT_LT(huge.error().message().size(), 300u);
  EXPECT_TRUE(planVolume({std::string(1 << 20, 'a'), {}, {}, false}, kStores));
  EXPECT_FALSE(planVolume({std::string(1 << 20, 'a') + "/", {}, {}, false}, kStores));
  EXPECT_FALSE(planVolume({"a", {}, {}, false}, kStores));  // docker wants two characters at least
  EXPECT_LE(volumeSerial(std::string(64, 'a')).size(), 20u);
  EXPECT_NE(volumeSerial("a1"), volumeSerial("a2"));
}

TEST(Volumes, CreateIsAtomicAndLoadDropsHalfMadeOnes) {
  std::string dir = "/tmp/vic-volume-test-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  Volumes vols({{"default", dir}});
  ASSERT_TRUE(vols.load());
  auto v = vols.create({"data", {{"Capacity", "16M"}}, {}, false});
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_TRUE(std::filesystem::exists(vols.diskPath(*v)));
  EXPECT_EQ(vols.create({"data", {}, {}, false}).error().message(), "A volume named data already exists");
  std::filesystem::create_directories(dir + "/half");  // a create that died before its marker
  Volumes again({{"default", dir}});
  ASSERT_TRUE(again.load());
  EXPECT_TRUE(again.find("data"));
  EXPECT_EQ(again.list().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir + "/half"));
  ASSERT_TRUE(again.remove("data"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/data"));
  EXPECT_EQ(again.find("data").error().message(), "get data: no such volume");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vic::pl
