#include "runtime/vic_machine/flags.h"

#include <gtest/gtest.h>

namespace vic::machine {
namespace {

const std::vector<FlagSpec> kSpecs = {{"name"}, {"force", false}, {"volume-store", true, true}};

TEST(Flags, ParsesValuesSwitchesAndRepeats) {
  auto f = parseFlags({"--name", "vch1", "--force", "--volume-store=/a:x", "--volume-store", "/b"}, kSpecs);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->get("name"), "vch1");
  EXPECT_TRUE(f->has("force"));
  EXPECT_EQ(f->all("volume-store"), (std::vector<std::string>{"/a:x", "/b"}));
  EXPECT_EQ(f->get("missing", "dflt"), "dflt");
}

TEST(Flags, RejectsUnknownMissingAndRepeated) {
  EXPECT_EQ(parseFlags({"--nmae", "x"}, kSpecs).error().message(), "unknown flag: --nmae");
  EXPECT_EQ(parseFlags({"--name"}, kSpecs).error().message(), "flag needs an argument: --name");
  EXPECT_EQ(parseFlags({"--name", "a", "--name", "b"}, kSpecs).error().message(), "--name given more than once");
  EXPECT_EQ(parseFlags({"vch1"}, kSpecs).error().message(), "unexpected argument \"vch1\"");
  EXPECT_FALSE(parseFlags({"--force=yes"}, kSpecs));
  EXPECT_FALSE(parseFlags({"--force=false"}, kSpecs)->has("force"));
}

TEST(Flags, SizesInMiB) {
  EXPECT_EQ(*parseSizeMiB("4096"), 4096u);
  EXPECT_EQ(*parseSizeMiB("512M"), 512u);
  EXPECT_EQ(*parseSizeMiB("4GiB"), 4096u);
  EXPECT_EQ(*parseSizeMiB("2g"), 2048u);
  EXPECT_EQ(*parseSizeMiB("1T"), 1048576u);
  EXPECT_FALSE(parseSizeMiB("0"));
  EXPECT_FALSE(parseSizeMiB("-1"));
  EXPECT_FALSE(parseSizeMiB("4 apples"));
  EXPECT_FALSE(parseSizeMiB(""));
}

TEST(Flags, VchNames) {
  EXPECT_TRUE(validateVchName("vch1"));
  EXPECT_TRUE(validateVchName("e2e-run_2"));
  EXPECT_FALSE(validateVchName("VCH"));
  EXPECT_FALSE(validateVchName("-x"));
  EXPECT_FALSE(validateVchName("../etc"));
  EXPECT_FALSE(validateVchName(std::string(32, 'a')));
}

TEST(Flags, CidrParsingAndOverlap) {
  auto a = parseCidr("172.16.5.9/16");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->str(), "172.16.0.0/16");
  EXPECT_EQ(gatewayOf(*a), "172.16.0.1/16");
  EXPECT_TRUE(a->overlaps(*parseCidr("172.16.200.0/24")));
  EXPECT_FALSE(a->overlaps(*parseCidr("172.17.0.0/16")));
  EXPECT_TRUE(parseCidr("0.0.0.0/0")->overlaps(*a));
  EXPECT_EQ(parseCidr("10.0.0.1")->prefix, 32);
  EXPECT_FALSE(parseCidr("10.0.0.0/33"));
  EXPECT_FALSE(parseCidr("10.0.0/8"));
  EXPECT_FALSE(parseCidr("10.0.0.0/"));
}

TEST(Flags, PicksTheFirstFreeBridgeRange) {
  EXPECT_EQ(pickFreeRange({})->str(), "172.16.0.0/16");
  auto used = std::vector<Cidr>{*parseCidr("172.16.0.0/16"), *parseCidr("172.17.3.0/24"), *parseCidr("10.0.2.15/24")};
  EXPECT_EQ(pickFreeRange(used)->str(), "172.18.0.0/16");
  EXPECT_EQ(pickFreeRange({*parseCidr("172.16.0.0/12")})->str(), "10.100.0.0/16");
  EXPECT_FALSE(pickFreeRange({*parseCidr("0.0.0.0/0")}));
}

TEST(Flags, VolumeStores) {
  EXPECT_EQ(*parseVolumeStore("/data/vols:fast"), std::make_pair(std::string("/data/vols"), std::string("fast")));
  EXPECT_EQ(parseVolumeStore("/data/vols")->second, "default");
  EXPECT_FALSE(parseVolumeStore("relative:x"));
  EXPECT_FALSE(parseVolumeStore("/a:bad label"));
}

// A VCH that serves anyone (no TLS, or TLS without client certificates) used to listen on
// 0.0.0.0 without a word.
TEST(ApiAddress, UnverifiedVchsBindLoopbackAndWarnWhenExposed) {
  EXPECT_EQ(defaultApiAddress(true, true), "0.0.0.0");
  EXPECT_EQ(defaultApiAddress(false, true), "127.0.0.1");
  EXPECT_EQ(defaultApiAddress(true, false), "127.0.0.1");
  EXPECT_EQ(exposureWarning("v", "0.0.0.0", true, true), "");
  EXPECT_EQ(exposureWarning("v", "127.0.0.1", false, true), "");
  EXPECT_EQ(exposureWarning("v", "127.0.0.2", true, false), "");
  std::string plain = exposureWarning("v", "0.0.0.0", false, true);
  EXPECT_EQ(plain.rfind("WARNING: VCH v serves the Docker API on 0.0.0.0 with plain HTTP (--no-tls)", 0), 0u) << plain;
  std::string unverified = exposureWarning("v", "192.168.1.5", true, false);
  EXPECT_NE(unverified.find("192.168.1.5 with TLS without client verification (--no-tlsverify)"), std::string::npos);
}

}  // namespace
}  // namespace vic::machine
