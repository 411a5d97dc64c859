#include "guest/tether/users.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/testing/temp_dir.h"

namespace vic::tether {
namespace {

constexpr std::string_view kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# comment\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "web:x:1000:1000:Web:/home/web:/bin/sh\n"
    "broken line\n";
constexpr std::string_view kGroup =
    "root:x:0:\n"
    "wheel:x:10:web,root\n"
    "web:x:1000:\n"
    "audio:x:29:web\n";

TEST(Users, DefaultIsRoot) {
  auto id = resolveUser("", {}, kPasswd, kGroup);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->uid, 0u);
  EXPECT_EQ(id->gid, 0u);
  EXPECT_EQ(id->home, "/root");
  EXPECT_EQ(id->groups, std::vector<gid_t>{10});
}

TEST(Users, ByNameWithMembershipGroups) {
  auto id = resolveUser("web", {}, kPasswd, kGroup);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->uid, 1000u);
  EXPECT_EQ(id->gid, 1000u);
  EXPECT_EQ(id->home, "/home/web");
  EXPECT_EQ(id->groups, (std::vector<gid_t>{10, 29}));
}

TEST(Users, NumericUnknownUidGetsGidZeroAndSlashHome) {
  auto id = resolveUser("4242", {}, kPasswd, kGroup);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->uid, 4242u);
  EXPECT_EQ(id->gid, 0u);
  EXPECT_EQ(id->home, "/");
}

TEST(Users, UserAndGroupForms) {
  EXPECT_EQ(resolveUser("web:audio", {}, kPasswd, kGroup)->gid, 29u);
  EXPECT_EQ(resolveUser("1:77", {}, kPasswd, kGroup)->gid, 77u);
  auto extra = resolveUser("daemon", {"audio", "500"}, kPasswd, kGroup);
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->groups, (std::vector<gid_t>{29, 500}));
}

TEST(Users, UnknownNamesUseDockersWords) {
  auto u = resolveUser("nobody", {}, kPasswd, kGroup);
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().message(), "unable to find user nobody: no matching entries in passwd file");
  auto g = resolveUser("web:staff", {}, kPasswd, kGroup);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().message(), "unable to find group staff: no matching entries in group file");
}

TEST(Env, DockerDefaults) {
  vsock::SessionSpec spec;
  spec.env = {"FOO=bar"};
  spec.tty = true;
  Identity id;
  id.home = "/home/web";
  auto env = buildEnv(spec, id, "web1");
  EXPECT_EQ(envValue(env, "PATH"), kDefaultPath);
  EXPECT_EQ(envValue(env, "FOO"), "bar");
  EXPECT_EQ(envValue(env, "HOSTNAME"), "web1");
  EXPECT_EQ(envValue(env, "HOME"), "/home/web");
  EXPECT_EQ(envValue(env, "TERM"), "xterm");
  spec.env = {"PATH=/opt/bin", "HOME=/x"};
  spec.tty = false;
  env = buildEnv(spec, id, "");
  EXPECT_EQ(envValue(env, "PATH"), "/opt/bin");
  EXPECT_EQ(envValue(env, "HOME"), "/x");
  EXPECT_EQ(envValue(env, "TERM"), "");
}

TEST(LookPath, DockerErrorsAndExitCodes) {
  vic::testing::TempDir temp("vic-lookpath");
  const auto& root = temp.path();
  std::filesystem::create_directories(root / "bin");
  std::ofstream(root / "bin/tool") << "#!/bin/sh\n";
  ::chmod((root / "bin/tool").c_str(), 0755);
  std::ofstream(root / "bin/data") << "x";
  std::string r = root.string();

  EXPECT_EQ(*lookPath("tool", "/usr/bin:/bin", r), "/bin/tool");
  EXPECT_EQ(*lookPath("/bin/tool", "", r), "/bin/tool");
  auto missing = lookPath("nosuch", "/bin", r);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "exec: \"nosuch\": executable file not found in $PATH");
  EXPECT_EQ(exitCodeFor(missing.error()), 127);
  auto abs = lookPath("/bin/nope", "", r);
  EXPECT_EQ(abs.error().message(), "exec: \"/bin/nope\": stat /bin/nope: no such file or directory");
  EXPECT_EQ(exitCodeFor(abs.error()), 127);
  auto denied = lookPath("/bin/data", "", r);
  EXPECT_EQ(denied.error().message(), "exec: \"/bin/data\": permission denied");
  EXPECT_EQ(exitCodeFor(denied.error()), 126);
  auto dir = lookPath("/bin", "", r);
  EXPECT_EQ(exitCodeFor(dir.error()), 126);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace vic::tether
