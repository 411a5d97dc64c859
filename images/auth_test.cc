#include "images/auth.h"

#include <gtest/gtest.h>

namespace vic::images {
namespace {

TEST(Auth, BearerChallengeAsDistributionSendsIt) {
  auto c = parseChallenges(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].params.at("scope"), "repository:library/busybox:pull");
  auto url = tokenUrl((*c)[0], {"repository:library/busybox:pull"}, {"bob", "pw", ""});
  ASSERT_TRUE(url);
  EXPECT_EQ(*url, "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fbusybox%3Apull&account=bob");
}

TEST(Auth, BasicChallengesEscapesAndSeveralAtOnce) {
  auto c = parseChallenges(R"(Basic realm="Registry \"Realm\"", Bearer realm=https://x/t,service=s)");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].scheme, "basic");
  EXPECT_EQ((*c)[0].params.at("realm"), "Registry \"Realm\"");
  EXPECT_EQ((*c)[1].params.at("realm"), "https://x/t");
  EXPECT_EQ((*c)[1].params.at("service"), "s");
  EXPECT_FALSE(parseChallenges(""));
  EXPECT_FALSE(parseChallenges(R"(Bearer realm="unterminated)"));
  EXPECT_FALSE(tokenUrl((*c)[0], {}, {}));  // basic has no token endpoint
}

TEST(Auth, TokenResponses) {
  EXPECT_EQ(parseTokenResponse(R"({"token":"abc","expires_in":300})")->value, "abc");
  EXPECT_EQ(parseTokenResponse(R"({"access_token":"xyz"})")->value, "xyz");
  EXPECT_EQ(parseTokenResponse(R"({"token":"abc","expires_in":10})")->expiresIn, 60);
  EXPECT_FALSE(parseTokenResponse(R"({"nothing":1})"));
  EXPECT_FALSE(parseTokenResponse("not json"));
}

TEST(Auth, XRegistryAuth) {
  auto anon = decodeRegistryAuth("e30=");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->username, "");
  std::string json = R"({"username":"bob","password":"p?s>s","serveraddress":"127.0.0.1:5000"})";
  std::string b64 = base64Encode(json);
  // the CLI sends base64url: map + and / and drop padding
  std::string url = b64;
  for (char& ch : url) ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  while (!url.empty() && url.back() == '=') url.pop_back();
  auto creds = decodeRegistryAuth(url);
  ASSERT_TRUE(creds);
  EXPECT_EQ(creds->username, "bob");
  EXPECT_EQ(creds->password, "p?s>s");
  EXPECT_FALSE(decodeRegistryAuth("!!!"));
  EXPECT_EQ(*base64Decode(base64Encode("any carnal pleas")), "any carnal pleas");
}

}  // namespace
}  // namespace vic::images
