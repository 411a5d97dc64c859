#include "runtime/vicadmin/logs.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <random>

#include "runtime/vicadmin/test_fixture.h"
#include "vsock/codec.h"
#include "vsock/log_record.h"

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
  auto output = resolveLog("output:b2", kListed, {});
  ASSERT_TRUE(output);
  EXPECT_EQ(output->name, "output:" + testing::kId2);
  EXPECT_EQ(output->title, "output of container db (docker logs)");
  EXPECT_TRUE(output->output);
  EXPECT_FALSE(byFull->output);
  for (std::string bad : std::vector<std::string>{"", "Endpoint", "endpoint ", "../endpoint", "container:", "container:../x", "container:ABC", "container:zz",
                          "output:", "output:../x", "output", "Output:" + testing::kId1, "output:" + testing::kId1 + "/../x",
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
  EXPECT_TRUE(resolveLog("output:" + testing::kId1, std::nullopt, dir)->output);
  auto logs = availableLogs(std::nullopt, dir);
  ASSERT_EQ(logs.size(), 4u);
  EXPECT_EQ(logs[2].name, "container:" + testing::kId1);
  EXPECT_EQ(logs[3].name, "output:" + testing::kId1);
}

std::string records(vsock::LogKind kind, const std::string& data) {
  std::vector<uint8_t> out;
  vsock::appendLogRecords(out, kind, 1'700'000'000'000'000'000, {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
  return {out.begin(), out.end()};
}
std::string out(const std::string& d) { return records(vsock::LogKind::kStdout, d); }
std::string exitWith(int code, const std::string& error = "") {
  vsock::ExitStatus e;
  e.exitCode = code;
  e.error = error;
  return records(vsock::LogKind::kExit, vsock::encodeExitStatus(e));
}

TEST(VicadminLogs, AContainersOutputLogReadsAsLines) {
  vic::testing::TempDir d{"vicadmin-output"};
  std::string file = d.str() + "/output.log";
  std::string log = records(vsock::LogKind::kStart, "") + out("hello\nwor") + out("ld\r\n") +
                    records(vsock::LogKind::kStderr, "oops\n") + "junk\xd7\x01" + out("tail") + exitWith(3, "");
  testing::TestVch::write(file, log);
  UniqueFd fd(::open(file.c_str(), O_RDONLY));
  OutputCursor end;
  EXPECT_EQ(outputTail(fd.get(), 10, &end),
            (std::vector<std::string>{"[started]", "hello", "world", "[stderr] oops", "tail", "[exited with code 3]"}));
  EXPECT_EQ(end.offset, log.size());
  EXPECT_EQ(outputTail(fd.get(), 2, nullptr), (std::vector<std::string>{"tail", "[exited with code 3]"}));

  // following: an unfinished line waits for its end, a record torn by a write in progress
  // waits for its rest, and a file that shrank is read again from the start
  OutputCursor c = end;
  EXPECT_TRUE(newOutputLines(fd.get(), c).empty());
  std::string torn = out("b\nc\n");
  testing::TestVch::append(file, records(vsock::LogKind::kStart, "") + out("a") + torn.substr(0, 10));
  EXPECT_EQ(newOutputLines(fd.get(), c), (std::vector<std::string>{"[started]"}));
  EXPECT_EQ(c.out, "a");
  testing::TestVch::append(file, torn.substr(10) + exitWith(125, "exec: \"x\": executable file not found in $PATH"));
  EXPECT_EQ(newOutputLines(fd.get(), c),
            (std::vector<std::string>{"ab", "c", "[exited with code 125] exec: \"x\": executable file not found in $PATH"}));
  testing::TestVch::write(file, out("again\n"));
  EXPECT_EQ(newOutputLines(fd.get(), c), (std::vector<std::string>{"again"}));
}

// The output log holds what a guest wrote: no newline for ever, lengths that lie, noise.
TEST(VicadminLogs, AHostileOutputLogStaysBounded) {
  vic::testing::TempDir d{"vicadmin-output"};
  std::string file = d.str() + "/output.log";
  testing::TestVch::write(file, "");
  UniqueFd fd(::open(file.c_str(), O_RDONLY));
  OutputCursor c;
  std::vector<std::string> lines;
  for (int i = 0; i < 40; ++i) {
    testing::TestVch::append(file, out(std::string(1024, 'x')));
    for (auto& l : newOutputLines(fd.get(), c)) lines.push_back(l);
  }
  ASSERT_EQ(lines.size(), 2u) << "a line that never ends is cut, not held";
  EXPECT_EQ(lines[0].size(), 16 * 1024 + std::string(" [line cut]").size());
  EXPECT_LE(c.out.size(), 16u * 1024);
  auto whole = outputTail(fd.get(), 100, nullptr);
  ASSERT_EQ(whole.size(), 3u);  // two cut lines and the unfinished rest
  std::string lying = out("ok\n");
  lying[4] = '\x7f';  // a payload length far past the file and past the limit
  testing::TestVch::write(file, lying + out("after\n"));
  c = {};
  EXPECT_EQ(newOutputLines(fd.get(), c), (std::vector<std::string>{"after"}));
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string noise(static_cast<size_t>(rng() % 4096), '\0');
    for (auto& ch : noise) ch = static_cast<char>(rng() % 4 == 0 ? 0xd7 : rng());
    testing::TestVch::write(file, noise);
    c = {};
    for (const auto& l : newOutputLines(fd.get(), c)) EXPECT_LE(l.size(), 16u * 1024 + 32);
    for (const auto& l : outputTail(fd.get(), 50, nullptr)) EXPECT_LE(l.size(), 16u * 1024 + 32);
    EXPECT_LE(c.offset, noise.size());
  }
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
