// The registry client against a registry that answers whatever the test says (FakeRegistry on
// loopback): limits while downloading, token realms, redirects, messages built from hostile
// bytes. The pure policy functions are checked directly.
#include "images/registry_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "images/fake_registry.h"
#include "images/manifest.h"
#include "images/progress.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(RegistryPolicy, LoopbackIsADottedQuadOrLocalhost) {
  EXPECT_TRUE(isLoopbackRegistry("127.0.0.1:5000"));
  EXPECT_TRUE(isLoopbackRegistry("127.1.2.3"));
  EXPECT_TRUE(isLoopbackRegistry("localhost:5000"));
  EXPECT_TRUE(isLoopbackRegistry("[::1]:5000"));
  EXPECT_FALSE(isLoopbackRegistry("127.evil.example:5000"));  // a name, resolvable anywhere
  EXPECT_FALSE(isLoopbackRegistry("10.0.0.1:5000"));
  EXPECT_FALSE(isLoopbackRegistry("registry-1.docker.io"));
}

TEST(RegistryPolicy, TokenRealms) {
  EXPECT_TRUE(checkTokenRealm("https://auth.docker.io/token?service=x", false, "registry-1.docker.io"));
  EXPECT_TRUE(checkTokenRealm("http://127.0.0.1:5001/token", true, "127.0.0.1:5000"));
  EXPECT_TRUE(checkTokenRealm("http://10.0.0.5:5000/token", true, "10.0.0.5:5000"));  // an insecure registry's own host
  struct Case {
    std::string realm;
    bool plain;
    std::string registry, message;
  } refused[] = {
      {"http://auth.example/token", false, "registry.example",
       "refusing the registry's token realm \"http://auth.example/token\": plain http is allowed only for a plain-HTTP registry on this host"},
      {"http://evil.example/token", true, "127.0.0.1:5000",
       "refusing the registry's token realm \"http://evil.example/token\": plain http is allowed only for a plain-HTTP registry on this host"},
      {"http://127.0.0.1:5001/token", false, "registry.example",
       "refusing the registry's token realm \"http://127.0.0.1:5001/token\": plain http is allowed only for a plain-HTTP registry on this host"},
      {"file:///etc/passwd", true, "127.0.0.1:5000",
       "refusing the registry's token realm: \"file:///etc/passwd\" is not a usable URL: only http and https are allowed"},
      {"gopher://127.0.0.1:70/", true, "127.0.0.1:5000",
       "refusing the registry's token realm: \"gopher://127.0.0.1:70/\" is not a usable URL: only http and https are allowed"},
  };
  for (const auto& c : refused) {
    auto st = checkTokenRealm(c.realm, c.plain, c.registry);
    ASSERT_FALSE(st) << c.realm;
    EXPECT_EQ(st.error().message(), c.message);
  }
}

TEST(RegistryPolicy, ErrorBodies) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(registryErrorBody(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})"),
            (P{"MANIFEST_UNKNOWN", "manifest unknown"}));
  EXPECT_EQ(registryErrorBody(R"({"errors":[{"code":1,"message":"m"}]})"), P{});
  EXPECT_EQ(registryErrorBody(R"({"errors":["x"]})"), P{});
  EXPECT_EQ(registryErrorBody(R"({"errors":{}})"), P{});
  EXPECT_EQ(registryErrorBody("<html>502</html>"), P{});
  EXPECT_EQ(registryErrorBody(R"({"errors":[{"code":"X","message":"a\u001b[31mb"}]})"), (P{"X", "a\xef\xbf\xbd[31mb"}));
}

class HostileRegistry : public ::testing::Test {
 protected:
  RegistryClient client(RegistryOptions opts = {}) {
    return RegistryClient(*parseReference(reg_.host() + "/test/x"), std::move(opts));
  }
  static RegistryOptions bob() {
    RegistryOptions o;
    o.creds = {"bob", "secret", ""};
    return o;
  }
  std::string url(const std::string& path) { return "http://" + reg_.host() + path; }
  FakeRegistry reg_;
};

TEST_F(HostileRegistry, AManifestOver4MiBStopsTheDownload) {
  reg_.set("/v2/test/x/manifests/latest", {200, {}, std::string(kMaxManifestBytes + 1, ' ')});
  auto m = client().manifest("latest");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "Get \"" + url("/v2/test/x/manifests/latest") +
                                     "\": the registry's answer is larger than 4194304 bytes");
  reg_.set("/v2/test/x/manifests/latest", {200, {}, std::string(kMaxManifestBytes, ' ')});
  EXPECT_TRUE(client().manifest("latest"));  // exactly at the cap is fine
}

TEST_F(HostileRegistry, ConfigBlobsAreCapped) {
  std::string body(100, 'c');
  std::string d = sha256Digest(body);
  reg_.set("/v2/test/x/blobs/" + d, {200, {}, body});
  auto small = client().fetchBlobBytes(d, 10);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().message(), "blob " + d + " is larger than 10 bytes");
  EXPECT_EQ(*client().fetchBlobBytes(d, 100), body);
  EXPECT_EQ(client().fetchBlobBytes("sha256:../../x").error().message(), "invalid blob digest sha256:../../x");
}

