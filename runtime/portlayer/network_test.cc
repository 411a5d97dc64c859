#include <gtest/gtest.h>

#include "runtime/portlayer/container.h"
#include "runtime/portlayer/network.h"
#include "runtime/portlayer/port_forward.h"

namespace vic::pl {
namespace {

Scope scope(const std::string& subnet, const std::string& pool = "") {
  Scope s;
  s.name = "net";
  s.subnet = *parseCidr(subnet);
  s.pool = *parseCidr(pool.empty() ? subnet : pool);
  s.gateway = s.subnet.base + 1;
  return s;
}

TEST(Ipam, PicksTheLowestFreeAddressAndNeverTheGateway) {
  auto s = scope("10.5.0.0/29");  // .1 gateway, .2-.6 usable, .7 broadcast
  EXPECT_EQ(ipString(*pickAddress(s, "", {})), "10.5.0.2");
  std::set<uint32_t> used{*parseIp("10.5.0.2"), *parseIp("10.5.0.3")};
  EXPECT_EQ(ipString(*pickAddress(s, "", used)), "10.5.0.4");
  for (auto a : {"10.5.0.4", "10.5.0.5", "10.5.0.6"}) used.insert(*parseIp(a));
  auto full = pickAddress(s, "", used);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().message(), "no available IPv4 addresses on this network's address pools: net");
}

TEST(Ipam, RequestedAddressMustBeInTheSubnetAndFree) {
  auto s = scope("10.5.0.0/24", "10.5.0.128/25");
  EXPECT_EQ(ipString(*pickAddress(s, "", {})), "10.5.0.128");
  EXPECT_EQ(ipString(*pickAddress(s, "10.5.0.9", {})), "10.5.0.9");  // --ip may be outside --ip-range
  auto outside = pickAddress(s, "10.6.0.9", {});
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().message(), "Invalid address 10.6.0.9: It does not belong to any of this network's subnets");
  auto taken = pickAddress(s, "10.5.0.9", {*parseIp("10.5.0.9")});
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code(), Errc::kConflict);
  EXPECT_FALSE(pickAddress(s, "10.5.0.1", {}));  // the gateway
  EXPECT_FALSE(pickAddress(s, "not-an-ip", {}));
  EXPECT_EQ(macFor(*parseIp("172.16.0.2")), "02:42:ac:10:00:02");
}

TEST(PlanScope, PicksAFreeRangeAndRejectsOverlapsAndBadInput) {
  std::vector<Cidr> host{*parseCidr("172.16.0.0/16")};
  auto s = planScope({"mynet", "", "", "", false, {}}, {}, host);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->subnet.str(), "172.17.0.0/16");
  EXPECT_EQ(ipString(s->gateway), "172.17.0.1");
  auto dup = planScope({"mynet", "", "", "", false, {}}, {*s}, host);
  EXPECT_EQ(dup.error().message(), "network with name mynet already exists");
  auto overlap = planScope({"other", "172.17.5.0/24", "", "", false, {}}, {*s}, host);
  EXPECT_EQ(overlap.error().message(), "invalid pool request: Pool overlaps with other one on this address space");
  auto custom = planScope({"c", "10.9.0.0/24", "10.9.0.254", "10.9.0.128/25", true, {}}, {*s}, host);
  ASSERT_TRUE(custom) << custom.error().message();
  EXPECT_EQ(ipString(custom->gateway), "10.9.0.254");
  EXPECT_EQ(custom->pool.str(), "10.9.0.128/25");
  EXPECT_TRUE(custom->internal);
  EXPECT_EQ(planScope({"c", "10.9.0.0/24", "10.8.0.1", "", false, {}}, {}, host).error().message(),
            "no matching subnet for gateway 10.8.0.1");
  EXPECT_FALSE(planScope({"c", "10.9.0.0/24", "", "10.8.0.0/25", false, {}}, {}, host));
  EXPECT_FALSE(planScope({"c", "10.9.0.0", "", "", false, {}}, {}, host));  // a /32 subnet
  EXPECT_FALSE(planScope({"c", "", "10.9.0.1", "", false, {}}, {}, host));  // gateway without subnet
  EXPECT_EQ(planScope({"host", "", "", "", false, {}}, {}, host).error().code(), Errc::kForbidden);
  EXPECT_FALSE(planScope({"bad name", "", "", "", false, {}}, {}, host));
}

TEST(ScopeRecord, RoundTrips) {
  auto s = scope("10.5.0.0/24", "10.5.0.128/25");
  s.id = "abc";
  s.internal = true;
  s.portGroup = "vch1-net-abc";
  s.bridge = "vicnabc";
  s.labels = {{"a", "b"}};
  auto back = decodeScope(encodeScope(s));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(encodeScope(*back), encodeScope(s));
  EXPECT_FALSE(decodeScope("[]"));
  EXPECT_FALSE(decodeScope(R"({"id":"a","name":"n","subnet":"junk","gateway":"1.2.3.4"})"));
}

