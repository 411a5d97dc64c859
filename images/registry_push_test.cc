// The registry client's push side and docker login's check against FakeRegistry keeping what is
// pushed: one-PUT and chunked uploads, mounts, manifests, Basic and Bearer auth with the push
// scope, upload locations that point elsewhere; and docker's words for registry errors (golden).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "images/auth.h"
#include "images/fake_registry.h"
#include "images/manifest.h"
#include "images/registry_client.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;

TEST(RegistryErrorText, DockersWords) {
  // the htpasswd registry's refusal (with detail): what docker push prints for bad credentials
  EXPECT_EQ(registryErrorText(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required",)"
                                   R"("detail":[{"Type":"repository","Name":"x","Action":"push"}]}]})"),
            "unauthorized: authentication required");
  EXPECT_EQ(registryErrorText(401, ""), "unauthorized: authentication required");
  // a Bearer challenge's OAuth error wins (Docker Hub's push without access)
  EXPECT_EQ(registryErrorText(401, "", R"(Bearer realm="https://auth.docker.io/token",error="insufficient_scope")"),
            "denied: requested access to the resource is denied");
  EXPECT_EQ(registryErrorText(401, "", R"(Bearer realm="r",error="invalid_token",error_description="token expired")"),
            "unauthorized: token expired");
  // a token server's {"details":...}
  EXPECT_EQ(registryErrorText(401, R"({"details":"incorrect username or password"})"),
            "unauthorized: incorrect username or password");
  EXPECT_EQ(registryErrorText(429, R"({"details":"slow down"})"), "toomanyrequests: slow down");
  // errcode's rule: the code alone when the message is its default and there is no detail
  EXPECT_EQ(registryErrorText(403, R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})"),
            "denied");
  EXPECT_EQ(registryErrorText(400, R"({"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry",)"
                                   R"("detail":"sha256:ab"}]})"),
            "manifest blob unknown: blob unknown to registry");
  EXPECT_EQ(registryErrorText(400, R"({"errors":[{"code":"NAME_INVALID","message":"bad name"},{"code":"DENIED"}]})"),
            "name invalid: bad name");  // the first of several, as moby's push reports it
  EXPECT_EQ(registryErrorText(404, R"({"errors":[{"code":"NO_SUCH_CODE","message":"m"}]})"), "unknown: m");
  EXPECT_EQ(registryErrorText(400, "<html>"),
            "error parsing HTTP 400 response body: invalid character '<' looking for beginning of value: \"<html>\"");
  EXPECT_EQ(registryErrorText(404, "{}"),
            "error parsing HTTP 404 response body: no error details found in HTTP response body: \"{}\"");
  EXPECT_EQ(registryErrorText(500, "oops"), "received unexpected HTTP status: 500 Internal Server Error");
  EXPECT_EQ(registryErrorText(502, "", "", "502 Proxy Down"), "received unexpected HTTP status: 502 Proxy Down");
  EXPECT_EQ(registryErrorText(400, R"({"errors":[{"code":"TAG_INVALID","message":"a\u0007b"}]})"), "tag invalid: a\xef\xbf\xbd" "b");
  EXPECT_EQ(registryErrorText(400, "{\"errors\":\xff}"),
            "error parsing HTTP 400 response body: the body is not valid JSON: \"{\"errors\":\xef\xbf\xbd}\"");
}

class PushRegistry : public ::testing::Test {
 protected:
  void SetUp() override { reg_.acceptPushes(); }
  RegistryClient client(RegistryOptions opts = {}) {
    opts.push = true;
    return RegistryClient(*parseReference(reg_.host() + "/test/x"), std::move(opts));
  }
  std::string file(const std::string& data) {
    std::string f = ::testing::TempDir() + "/push-blob-" + std::to_string(::getpid()) + "-" + std::to_string(n_++);
    std::ofstream(f, std::ios::binary) << data;
    files_.push_back(f);
    return f;
  }
  void TearDown() override {
    for (const auto& f : files_) fs::remove(f);
  }
  std::vector<std::string> methods() {
    std::vector<std::string> out;
    for (const auto& r : reg_.requests()) out.push_back(r.method + " " + r.path.substr(0, r.path.find('?')));
    return out;
  }
  std::string url(const std::string& path) { return "http://" + reg_.host() + path; }
  FakeRegistry reg_;
  std::vector<std::string> files_;
  int n_ = 0;
};

