#include "runtime/vch/endpoint_record.h"

#include <gtest/gtest.h>

namespace vic::vch {
namespace {

TEST(EndpointRecord, RoundTripsAndRefusesJunk) {
  EndpointRecord r{"AF_VSOCK (vhost-vsock)", "kvm"};
  auto back = decodeEndpointRecord(encodeEndpointRecord(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->tetherTransport, r.tetherTransport);
  EXPECT_EQ(back->accelerator, "kvm");
  EXPECT_EQ(endpointRecordFile("vch1"), "/run/vic/vch1/endpoint.json");
  EXPECT_FALSE(decodeEndpointRecord(""));  // none written (a reboot cleared /run, or an older endpoint)
  EXPECT_FALSE(decodeEndpointRecord("[1]"));
  EXPECT_FALSE(decodeEndpointRecord(R"({"tetherTransport": 5})"));
}

TEST(EndpointRecord, InspectSaysWhichTransportAndAcceleratorTheRunningEndpointChose) {
  EndpointRecord r{"virtio-serial (no /dev/vhost-vsock on this host)", "tcg"};
  EXPECT_EQ(endpointRecordText(r, true),
            "  tether:        virtio-serial (no /dev/vhost-vsock on this host)\n  accelerator:   tcg\n");
  EXPECT_NE(endpointRecordText(std::nullopt, true).find("unknown"), std::string::npos);
  std::string stopped = endpointRecordText(r, false);  // a stopped endpoint's record may be stale: not shown
  EXPECT_NE(stopped.find("chosen when the endpoint starts"), std::string::npos);
  EXPECT_EQ(stopped.find("no /dev/vhost-vsock on this host"), std::string::npos);
}

}  // namespace
}  // namespace vic::vch
