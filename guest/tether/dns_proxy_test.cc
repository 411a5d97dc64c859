// The embedded resolver's choice among its networks' answers.
#include "guest/tether/dns_proxy.h"

#include <gtest/gtest.h>

namespace vic::tether {
namespace {

std::vector<uint8_t> query(uint16_t id) { return {uint8_t(id >> 8), uint8_t(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}; }
std::vector<uint8_t> response(uint16_t id, int rcode, int answers) {
  auto r = query(id);
  r[2] = 0x81;
  r[3] = static_cast<uint8_t>(0x80 | rcode);
  r[7] = static_cast<uint8_t>(answers);
  return r;
}

TEST(EmbeddedDns, TheFirstNetworkThatKnowsTheNameAnswers) {
  auto q = query(7);
  // front says NXDOMAIN, back has the address: back's answer
  EXPECT_EQ(pickResponse(q, {response(7, 3, 0), response(7, 0, 1)}), 1u);
  // both know it: the primary network's
  EXPECT_EQ(pickResponse(q, {response(7, 0, 1), response(7, 0, 2)}), 0u);
  // an AAAA query for a name that only has an address on back: back's NOERROR without answers,
  // not front's NXDOMAIN (which would make the resolver give up on the name altogether)
  EXPECT_EQ(pickResponse(q, {response(7, 3, 0), response(7, 0, 0)}), 1u);
  // nobody knows it: the first NXDOMAIN
  EXPECT_EQ(pickResponse(q, {response(7, 3, 0), response(7, 3, 0)}), 0u);
  // a network whose DNS did not answer
  EXPECT_EQ(pickResponse(q, {{}, response(7, 0, 1)}), 1u);
}

TEST(EmbeddedDns, WhatIsNotAnAnswerToThisQueryIsIgnored) {
  auto q = query(7);
  EXPECT_EQ(pickResponse(q, {response(8, 0, 1), response(7, 3, 0)}), 1u);  // another id
  auto notResponse = response(7, 0, 1);
  notResponse[2] = 0x01;
  EXPECT_EQ(pickResponse(q, {notResponse, {1, 2, 3}}), std::nullopt);  // a query, and a runt
  EXPECT_EQ(pickResponse(q, {}), std::nullopt);
  EXPECT_EQ(pickResponse(std::vector<uint8_t>{0, 7}, {response(7, 0, 1)}), std::nullopt);  // a runt query
}

}  // namespace
}  // namespace vic::tether
