#include "vsock/transport.h"

#include <gtest/gtest.h>
#include <linux/vm_sockets.h>
#include <sys/stat.h>

#include <cstring>

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

TEST(Transport, GuestPrefersItsVsockDeviceThenTheVirtioPortWithOverride) {
  const std::string port = "/dev/vport0p1";
  auto serial = chooseGuestEndpoint("", port, std::nullopt);  // no vsock device: the port
  ASSERT_TRUE(serial);
  EXPECT_EQ(serial->kind, Endpoint::Kind::kPort);
  EXPECT_EQ(serial->path, port);
  auto vsock = chooseGuestEndpoint("", port, 7u);  // a vsock device (CID 7): AF_VSOCK, whatever ports exist
  ASSERT_TRUE(vsock);
  EXPECT_EQ(vsock->kind, Endpoint::Kind::kVsock);
  EXPECT_EQ(vsock->cid, kVsockCidAny);  // listens on any CID: a clone's CID changes under it
  EXPECT_EQ(vsock->port, kTetherVsockPort);
  auto forced = chooseGuestEndpoint("port:/dev/vport9p1", port, 7u);  // vic.tether= wins
  ASSERT_TRUE(forced);
  EXPECT_EQ(forced->kind, Endpoint::Kind::kPort);
  EXPECT_EQ(forced->path, "/dev/vport9p1");
  auto none = chooseGuestEndpoint("", "", std::nullopt);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("no tether transport"), std::string::npos);
}

TEST(Transport, HostReachesAVmWithACidOverVsockElseItsUnixSocket) {
  auto serial = hostEndpoint("/run/vic/vch1/abc.sock", std::nullopt);
  EXPECT_EQ(serial.str(), "unix:/run/vic/vch1/abc.sock");
  auto vsock = hostEndpoint("/run/vic/vch1/abc.sock", 12u);
  EXPECT_EQ(vsock.str(), "vsock:12:2377");
  auto addr = socketAddress(vsock);
  ASSERT_TRUE(addr);
  EXPECT_EQ(addr->family(), AF_VSOCK);
}

TEST(Transport, TetherServesOnlyTheHostOverVsock) {
  auto peer = [](uint32_t cid) {
    sockaddr_storage s{};
    sockaddr_vm vm{};
    vm.svm_family = AF_VSOCK;
    vm.svm_cid = cid;
    std::memcpy(&s, &vm, sizeof vm);
    return s;
  };
  EXPECT_TRUE(fromHost(peer(kVsockCidHost)));
  EXPECT_FALSE(fromHost(peer(1)));   // local loopback: something inside the guest
  EXPECT_FALSE(fromHost(peer(5)));   // another guest
  sockaddr_storage unixPeer{};
  unixPeer.ss_family = AF_UNIX;
  EXPECT_TRUE(fromHost(unixPeer));  // tests' unix listeners
  sockaddr_storage inet{};
  inet.ss_family = AF_INET;
  EXPECT_FALSE(fromHost(inet));
}

TEST(Transport, NoVsockDeviceMeansNoGuestCid) {
  EXPECT_FALSE(guestVsockCid("/nonexistent/vsock"));
  EXPECT_FALSE(guestVsockCid("/dev/null"));  // not the vsock device: the ioctl fails
}

}  // namespace
}  // namespace vic::vsock
