#include "common/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/files.h"
#include "common/testing/temp_dir.h"

namespace vic {
namespace {

// The file's content once it holds a whole line, or "" after about five seconds.
std::string waitForLine(const std::string& file) {
  for (int i = 0; i < 500; ++i) {
    std::string s = readFile(file);
    if (!s.empty() && s.back() == '\n') return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

TEST(SpawnDetached, RunsInItsOwnSessionWithOutputInTheLog) {
  testing::TempDir dir("vic-process");
  std::string log = (dir / "daemon.log").string(), pidFile = (dir / "pid").string();
  std::string script = "echo out; echo err >&2; echo $$ > " + pidFile + "; exec sleep 30";
  ASSERT_TRUE(spawnDetached({"sh", "-c", script}, log));
  int pid = std::atoi(waitForLine(pidFile).c_str());
  ASSERT_GT(pid, 0);
  EXPECT_NE(::getsid(pid), ::getsid(0));             // not in our session
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);   // not our child
  EXPECT_EQ(errno, ECHILD);
  EXPECT_EQ(readFile(log), "out\nerr\n");
  ::kill(pid, SIGKILL);
}

TEST(SpawnDetached, AProgramThatCannotRunIsAnErrorNamingIt) {
  testing::TempDir dir("vic-process");
  auto st = spawnDetached({"/nonexistent/daemon", "--flag"}, (dir / "log").string());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "running /nonexistent/daemon: No such file or directory");
  auto noLog = spawnDetached({"true"}, (dir / "missing/log").string());
  ASSERT_FALSE(noLog);
  EXPECT_NE(noLog.error().message().find("opening " + (dir / "missing/log").string() + " for true"), std::string::npos);
}

}  // namespace
}  // namespace vic
