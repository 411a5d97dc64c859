#include "vsock/wire.h"

#include <gtest/gtest.h>

namespace vic::vsock {
namespace {

TEST(Wire, HeaderGoldenBytes) {
  std::vector<uint8_t> out;
  appendFrame(out, 1, FrameType::kData, 0x01020304, std::vector<uint8_t>{'h', 'i'});
  std::vector<uint8_t> golden = {0x76, 0x54, 0x01, 0x03, 0x01, 0x02, 0x03, 0x04,
                                 0x00, 0x00, 0x00, 0x02, 'h',  'i'};
  EXPECT_EQ(out, golden);
}

TEST(Wire, HelloGoldenBytesRoundTrip) {
  Hello h{1, 3, 0x1122334455667788ULL, 0x40000};
  auto b = encodeHello(h);
  std::array<uint8_t, kHelloSize> golden = {0, 1, 0, 3, 0x11, 0x22, 0x33, 0x44,
                                            0x55, 0x66, 0x77, 0x88, 0, 4, 0, 0};
  EXPECT_EQ(b, golden);
  auto back = decodeHello(b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->nonce, h.nonce);
  EXPECT_EQ(back->maxVersion, 3);
  EXPECT_EQ(back->window, 0x40000u);
}

TEST(Wire, HeaderValidation) {
  std::vector<uint8_t> out;
  appendHeader(out, {1, FrameType::kData, 7, 10});
  auto h = decodeHeader(out, 1);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->channel, 7u);
  EXPECT_EQ(h->length, 10u);

  auto badMagic = out;
  badMagic[0] = 0x00;
  EXPECT_EQ(decodeHeader(badMagic, 1).error().message(), "bad frame magic 0x0054");

  auto badType = out;
  badType[3] = 99;
  EXPECT_EQ(decodeHeader(badType, 1).error().message(), "unknown frame type 99");

  EXPECT_EQ(decodeHeader(out, 2).error().message(), "frame version 1, expected 2");

  std::vector<uint8_t> big;
  appendHeader(big, {1, FrameType::kData, 7, kMaxPayload + 1});
  auto e = decodeHeader(big, 1);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), Errc::kProtocol);
  EXPECT_EQ(e.error().message(), "frame of 65537 bytes exceeds the maximum of 65536");
}

TEST(Wire, VersionNegotiation) {
  EXPECT_EQ(chooseVersion({1, 1, 0, 1}), 1);
  EXPECT_EQ(chooseVersion({1, 9, 0, 1}), kMaxVersion);
  EXPECT_EQ(chooseVersion({2, 9, 0, 1}), 0);  // host too new for this tether
}

}  // namespace
}  // namespace vic::vsock
