#include "runtime/portlayer/exec_spec.h"

#include <gtest/gtest.h>

namespace vic::pl {
namespace {

ContainerSpec webContainer() {
  ContainerSpec c;
  c.config.main.env = {"PATH=/bin", "A=1"};
  c.config.main.workdir = "/srv";
  c.config.main.user = "web";
  return c;
}

TEST(ExecSpec, EmptyFieldsFallBackToTheContainersAndEnvIsMerged) {
  ExecSpec e;
  e.argv = {"echo", "hi"};
  auto s = sessionSpec(e, webContainer(), "e1");
  EXPECT_EQ(s.id, "e1");
  EXPECT_EQ(s.argv, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(s.env, (std::vector<std::string>{"PATH=/bin", "A=1"}));
  EXPECT_EQ(s.workdir, "/srv");
  EXPECT_EQ(s.user, "web");
  EXPECT_FALSE(s.openStdin || s.stdinOnce || s.tty || s.runBlock);
}

TEST(ExecSpec, GivenFieldsWinAndStdinIsClosedWithTheClientsInput) {
  ExecSpec e{{"sh"}, {"A=2", "B=3"}, "/tmp", "0", true, true, 40, 120};
  auto s = sessionSpec(e, webContainer(), "e2");
  EXPECT_EQ(s.env, (std::vector<std::string>{"PATH=/bin", "A=2", "B=3"}));
  EXPECT_EQ(s.workdir, "/tmp");
  EXPECT_EQ(s.user, "0");
  EXPECT_TRUE(s.tty && s.openStdin && s.stdinOnce);
  EXPECT_EQ(s.rows, 40);
  EXPECT_EQ(s.cols, 120);
}

TEST(ExecSpec, MergeEnvReplacesByKeyAndKeepsOrder) {
  EXPECT_EQ(mergeEnv({"A=1", "B=2"}, {"B=3", "C", "A="}), (std::vector<std::string>{"A=", "B=3", "C"}));
}

}  // namespace
}  // namespace vic::pl