TEST_F(HostileRegistry, ALayerIsNotReadPastItsDeclaredSize) {
  std::string body(1 << 20, 'l');
  std::string d = sha256Digest(body);
  reg_.set("/v2/test/x/blobs/" + d, {200, {}, body});
  std::string file = ::testing::TempDir() + "/layer-" + std::to_string(::getpid());
  auto st = client().fetchBlob(d, 1000, file);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "blob " + d + " is larger than the 1000 bytes its descriptor declares");
  EXPECT_FALSE(fs::exists(file));
  EXPECT_FALSE(fs::exists(file + ".partial"));
  EXPECT_EQ(reg_.requests().size(), 1u);  // not retried

  auto shorter = client().fetchBlob(d, 2 << 20, file);
  ASSERT_FALSE(shorter);
  EXPECT_EQ(shorter.error().message(), "blob " + d + " is 1048576 bytes, its descriptor declares 2097152");
  EXPECT_FALSE(fs::exists(file));

  ASSERT_TRUE(client().fetchBlob(d, 1 << 20, file));
  EXPECT_EQ(fs::file_size(file), 1u << 20);
  fs::remove(file);
}

TEST_F(HostileRegistry, AFileRealmIsRefusedBeforeAnyRequest) {
  reg_.set("/v2/test/x/manifests/latest",
           {401, {{"WWW-Authenticate", R"(Bearer realm="file:///etc/passwd",service="x")"}}, ""});
  auto m = client(bob()).manifest("latest");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(),
            "refusing the registry's token realm: \"file:///etc/passwd?service=x&scope=repository%3Atest%2Fx%3Apull&account=bob\" "
            "is not a usable URL: only http and https are allowed");
  EXPECT_EQ(reg_.requests().size(), 1u);
}

TEST_F(HostileRegistry, BasicCredentialsNeverGoOverPlainHttpElsewhere) {
  reg_.set("/v2/test/x/manifests/latest",
           {401, {{"WWW-Authenticate", R"(Bearer realm="http://192.0.2.1/token",service="x")"}}, ""});
  auto m = client(bob()).manifest("latest");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), Errc::kForbidden);
  EXPECT_NE(m.error().message().find("plain http is allowed only for a plain-HTTP registry on this host"), std::string::npos)
      << m.error().message();
}

TEST_F(HostileRegistry, ALoopbackRealmGetsTheCredentialsAndTheTokenIsUsed) {
  reg_.set("/v2/test/x/manifests/latest",
           {401, {{"WWW-Authenticate", "Bearer realm=\"" + url("/token") + "\",service=\"x\""}}, ""});
  reg_.set("/token", {200, {}, R"({"token":"t0k","expires_in":300})"});
  auto m = client(bob()).manifest("latest");
  ASSERT_FALSE(m);  // the fake answers 401 again: what matters is what was sent
  auto reqs = reg_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].path, "/token?service=x&scope=repository%3Atest%2Fx%3Apull&account=bob");
  EXPECT_EQ(reqs[1].authorization, "Basic " + base64Encode("bob:secret"));
  EXPECT_EQ(reqs[2].authorization, "Bearer t0k");
}

TEST_F(HostileRegistry, ATokenThatWouldInjectAHeaderIsRefused) {
  reg_.set("/v2/test/x/manifests/latest",
           {401, {{"WWW-Authenticate", "Bearer realm=\"" + url("/token") + "\""}}, ""});
  reg_.set("/token", {200, {}, R"({"token":"t\r\nX-Evil: 1"})"});
  auto m = client().manifest("latest");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "token response has a token with characters a header cannot carry");
  reg_.set("/token", {200, {}, std::string(kMaxTokenBytes + 1, 't')});
  m = client().manifest("latest");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "fetching a registry token: Get \"" + url("/token?scope=repository%3Atest%2Fx%3Apull") +
                                     "\": the registry's answer is larger than 1048576 bytes");
}

TEST_F(HostileRegistry, InvalidUtf8InAChallengeMakesAPrintableError) {
  reg_.set("/v2/test/x/manifests/latest", {401, {{"WWW-Authenticate", "Negotiate \xff\xfe\x01"}}, ""});
  auto m = client().manifest("latest");
  ASSERT_FALSE(m);
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(m.error().message(), "unsupported authentication challenge: Negotiate " + r + r + r);
  // the endpoint's error line for it is JSON that parses back to the same message
  auto line = progressError(m.error().message());
  EXPECT_EQ(json::parse(line)["error"], m.error().message());
  // and a message that still carries raw bytes is replaced, never thrown on
  EXPECT_EQ(json::parse(progressError("raw \xff"))["error"], "raw " + r);
}

TEST_F(HostileRegistry, RedirectsStayOnHttpAndAreBounded) {
  reg_.set("/v2/test/x/manifests/latest", {302, {{"Location", "file:///etc/passwd"}}, ""});
  auto m = client().manifest("latest");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "Get \"" + url("/v2/test/x/manifests/latest") + "\": Unsupported protocol");
  reg_.set("/v2/test/x/manifests/latest", {302, {{"Location", "/v2/test/x/manifests/latest"}}, ""});
  m = client().manifest("latest");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "Get \"" + url("/v2/test/x/manifests/latest") + "\": Number of redirects hit maximum amount");
  EXPECT_EQ(reg_.requests().size(), 1u + 1u + static_cast<size_t>(kMaxRedirects));
}

TEST_F(HostileRegistry, AHugeErrorBodyIsCutAndItsMessageMadePrintable) {
  std::string body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"gone)" + std::string(1 << 20, 'x') + R"("}]})";
  reg_.set("/v2/test/x/manifests/latest", {404, {}, body});
  auto m = client().manifest("latest");
  ASSERT_FALSE(m);  // the body was cut at 64 KiB, so it is not JSON any more
  EXPECT_EQ(m.error().message(), "manifest for " + reg_.host() + "/test/x:latest not found: not found");
  reg_.set("/v2/test/x/manifests/latest", {404, {}, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"no\u0007pe"}]})"});
  EXPECT_EQ(client().manifest("latest").error().message(),
            "manifest for " + reg_.host() + "/test/x:latest not found: no\xef\xbf\xbdpe");
}

}  // namespace
}  // namespace vic::images