TEST_F(PushRegistry, ASmallBlobGoesInOnePut) {
  std::string data(1000, 'a'), d = sha256Digest(data);
  auto c = client();
  EXPECT_EQ(*c.blobSize(d), std::nullopt);
  std::vector<uint64_t> seen;
  ASSERT_TRUE(c.uploadBlob(d, file(data), [&](uint64_t done, uint64_t total) {
    EXPECT_EQ(total, 1000u);
    seen.push_back(done);
  }));
  EXPECT_EQ(reg_.blob("test/x", d), data);
  EXPECT_EQ(*c.blobSize(d), std::optional<int64_t>(1000));
  EXPECT_EQ(methods(), (std::vector<std::string>{"HEAD /v2/test/x/blobs/" + d, "POST /v2/test/x/blobs/uploads/",
                                                 "PUT /v2/test/x/blobs/uploads/u0", "HEAD /v2/test/x/blobs/" + d}));
  auto put = reg_.requests()[2];
  EXPECT_EQ(put.path, "/v2/test/x/blobs/uploads/u0?_state=s&digest=" + d);  // the Location's query kept
  EXPECT_EQ(put.contentType, "application/octet-stream");
  EXPECT_EQ(put.bodySize, 1000u);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), 1000u);
}

TEST_F(PushRegistry, ALargeBlobGoesInChunks) {
  std::string data(2500, 'b');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::string d = sha256Digest(data);
  RegistryOptions o;
  o.chunkBytes = 1000;
  ASSERT_TRUE(client(o).uploadBlob(d, file(data)));
  EXPECT_EQ(reg_.blob("test/x", d), data);
  auto reqs = reg_.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[1].method + reqs[1].contentRange + "/" + std::to_string(reqs[1].bodySize), "PATCH0-999/1000");
  EXPECT_EQ(reqs[2].method + reqs[2].contentRange + "/" + std::to_string(reqs[2].bodySize), "PATCH1000-1999/1000");
  EXPECT_EQ(reqs[3].method + "/" + std::to_string(reqs[3].bodySize), "PUT/500");
  EXPECT_EQ(reqs[3].path, "/v2/test/x/blobs/uploads/u0?_state=s2&digest=" + d);
}

TEST_F(PushRegistry, MountsFromAnotherRepositoryOrUploadsIntoTheStartedSession) {
  std::string data = "layer", d = sha256Digest(data);
  reg_.addBlob("test/base", data);
  auto c = client();
  EXPECT_TRUE(*c.mountBlob(d, "test/base"));
  EXPECT_EQ(reg_.blob("test/x", d), data);
  EXPECT_EQ(reg_.requests().back().path, "/v2/test/x/blobs/uploads/?mount=" + d + "&from=test%2Fbase");

  std::string other = "other", od = sha256Digest(other);
  EXPECT_FALSE(*c.mountBlob(od, "test/base"));  // not there: the registry starts an upload
  ASSERT_TRUE(c.uploadBlob(od, file(other)));  // which the upload continues (no second POST)
  EXPECT_EQ(methods().back(), "PUT /v2/test/x/blobs/uploads/u0");
  EXPECT_EQ(reg_.blob("test/x", od), other);
}

