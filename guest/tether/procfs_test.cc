// docker top's source: /proc/<pid>/stat parsed (a comm with spaces and parentheses), terminal
// names, and a /proc tree listed without tether and kernel threads.
#include "guest/tether/procfs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.h"

namespace vic::tether {
namespace {

const char* kStat =
    "57 (my (odd) prog) S 1 57 57 34816 57 4194560 120 0 0 0 25 10 0 0 20 0 1 0 4200 5439488 300 "
    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

TEST(Procfs, ParsesAStatLine) {
  auto s = parseProcStat(kStat);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pid, 57);
  EXPECT_EQ(s->comm, "my (odd) prog");
  EXPECT_EQ(s->state, "S");
  EXPECT_EQ(s->ppid, 1);
  EXPECT_EQ(s->ttyNr, 34816);
  EXPECT_EQ(s->utime, 25u);
  EXPECT_EQ(s->stime, 10u);
  EXPECT_EQ(s->startTicks, 4200u);
  EXPECT_EQ(s->vsizeBytes, 5439488u);
  EXPECT_EQ(s->rssPages, 300u);
  EXPECT_FALSE(parseProcStat("57 (x) S 1 2"));
  EXPECT_FALSE(parseProcStat("x (y) S"));
  EXPECT_FALSE(parseProcStat(""));
  EXPECT_FALSE(parseProcStat(")("));
}

TEST(Procfs, TerminalNames) {
  EXPECT_EQ(ttyName(0), "");
  EXPECT_EQ(ttyName(34816), "pts/0");  // 136:0
  EXPECT_EQ(ttyName((136 << 8) | 3), "pts/3");
  EXPECT_EQ(ttyName((4 << 8) | 1), "tty4:1");
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(Procfs, ListsTheContainersProcessesWithoutTetherOrKernelThreads) {
  testing::TempDir dir{"vic-proc"};
  std::filesystem::path root = dir.path();
  write(root / "meminfo", "MemTotal:         500000 kB\nMemFree: 1 kB\n");
  write(root / "1/stat", "1 (tether) S 0 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 2 0 1 1000 10 0\n");
  write(root / "2/stat", "2 (kthreadd) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 0\n");
  write(root / "9/stat", "9 (kworker/0:1) I 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0 0\n");
  write(root / "57/stat", kStat);
  write(root / "57/status", "Name:\tprog\nUid:\t1000\t1000\t1000\t1000\n");
  write(root / "57/cmdline", std::string("sh\0-c\0sleep 9\0", 14));
  write(root / "self/stat", kStat);
  auto list = listProcesses(root.string(), "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
  EXPECT_EQ(list.memTotalKiB, 500000u);
  ASSERT_EQ(list.processes.size(), 1u);
  const auto& p = list.processes[0];
  EXPECT_EQ(p.pid, 57);
  EXPECT_EQ(p.uid, 1000u);
  EXPECT_EQ(p.user, "alice");
  EXPECT_EQ(p.tty, "pts/0");
  EXPECT_EQ(p.argv, (std::vector<std::string>{"sh", "-c", "sleep 9"}));
  EXPECT_EQ(p.vszKiB, 5439488u / 1024);
  EXPECT_GT(p.startNs, 0);
  EXPECT_GT(p.cpuNs, 0u);
}

}  // namespace
}  // namespace vic::tether
