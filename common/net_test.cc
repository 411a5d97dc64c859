#include "common/net.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace vic {
namespace {

TEST(IpPrefix, ParsesV4AndV6WithAndWithoutPrefix) {
  auto a = parseIpPrefix("172.16.0.2/16");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, AF_INET);
  EXPECT_EQ(a->prefix, 16);
  EXPECT_EQ(a->addr[0], 172);
  EXPECT_EQ(a->addr[3], 2);  // the host part is kept
  EXPECT_EQ(parseIpPrefix("10.0.0.1")->prefix, 32);
  auto v6 = parseIpPrefix("fd00::2/64");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->prefix, 64);
  EXPECT_EQ(v6->addr[15], 2);
}

TEST(IpPrefix, RejectsBadInput) {
  EXPECT_EQ(parseIpPrefix("300.1.1.1/8").error().message(), "invalid IP address: 300.1.1.1");
  EXPECT_EQ(parseIpPrefix("10.0.0.1/33").error().message(), "invalid prefix length in 10.0.0.1/33");
  EXPECT_FALSE(parseIpPrefix("10.0.0.1/"));
  EXPECT_FALSE(parseIpPrefix("10.0.0.1/-1"));
  EXPECT_FALSE(parseIpPrefix("fd00::1/129"));
}

TEST(Cidr, IsAMaskedIPv4Range) {
  auto c = parseCidr("172.16.5.9/16");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->str(), "172.16.0.0/16");
  EXPECT_EQ(parseCidr("10.1.2.3")->str(), "10.1.2.3/32");
  EXPECT_EQ(parseCidr("0.0.0.0/0")->prefix, 0);
  EXPECT_EQ(parseCidr("fd00::/64").error().message(), "invalid CIDR address: fd00::/64");
  EXPECT_FALSE(parseCidr("10.0.0.0/33"));
  EXPECT_FALSE(parseCidr(""));
  EXPECT_TRUE(parseCidr("10.0.0.0/8")->overlaps(*parseCidr("10.200.0.0/16")));
  EXPECT_EQ(gatewayOf(*parseCidr("172.17.0.0/16")), "172.17.0.1/16");
}

}  // namespace
}  // namespace vic
