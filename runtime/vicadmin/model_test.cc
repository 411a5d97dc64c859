#include "runtime/vicadmin/model.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "runtime/vicadmin/docker_client.h"
#include "runtime/vicadmin/probe.h"
#include "runtime/vicadmin/sampler.h"
#include "runtime/vicadmin/status.h"
#include "runtime/vicadmin/test_fixture.h"

namespace vic::vicadmin {
namespace {

TEST(VicadminModel, ContainersFromDockerPs) {
  auto m = containersModel(parseJson(testing::psJson()), {{testing::kId1, {{1, 12.5, 1000}}}});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0], parseJson(R"({"id":")" + testing::kId1 + R"(","name":"web","image":"nginx:latest","state":"running",
    "status":"Up 5 minutes","created":1700000000,"ports":["0.0.0.0:8080->80/tcp"],"networks":["bridge"],"cpu":[12.5],"memory":[1000]})"));
  EXPECT_EQ(m[1]["ports"], parseJson(R"(["5432/tcp"])"));
  EXPECT_EQ(m[2]["name"], "<script>alert(1)</script>");  // kept as is: pages escape it
  // Junk from a broken endpoint never throws.
  EXPECT_EQ(containersModel(parseJson(R"([1, {"Names": 3, "Ports": {}, "Id": []}])"), {}).size(), 1u);
  EXPECT_TRUE(containersModel(parseJson("{}"), {}).empty());
  EXPECT_TRUE(imagesModel(parseJson("null")).empty());
  EXPECT_TRUE(volumesModel(parseJson("[]")).empty());
  EXPECT_TRUE(networksModel(parseJson("{}")).empty());
}

TEST(VicadminModel, CpuAndMemoryAsDockerStatsShowsThem) {
  json stats = parseJson(R"({"cpu_stats":{"cpu_usage":{"total_usage":3000000000},"system_cpu_usage":20000000000,"online_cpus":2},
    "precpu_stats":{"cpu_usage":{"total_usage":1000000000},"system_cpu_usage":10000000000},
    "memory_stats":{"usage":1000,"stats":{"inactive_file":200}}})");
  EXPECT_DOUBLE_EQ(*cpuPercent(stats), 40.0);
  EXPECT_EQ(memoryUsage(stats), 800u);
  EXPECT_FALSE(cpuPercent(parseJson(R"({"cpu_stats":{}})")));
  EXPECT_EQ(humanBytes(512), "512 B");
  EXPECT_EQ(humanBytes(uint64_t{3} << 29), "1.5 GiB");
  EXPECT_EQ(humanDuration(59), "59 s");
  EXPECT_EQ(humanDuration(3 * 86400 + 4 * 3600 + 5), "3 d 4 h");
}

TEST(VicadminModel, SamplerKeepsTheLastSamplesOfRunningContainers) {
  testing::FakeProbe p;
  Sampler s(3);
  for (int i = 0; i < 5; ++i) {
    p.clock = 1700000000 + 5 * (i + 1);
    auto stats = collectStats(p);
    ASSERT_TRUE(stats);
    s.record(p.clock, *stats);
  }
  ASSERT_EQ(s.samples().size(), 3u);  // every listed container
  const auto& ring = s.samples().at(testing::kId1);
  ASSERT_EQ(ring.size(), 3u);
  EXPECT_DOUBLE_EQ(ring.back().cpuPercent, 50.0);  // 0.5 s of 4 s system time on 4 CPUs
  EXPECT_EQ(ring.back().at, 1700000025);
  s.record(1700000030, {});
  EXPECT_TRUE(s.samples().empty());  // stopped containers lose theirs
}

TEST(VicadminModel, HttpResponsesFromTheEndpoint) {
  auto a = parseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKextra");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body, "OK");
  a = parseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body, "abcde");
  EXPECT_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"));
  EXPECT_FALSE(parseHttpResponse("garbage"));
  EXPECT_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
}

TEST(VicadminModel, ADeadOrSilentEndpointFailsWithinTheTimeout) {
  vic::testing::TempDir d{"vicadmin-sock"};
  auto missing = unixGet(d.str() + "/none.sock", "/_ping");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("no endpoint listening on"), std::string::npos);
  // A listener that never answers.
  boost::asio::io_context io;
  boost::asio::local::stream_protocol::acceptor acc(io, boost::asio::local::stream_protocol::endpoint(d.str() + "/silent.sock"));
  auto t0 = std::chrono::steady_clock::now();
  auto silent = unixGet(d.str() + "/silent.sock", "/_ping", std::chrono::milliseconds(300));
  ASSERT_FALSE(silent);
  EXPECT_EQ(silent.error().code(), Errc::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(VicadminModel, FirewallChainsThroughTheRunner) {
  std::vector<std::vector<std::string>> calls;
  Runner run = [&calls](const std::vector<std::string>& argv) -> Result<CommandOutput> {
    calls.push_back(argv);
    if (argv.back() == "VIC-vch1-IN") return CommandOutput{1, "", "iptables: No chain/target/match by that name.\n"};
    if (argv.back() == "VIC-vch1-FWD") return CommandOutput{1, "", "iptables v1.8.9 (nf_tables): chain `VIC-vch1-FWD' is incompatible, use 'nft' tool.\n"};
    if (argv.back() == "VIC-vch1-POST") return CommandOutput{4, "", "iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied\n"};
    return CommandOutput{0, "-N " + argv.back() + "\n", ""};
  };
  EXPECT_TRUE(checkChain(run, "nat", "VIC-vch1-DNAT"));
  auto missing = checkChain(run, "filter", "VIC-vch1-IN");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "chain VIC-vch1-IN is missing from table filter (vic-machine restart remakes it)");
  // iptables-nft's words for a missing chain are not shown; another failure is, with its status
  EXPECT_EQ(checkChain(run, "filter", "VIC-vch1-FWD").error().message(),
            "chain VIC-vch1-FWD is missing from table filter (vic-machine restart remakes it)");
  EXPECT_EQ(checkChain(run, "nat", "VIC-vch1-POST").error().message(),
            "iptables -t nat -S VIC-vch1-POST failed (status 4): iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: "
            "Permission denied");
  EXPECT_EQ(calls[0], (std::vector<std::string>{"iptables", "-w", "-t", "nat", "-S", "VIC-vch1-DNAT"}));
  EXPECT_EQ(firewallChains("vch1"), (std::vector<std::pair<std::string, std::string>>{
                                        {"nat", "VIC-vch1-DNAT"}, {"nat", "VIC-vch1-POST"}, {"filter", "VIC-vch1-FWD"}, {"filter", "VIC-vch1-IN"}}));
  vch::VchConfig cfg;
  cfg.insecureRegistries = {"10.0.0.5:5000", "192.168.0.0/16", "reg.example", ""};
  EXPECT_EQ(probedRegistries(cfg), (std::vector<std::string>{"10.0.0.5:5000", "reg.example"}));
}

}  // namespace
}  // namespace vic::vicadmin
