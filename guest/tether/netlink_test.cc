#include "guest/tether/netlink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace vic::tether {
namespace {

TEST(Cidr, ParsesV4AndV6WithAndWithoutPrefix) {
  auto a = parseCidr("172.16.0.2/16");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, AF_INET);
  EXPECT_EQ(a->prefix, 16);
  EXPECT_EQ(a->addr[0], 172);
  EXPECT_EQ(a->addr[3], 2);
  EXPECT_EQ(parseCidr("10.0.0.1")->prefix, 32);
  auto v6 = parseCidr("fd00::2/64");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->prefix, 64);
  EXPECT_EQ(v6->addr[15], 2);
}

TEST(Cidr, RejectsBadInput) {
  EXPECT_EQ(parseCidr("300.1.1.1/8").error().message(), "invalid IP address: 300.1.1.1");
  EXPECT_EQ(parseCidr("10.0.0.1/33").error().message(), "invalid prefix length in 10.0.0.1/33");
  EXPECT_FALSE(parseCidr("10.0.0.1/"));
  EXPECT_FALSE(parseCidr("10.0.0.1/-1"));
  EXPECT_FALSE(parseCidr("fd00::1/129"));
}

}  // namespace
}  // namespace vic::tether
