#include "runtime/vicadmin/auth.h"

#include <gtest/gtest.h>

#include "runtime/vicadmin/test_fixture.h"

namespace vic::vicadmin {
namespace {

struct AuthTest : ::testing::Test {
  vic::testing::TempDir dir{"vicadmin-auth"};
  std::string file = dir.str() + "/admin-token";
  Auth::Clock::time_point now = Auth::Clock::now();
  Auth auth{file, std::chrono::seconds(100), [this] { return now; }};
  void setToken(const std::string& t) { testing::TestVch::write(file, t); }
};

TEST_F(AuthTest, LoginMakesASessionThatExpires) {
  setToken("tok\n");
  auto s = auth.login("tok");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->size(), 64u);
  EXPECT_EQ(s->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(auth.valid(*s));
  now += std::chrono::seconds(99);
  EXPECT_TRUE(auth.valid(*s));
  now += std::chrono::seconds(1);
  EXPECT_FALSE(auth.valid(*s));
  EXPECT_EQ(auth.sessions(), 0u);
}

TEST_F(AuthTest, WrongTokensAndStrangeSessions) {
  setToken("tok");
  EXPECT_EQ(auth.login("to").error().code(), Errc::kForbidden);
  EXPECT_EQ(auth.login("tokk").error().message(), "wrong token");
  EXPECT_EQ(auth.login("").error().code(), Errc::kForbidden);
  EXPECT_FALSE(auth.valid(""));
  EXPECT_FALSE(auth.valid(std::string(64, '0')));
  auto a = auth.login(" tok \n");  // whitespace around a pasted token does not count
  ASSERT_TRUE(a);
  auto b = auth.login("tok");
  ASSERT_TRUE(b);
  EXPECT_NE(*a, *b);
  auth.logout(*a);
  EXPECT_FALSE(auth.valid(*a));
  EXPECT_TRUE(auth.valid(*b));
}

TEST_F(AuthTest, ChangingTheTokenEndsEverySession) {
  setToken("one");
  auto s = auth.login("one");
  ASSERT_TRUE(s);
  setToken("two");
  EXPECT_FALSE(auth.valid(*s));
  EXPECT_FALSE(auth.login("one"));
  auto t = auth.login("two");
  ASSERT_TRUE(t);
  std::filesystem::remove(file);
  EXPECT_FALSE(auth.valid(*t));
  EXPECT_EQ(auth.login("two").error().code(), Errc::kUnavailable);
}

TEST_F(AuthTest, FailuresPushTheNextAttemptBack) {
  EXPECT_EQ(auth.loginWait("10.0.0.9"), Auth::Clock::duration::zero());
  auth.failed("10.0.0.9");
  auth.failed("10.0.0.9");
  EXPECT_EQ(auth.loginWait("10.0.0.9"), std::chrono::seconds(2));
  now += std::chrono::seconds(5);
  EXPECT_EQ(auth.loginWait("10.0.0.9"), Auth::Clock::duration::zero());
}

TEST_F(AuthTest, AGuesserSlowsItselfNotAnAdminElsewhere) {
  for (int i = 0; i < 20; ++i) auth.failed("203.0.113.7");
  EXPECT_EQ(auth.loginWait("203.0.113.7"), std::chrono::seconds(20));
  EXPECT_EQ(auth.loginWait("192.168.1.4"), Auth::Clock::duration::zero());
}

TEST_F(AuthTest, AFloodOfAddressesSharesOneDelayPastTheLimit) {
  for (size_t i = 0; i < Auth::kTrackedClients; ++i) auth.failed("fd00::" + std::to_string(i));
  auth.failed("fd00::a:1");  // past the limit: the shared bucket
  auth.failed("fd00::a:2");
  EXPECT_EQ(auth.loginWait("fd00::a:3"), std::chrono::seconds(2));  // the newcomers share it
  EXPECT_EQ(auth.loginWait("fd00::0"), std::chrono::seconds(1));    // a tracked one keeps its own
  now += std::chrono::seconds(3);  // all expired: pruned at the next failure
  auth.failed("192.168.1.4");
  EXPECT_EQ(auth.loginWait("192.168.1.4"), std::chrono::seconds(1));
  EXPECT_EQ(auth.loginWait("fd00::a:3"), Auth::Clock::duration::zero());
}

TEST(VicadminAuth, CookiesAndForms) {
  EXPECT_EQ(cookieValue("a=1; vicadmin_session=abc; b=2", kSessionCookie), "abc");
  EXPECT_EQ(cookieValue("xvicadmin_session=abc", kSessionCookie), "");
  EXPECT_EQ(cookieValue("vicadmin_session", kSessionCookie), "");
  EXPECT_EQ(cookieValue("", kSessionCookie), "");
  EXPECT_EQ(sessionCookie("abc", true, std::chrono::seconds(60)), "vicadmin_session=abc; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Strict");
  EXPECT_EQ(sessionCookie("abc", false, std::chrono::seconds(60)), "vicadmin_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Strict");
  EXPECT_EQ(formValue("a=1&token=x%2By+z&b=", "token"), "x+y z");
  EXPECT_EQ(formValue("tokenx=1", "token"), "");
  EXPECT_EQ(formValue("", "token"), "");
}

}  // namespace
}  // namespace vic::vicadmin
