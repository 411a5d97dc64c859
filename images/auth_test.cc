#include "images/auth.h"

#include <gtest/gtest.h>

#include "images/manifest.h"

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
  EXPECT_EQ(parseTokenResponse(R"({"token":"abc","expires_in":99999999999999})")->expiresIn, kMaxTokenLifetime);
  EXPECT_EQ(parseTokenResponse(R"({"token":"abc","expires_in":-5})")->expiresIn, 60);
}

TEST(Auth, HostileTokenResponsesAreErrors) {
  struct Case {
    std::string body, message;
  } cases[] = {
      {R"({"token":7})", "malformed token response: token must be a string, not an integer"},
      {R"({"token":"abc","expires_in":"300"})", "malformed token response: expires_in must be an integer, not a string"},
      {R"({"token":"abc","expires_in":1e400})", "token response is not a JSON object"},  // not JSON: out of double's range
      {R"({"token":"abc\r\nX-Evil: 1"})", "token response has a token with characters a header cannot carry"},
      {R"({"token":")" + std::string(kMaxTokenBytes, 't') + R"("})", "token response is larger than 1 MiB"},
      {std::string(200000, '[') + std::string(200000, ']'), "token response is not a JSON object"},
  };
  for (const auto& c : cases) {
    auto r = parseTokenResponse(c.body);
    ASSERT_FALSE(r) << c.body.substr(0, 100);
    EXPECT_EQ(r.error().message(), c.message);
  }
}

TEST(Auth, RealmUrlsAreHttpOrHttpsWithAHost) {
  auto u = parseHttpUrl("HTTPS://Auth.Example.com:8443/token?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->authority, "auth.example.com:8443");
  EXPECT_EQ(parseHttpUrl("http://127.0.0.1:5000")->authority, "127.0.0.1:5000");
  EXPECT_EQ(parseHttpUrl("file:///etc/passwd").error().message(),
            "\"file:///etc/passwd\" is not a usable URL: only http and https are allowed");
  EXPECT_EQ(parseHttpUrl("gopher://x/").error().message(), "\"gopher://x/\" is not a usable URL: only http and https are allowed");
  EXPECT_EQ(parseHttpUrl("https:///path").error().message(), "\"https:///path\" is not a usable URL: no host");
  EXPECT_EQ(parseHttpUrl("https://user:pw@host/").error().message(),
            "\"https://user:pw@host/\" is not a usable URL: credentials in a URL are not allowed");
  EXPECT_EQ(parseHttpUrl("token").error().message(), "\"token\" is not a usable URL: no scheme");
  // invalid UTF-8 in a realm: the message is still valid UTF-8
  auto bad = parseHttpUrl("ftp://\xff\xfe/");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "\"ftp://\xef\xbf\xbd\xef\xbf\xbd/\" is not a usable URL: only http and https are allowed");
}

TEST(Auth, MalformedChallengeMessageIsPrintable) {
  auto c = parseChallenges("Bearer realm=\"\xff\r\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "malformed WWW-Authenticate header: Bearer realm=\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
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
  auto typed = decodeRegistryAuth(base64Encode(R"({"username":["bob"]})"));
  ASSERT_FALSE(typed);
  EXPECT_EQ(typed.error().message(), "invalid X-Registry-Auth header: username must be a string, not an array");
  EXPECT_EQ(*base64Decode(base64Encode("any carnal pleas")), "any carnal pleas");
}

}  // namespace
}  // namespace vic::images
