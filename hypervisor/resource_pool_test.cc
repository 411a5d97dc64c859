#include "hypervisor/resource_pool.h"

#include <gtest/gtest.h>

namespace vic::hv {
namespace {

TEST(ResourcePool, NamesMapToLibvirtPartitionsAndCgroupDirs) {
  EXPECT_EQ(ResourcePools::partition("vch1"), "/machine/vch1");
  EXPECT_EQ(ResourcePools::partition("vch1/team-a"), "/machine/vch1/team-a");
  EXPECT_EQ(ResourcePools::cgroupPath("vch1"), "machine/vch1.partition");
  EXPECT_EQ(ResourcePools::cgroupPath("vch1/team-a"), "machine/vch1.partition/team-a.partition");
}

TEST(ResourcePool, RejectsBadNames) {
  EXPECT_TRUE(ResourcePools::validate("vch1"));
  EXPECT_TRUE(ResourcePools::validate("vch1/a_b-2"));
  for (std::string bad : {"", "/vch", "vch/", "../x", "VCH", "a//b", "a b", "-x"}) {
    auto st = ResourcePools::validate(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code(), Errc::kInvalidArgument);
  }
}

}  // namespace
}  // namespace vic::hv