TEST(ContainerSpec, NetworksAndPortsRoundTrip) {
  ContainerSpec c;
  c.id = "abc";
  c.networks = {{"scope1", "10.5.0.2", "02:42:0a:05:00:02", {"web", "www"}}};
  c.ports = {{"tcp", 80, "", 8080}, {"udp", 53, "127.0.0.1", 0}};
  c.exposed = {"80/tcp"};
  c.links = {"db:database"};
  c.networkMode = "mynet";
  c.volumes = {{"data", "/data", true, false}, {"abc", "/cache", false, true}};
  auto back = decodeSpec(encodeSpec(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->networks[0].aliases, c.networks[0].aliases);
  EXPECT_EQ(back->networks[0].mac, c.networks[0].mac);
  EXPECT_EQ(back->ports, c.ports);
  EXPECT_EQ(back->links, c.links);
  EXPECT_EQ(back->networkMode, "mynet");
  EXPECT_EQ(back->volumes, c.volumes);
  EXPECT_EQ(decodePorts(encodePorts(c.ports)), c.ports);
}

TEST(PortSpec, ParsesDockersKeysAndRejectsRanges) {
  auto b = parsePortSpec("80/tcp");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->containerPort, 80);
  EXPECT_EQ(parsePortSpec("53/udp")->proto, "udp");
  EXPECT_EQ(parsePortSpec("8080")->proto, "tcp");
  EXPECT_EQ(parsePortSpec("80-90/tcp").error().message(), "port ranges are not supported by vic: 80-90");
  EXPECT_FALSE(parsePortSpec("70000/tcp"));
  EXPECT_FALSE(parsePortSpec("0/tcp"));
  EXPECT_FALSE(parsePortSpec("80/sctp"));
  EXPECT_FALSE(parsePortSpec("http/tcp"));
}

TEST(ForwardRules, Golden) {
  std::vector<Forward> f{{{"tcp", 80, "", 8080}, "172.16.0.2", "vic-vch1", *parseCidr("172.16.0.0/16")},
                         {{"udp", 53, "192.168.1.5", 5353}, "172.16.0.3", "vic-vch1", *parseCidr("172.16.0.0/16")}};
  EXPECT_EQ(forwardRules("VIC-vch1", f),
            "*nat\n"
            ":VIC-vch1-DNAT - [0:0]\n"
            ":VIC-vch1-POST - [0:0]\n"
            "-A VIC-vch1-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.16.0.2:80\n"
            "-A VIC-vch1-POST -s 172.16.0.0/16 -d 172.16.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n"
            "-A VIC-vch1-DNAT -d 192.168.1.5/32 -p udp -m udp --dport 5353 -j DNAT --to-destination 172.16.0.3:53\n"
            "-A VIC-vch1-POST -s 172.16.0.0/16 -d 172.16.0.3/32 -p udp -m udp --dport 53 -j MASQUERADE\n"
            "-A VIC-vch1-POST -s 127.0.0.0/8 -o vic-vch1 -j MASQUERADE\n"
            "COMMIT\n"
            "*filter\n"
            ":VIC-vch1-FWD - [0:0]\n"
            ":VIC-vch1-IN - [0:0]\n"
            "-A VIC-vch1-IN ! -i lo -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n"
            "-A VIC-vch1-FWD -d 172.16.0.2/32 -o vic-vch1 -p tcp -m tcp --dport 80 -j ACCEPT\n"
            "-A VIC-vch1-FWD -d 172.16.0.3/32 -o vic-vch1 -p udp -m udp --dport 53 -j ACCEPT\n"
            "COMMIT\n");
  EXPECT_EQ(forwardRules("VIC-x", {}), "*nat\n:VIC-x-DNAT - [0:0]\n:VIC-x-POST - [0:0]\nCOMMIT\n*filter\n:VIC-x-FWD - [0:0]\n:VIC-x-IN - [0:0]\n"
            "-A VIC-x-IN ! -i lo -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\nCOMMIT\n");
  EXPECT_EQ(chainPrefix("vch1"), "VIC-vch1");
  EXPECT_LE(chainPrefix(std::string(31, 'a')).size(), 22u);
}

TEST(PortForwarder, HoldsPortsAndRefusesATakenOneWithDockersMessage) {
  PortForwarder f("unit");
  auto a = f.reserve("id-a", "a", {{"tcp", 80, "127.0.0.1", 0}});
  ASSERT_TRUE(a) << a.error().message();
  uint16_t port = (*a)[0].hostPort;
  EXPECT_NE(port, 0);
  EXPECT_FALSE(portFree("127.0.0.1", port));  // held: no host process can take it
  auto b = f.reserve("id-b", "b", {{"tcp", 81, "", port}});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message(), "driver failed programming external connectivity on endpoint b (id-b): Bind for 0.0.0.0:" +
                                     std::to_string(port) + " failed: port is already allocated");
  f.release("id-a");
  EXPECT_TRUE(portFree("127.0.0.1", port));
  EXPECT_TRUE(f.reserve("id-b", "b", {{"tcp", 81, "", port}}));
}

}  // namespace
}  // namespace vic::pl
