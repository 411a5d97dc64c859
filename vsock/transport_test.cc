#include "vsock/transport.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.h"

namespace vic::vsock {
namespace {

TEST(Transport, ParsesEndpoints) {
  auto u = parseEndpoint("unix:/run/vic/c1.sock");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(u->path, "/run/vic/c1.sock");
  EXPECT_EQ(parseEndpoint("/plain/path")->str(), "unix:/plain/path");
  auto v = parseEndpoint("vsock:3:2377");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, Endpoint::Kind::kVsock);
  EXPECT_EQ(v->cid, 3u);
  EXPECT_EQ(v->port, 2377u);
  EXPECT_EQ(parseEndpoint("port:/dev/virtio-ports/org.vic.tether")->kind, Endpoint::Kind::kPort);
  EXPECT_EQ(parseEndpoint("vsock:3").error().message(), "vsock endpoint needs cid:port");
  EXPECT_EQ(parseEndpoint("vsock:x:1").error().message(), "bad vsock cid 'x'");
  EXPECT_EQ(parseEndpoint("unix:").error().code(), Errc::kInvalidArgument);
}

TEST(Transport, GuestPrefersVirtioPortThenVsockWithOverride) {
  vic::testing::TempDir temp("vic-ports");
  auto dir = temp.path();
  std::ofstream(dir / std::string(kTetherPortName)).put('x');
  auto ep = chooseGuestEndpoint("", dir.string());
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->kind, Endpoint::Kind::kPort);
  EXPECT_EQ(ep->path, (dir / std::string(kTetherPortName)).string());
  auto forced = chooseGuestEndpoint("vsock:4294967295:2377", dir.string());
  ASSERT_TRUE(forced);
  EXPECT_EQ(forced->kind, Endpoint::Kind::kVsock);
  std::filesystem::remove_all(dir);
  auto none = chooseGuestEndpoint("", dir.string());
  if (guestHasVsock()) {
    EXPECT_EQ(none->kind, Endpoint::Kind::kVsock);
    EXPECT_EQ(none->port, kTetherVsockPort);
  } else {
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message().find("no tether transport"), std::string::npos);
  }
}

}  // namespace
}  // namespace vic::vsock
