#include "runtime/vicadmin/logs.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "runtime/vicadmin/test_fixture.h"

namespace vic::vicadmin {
namespace {

const std::vector<ContainerName> kListed = {{testing::kId1, "web"}, {testing::kId2, "db"}, {"a" + std::string(62, 'b') + "c", "other"}};

TEST(VicadminLogs, NamesResolveToKnownLogsOnly) {
  EXPECT_EQ(resolveLog("endpoint", kListed, {})->name, "endpoint");
  EXPECT_EQ(resolveLog("vicadmin", std::nullopt, {})->name, "vicadmin");
  auto byFull = resolveLog("container:" + testing::kId2, kListed, {});
  ASSERT_TRUE(byFull);
  EXPECT_EQ(byFull->container, testing::kId2);
  EXPECT_EQ(byFull->title, "console of container db");
  EXPECT_EQ(resolveLog("container:b2", kListed, {})->container, testing::kId2);
  auto ambiguous = resolveLog("container:a", kListed, {});
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().message().find("ambiguous"), std::string::npos);
  for (std::string bad : std::vector<std::string>{"", "Endpoint", "endpoint ", "../endpoint", "container:", "container:../x", "container:ABC", "container:zz",
                          "container:" + testing::kId1 + "0", "/var/log/syslog", "container:/" + testing::kId1}) {
    auto r = resolveLog(bad, kListed, {});
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), Errc::kNotFound) << bad;
    }
  }
}

TEST(VicadminLogs, WithTheEndpointDownOnlyExactDirectoryNamesCount) {
  std::vector<std::string> dir = {testing::kId1, "..", "not-a-container", "abc"};
  EXPECT_EQ(resolveLog("container:" + testing::kId1, std::nullopt, dir)->container, testing::kId1);
  EXPECT_FALSE(resolveLog("container:aaaa", std::nullopt, dir));
  EXPECT_FALSE(resolveLog("container:abc", std::nullopt, dir));  // a name, but not a container's
  auto logs = availableLogs(std::nullopt, dir);
  ASSERT_EQ(logs.size(), 3u);
  EXPECT_EQ(logs[2].name, "container:" + testing::kId1);
}

TEST(VicadminLogs, TailAndFollow) {
  vic::testing::TempDir d{"vicadmin-logs"};
  std::string file = d.str() + "/x.log";
  testing::TestVch::write(file, "1\n2\r\n3\n4");
  UniqueFd fd(::open(file.c_str(), O_RDONLY));
  uint64_t end = 0;
  EXPECT_EQ(tailLines(fd.get(), 2, &end), (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(tailLines(fd.get(), 10, nullptr), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(end, 8u);
  uint64_t offset = end;
  std::string partial;
  EXPECT_TRUE(newLines(fd.get(), offset, partial).empty());
  testing::TestVch::append(file, "5\n6");
  EXPECT_EQ(newLines(fd.get(), offset, partial), (std::vector<std::string>{"5"}));  // following starts at the end
  EXPECT_EQ(partial, "6");
  testing::TestVch::write(file, "new\n");  // truncated: start again
  EXPECT_EQ(newLines(fd.get(), offset, partial), (std::vector<std::string>{"new"}));
  testing::TestVch::write(file, std::string(20000, 'x') + "\n");
  auto cut = tailLines(fd.get(), 1, nullptr);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].size(), 16 * 1024 + std::string(" [line cut]").size());
}

TEST(VicadminLogs, OpensOnlyRegularFilesWithoutFollowingLinks) {
  testing::TestVch v;
  LogFiles files{v.cfg.logFile, v.cfg.adminLogFile, v.cfg.datastore + "/containers"};
  auto ref = resolveLog("container:" + testing::kId1, std::vector<ContainerName>{{testing::kId1, "web"}}, {});
  ASSERT_TRUE(ref);
  EXPECT_TRUE(openLog(*ref, files));
  EXPECT_TRUE(openLog(*ref, files, "output.log"));
  std::string console = v.cfg.datastore + "/containers/" + testing::kId1 + "/console.log";
  std::filesystem::remove(console);
  ASSERT_EQ(::mkfifo(console.c_str(), 0600), 0);
  EXPECT_FALSE(openLog(*ref, files));  // a FIFO would block a reader
  std::filesystem::remove(console);
  std::filesystem::create_symlink(v.cfg.adminTokenFile, console);
  EXPECT_FALSE(openLog(*ref, files));
}

}  // namespace
}  // namespace vic::vicadmin