TEST_F(PushRegistry, ManifestsNamingMissingBlobsAreRefusedInDockersWords) {
  std::string config = "{}", cd = sha256Digest(config);
  std::string m = R"({"schemaVersion":2,"config":{"digest":")" + cd + R"("},"layers":[]})";
  auto c = client();
  auto st = c.putManifest("v1", "application/vnd.docker.distribution.manifest.v2+json", m);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "manifest blob unknown");
  ASSERT_TRUE(c.uploadBlobBytes(cd, config));
  ASSERT_TRUE(c.putManifest("v1", "application/vnd.docker.distribution.manifest.v2+json", m));
  auto got = reg_.manifest("test/x", "v1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, m);
  EXPECT_EQ(got->contentType, "application/vnd.docker.distribution.manifest.v2+json");
  auto bad = c.uploadBlobBytes(sha256Digest("x"), "not x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "digest invalid");
}

TEST_F(PushRegistry, AnUploadLocationOnAnotherHostIsRefused) {
  reg_.set("/v2/test/x/blobs/uploads/", {202, {{"Location", "http://192.0.2.1/v2/test/x/blobs/uploads/1"}}, ""});
  auto st = client().uploadBlobBytes(sha256Digest("x"), "x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "refusing the registry's upload location \"http://192.0.2.1/v2/test/x/blobs/uploads/1\": "
                                  "it is not on http://" + reg_.host());
  EXPECT_EQ(reg_.requests().size(), 1u);
  reg_.set("/v2/test/x/blobs/uploads/", {202, {}, ""});
  EXPECT_EQ(client().uploadBlobBytes(sha256Digest("x"), "x").error().message(),
            "the registry started an upload without a Location");
}

TEST_F(PushRegistry, BasicAuthWithoutWithWrongAndWithRightCredentials) {
  reg_.requireAuth("Basic " + base64Encode("vic:vic-secret"),
                   {401, {{"WWW-Authenticate", R"(Basic realm="vic-test")"}},
                    R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[]}]})"});
  std::string data = "blob", d = sha256Digest(data);
  auto none = client().uploadBlobBytes(d, data);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "no basic auth credentials");  // docker's words
  RegistryOptions wrong;
  wrong.creds = {"vic", "nope", ""};
  auto refused = client(wrong).uploadBlobBytes(d, data);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message(), "unauthorized: authentication required");
  EXPECT_EQ(refused.error().code(), Errc::kForbidden);
  auto head = client(wrong).blobSize(d);  // a HEAD's refusal has no body
  ASSERT_FALSE(head);
  EXPECT_EQ(head.error().message(), "unauthorized: authentication required");
  EXPECT_EQ(*client(wrong).blobSize(d, true), std::nullopt);  // lenient: "not there", the upload will say why
  EXPECT_FALSE(client().blobSize(d, true));  // but no credentials for a Basic challenge is still an error
  RegistryOptions right;
  right.creds = {"vic", "vic-secret", ""};
  ASSERT_TRUE(client(right).uploadBlobBytes(d, data));
  EXPECT_EQ(reg_.blob("test/x", d), data);
}

TEST_F(PushRegistry, BearerTokensAskForPushAndForTheMountSources) {
  reg_.set("/token", {200, {}, R"({"token":"t0k"})"});
  reg_.requireAuth("Bearer t0k", {401, {{"WWW-Authenticate", "Bearer realm=\"" + url("/token") + "\",service=\"reg\""}}, ""});
  RegistryOptions o;
  o.creds = {"bob", "pw", ""};
  o.mountFrom = {"test/base", "test/x"};
  std::string data = "blob", d = sha256Digest(data);
  ASSERT_TRUE(client(o).uploadBlobBytes(d, data));
  auto reqs = reg_.requests();
  ASSERT_GE(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].path, "/token?service=reg&scope=repository%3Atest%2Fx%3Apull%2Cpush&scope=repository%3Atest%2Fbase%3Apull"
                          "&account=bob");
  EXPECT_EQ(reqs.back().authorization, "Bearer t0k");
}

TEST_F(PushRegistry, LoginChecksTheCredentialsAsDockerdDoes) {
  reg_.requireAuth("Basic " + base64Encode("vic:vic-secret"), {401, {{"WWW-Authenticate", R"(Basic realm="x")"}}, ""});
  EXPECT_TRUE(login(reg_.host(), {"vic", "vic-secret", ""}));
  EXPECT_TRUE(login("http://" + reg_.host() + "/v1/", {"vic", "vic-secret", ""}));
  auto bad = login(reg_.host(), {"vic", "wrong", ""});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kForbidden);
  EXPECT_EQ(bad.error().message(), "login attempt to " + url("/v2/") + " failed with status: 401 Unauthorized");

  FakeRegistry tokens;  // a token service that refuses the password
  tokens.set("/token", {401, {}, R"({"details":"incorrect username or password"})"});
  tokens.requireAuth("Bearer t", {401, {{"WWW-Authenticate", "Bearer realm=\"http://" + tokens.host() + "/token\""}}, ""});
  auto refused = login(tokens.host(), {"bob", "bad", ""});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Errc::kForbidden);
  EXPECT_EQ(refused.error().message(), "Get \"http://" + tokens.host() + "/v2/\": unauthorized: incorrect username or password");
  EXPECT_EQ(tokens.requests()[1].path, "/token?account=bob");  // login asks for no repository

  auto down = login("127.0.0.1:1", {"a", "b", ""});
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), Errc::kUnavailable);
  EXPECT_EQ(down.error().message(), "Get \"http://127.0.0.1:1/v2/\": Couldn't connect to server");
}

}  // namespace
}  // namespace vic::images
