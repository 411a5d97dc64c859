// The pure parts of boot.h.
#include "guest/tether/boot.h"

#include <gtest/gtest.h>

namespace vic::tether {
namespace {

TEST(Boot, DecodeSeedTakesExactly64BytesOfHexInEitherCase) {
  std::string hex = "0fA5c3" + std::string(120, '0') + "fF";
  auto seed = decodeSeed(hex);
  ASSERT_TRUE(seed) << seed.error().message();
  ASSERT_EQ(seed->size(), kCloneSeedBytes);
  EXPECT_EQ((*seed)[0], 0x0f);
  EXPECT_EQ((*seed)[1], 0xa5);
  EXPECT_EQ((*seed)[2], 0xc3);
  EXPECT_EQ((*seed)[3], 0x00);
  EXPECT_EQ((*seed)[63], 0xff);
}

TEST(Boot, DecodeSeedRejectsWrongLengthAndNonHex) {
  auto empty = decodeSeed("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(empty.error().message(), "seed has 0 hex digits, want 128");
  EXPECT_EQ(decodeSeed(std::string(126, 'a')).error().message(), "seed has 126 hex digits, want 128");
  EXPECT_EQ(decodeSeed(std::string(129, 'a')).error().message(), "seed has 129 hex digits, want 128");
  std::string bad(128, '7');
  bad[77] = 'g';
  auto notHex = decodeSeed(bad);
  ASSERT_FALSE(notHex);
  EXPECT_EQ(notHex.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(notHex.error().message(), "seed is not hex (at digit 76)");
  bad[77] = ' ';
  EXPECT_FALSE(decodeSeed(bad));
  EXPECT_FALSE(decodeSeed(std::string(127, '0') + std::string(1, '\0')));
}

}  // namespace
}  // namespace vic::tether
