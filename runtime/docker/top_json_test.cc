// docker top's columns for the ps options it supports, golden.
#include "runtime/docker/top_json.h"

#include <gtest/gtest.h>

namespace vic::docker {
namespace {

using nlohmann::json;
constexpr int64_t kS = 1'000'000'000;

vsock::ProcessList sample() {
  vsock::ProcessList l;
  l.nowNs = 1714979289 * kS;  // 2024-05-06T07:08:09Z
  l.memTotalKiB = 1000;
  l.processes.push_back({7, 0, 0, "root", "S", "", l.nowNs - 100 * kS, 10 * kS, 50, 1200, "sh", {"sh", "-c", "sleep 1000"}});
  l.processes.push_back({9, 7, 1000, "", "Z", "pts/0", l.nowNs - 3 * 86400 * kS, 3725 * kS, 0, 0, "zombie", {}});
  return l;
}

TEST(TopJson, DockersDefaultIsPsEf) {
  auto j = topJson(sample(), "");
  ASSERT_TRUE(j) << j.error().message();
  EXPECT_EQ(*j, json::parse(R"({"Titles":["UID","PID","PPID","C","STIME","TTY","TIME","CMD"],"Processes":[
    ["root","7","0","10","07:06","?","00:00:10","sh -c sleep 1000"],
    ["1000","9","7","1","May03","pts/0","01:02:05","[zombie]"]]})"));
  EXPECT_EQ(*topJson(sample(), "-ef"), *j);
}

TEST(TopJson, Aux) {
  auto j = topJson(sample(), "aux");
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["Titles"], json::parse(R"(["USER","PID","%CPU","%MEM","VSZ","RSS","TTY","STAT","START","TIME","COMMAND"])"));
  EXPECT_EQ((*j)["Processes"][0], json::parse(R"(["root","7","10.0","5.0","1200","50","?","S","07:06","0:10","sh -c sleep 1000"])"));
}

TEST(TopJson, CustomFieldsAndRefusals) {
  auto j = topJson(sample(), "-eo pid,comm,etime");
  ASSERT_TRUE(j);
  EXPECT_EQ(*j, json::parse(R"({"Titles":["PID","COMMAND","ELAPSED"],"Processes":[["7","sh","01:40"],["9","zombie","3-00:00:00"]]})"));
  EXPECT_EQ(*topJson(sample(), "-o pid -o user"), json::parse(R"({"Titles":["PID","USER"],"Processes":[["7","root"],["9","1000"]]})"));
  for (const char* bad : {"-o nope", "--forest", "-o", "x", "-e -o"}) {
    auto r = topJson(sample(), bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("not supported by a VCH"), std::string::npos);
  }
}

}  // namespace
}  // namespace vic::docker
