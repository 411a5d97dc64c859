// The registry routes in memory (runtime/docker/api_fixture.h): docker push (streamed progress,
// one tag or every tag, X-Registry-Auth, errors as the stream's last line) and docker login
// (POST /auth: 200, or 401 in dockerd's words), against FakeRegistry keeping what is pushed.
#include <sstream>

#include "common/json.h"
#include "images/auth.h"
#include "images/fake_registry.h"
#include "images/manifest.h"
#include "runtime/docker/api_fixture.h"

namespace vic::docker::testing {
namespace {

using nlohmann::json;

std::vector<json> lines(const std::string& body) {
  std::vector<json> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line != "\r") out.push_back(json::parse(line));
  }
  return out;
}

class RegistryApi : public Api {
 protected:
  RegistryApi() { reg.acceptPushes(); }
  Reply push(const std::string& name, const std::string& query, const std::string& auth = "") {
    auto p = send("POST", "/images/" + name + "/push" + query, auth.empty() ? "" : "X-Registry-Auth: " + auth + "\r\n");
    return finish(p);
  }
  static std::string authHeader(const std::string& user, const std::string& password) {
    return images::base64Encode(json{{"username", user}, {"password", password}, {"serveraddress", "x"}}.dump());
  }
  images::FakeRegistry reg;
};

TEST_F(RegistryApi, PushStreamsDockerdsLinesAndTheRegistryGetsTheImage) {
  std::string repo = reg.host() + "/mine/app";
  ASSERT_EQ(call("POST", "/images/busybox/tag?repo=" + repo + "&tag=v1").status, 201);
  auto r = push(repo, "?tag=v1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  auto got = lines(r.body);
  ASSERT_EQ(got.size(), 3u) << r.body;  // an image without layers: no layer lines
  EXPECT_EQ(got[0], (json{{"status", "The push refers to repository [" + repo + "]"}}));
  auto man = reg.manifest("mine/app", "v1");
  ASSERT_TRUE(man);
  std::string digest = images::sha256Digest(man->body);
  EXPECT_EQ(got[1], (json{{"status", "v1: digest: " + digest + " size: " + std::to_string(man->body.size())}}));
  EXPECT_EQ(got[2], (json{{"progressDetail", json::object()},
                          {"aux", {{"Tag", "v1"}, {"Digest", digest}, {"Size", man->body.size()}}}}));
  EXPECT_EQ(json::parse(man->body)["config"]["digest"], t.imageId);  // the config as stored
  EXPECT_TRUE(reg.blob("mine/app", t.imageId));
  auto ins = call("GET", "/images/" + repo + ":v1/json");
  EXPECT_EQ(ins.js()["RepoDigests"], json::array({repo + "@" + digest}));  // dockerd's digest reference

  auto events = call("GET", "/events?since=0&until=" + std::to_string(time(nullptr) + 1) + "&filters=" +
                                "%7B%22type%22%3A%5B%22image%22%5D%7D");
  std::vector<json> pushes;
  for (const auto& e : lines(events.body)) {
    if (e["Action"] == "push") pushes.push_back(e);
  }
  ASSERT_EQ(pushes.size(), 1u) << events.body;
  EXPECT_EQ(pushes[0]["Actor"]["ID"], repo + ":v1");
  EXPECT_EQ(pushes[0]["Actor"]["Attributes"]["name"], repo);
}

TEST_F(RegistryApi, WithoutATagEveryTagOfTheRepositoryIsPushed) {
  std::string repo = reg.host() + "/mine/all";
  ASSERT_EQ(call("POST", "/images/busybox/tag?repo=" + repo + "&tag=b").status, 201);
  ASSERT_EQ(call("POST", "/images/busybox/tag?repo=" + repo + "&tag=a").status, 201);
  auto r = push(repo, "");
  ASSERT_EQ(r.status, 200);
  auto got = lines(r.body);
  ASSERT_EQ(got.size(), 5u) << r.body;
  EXPECT_EQ(got[2]["aux"]["Tag"], "a");
  EXPECT_EQ(got[4]["aux"]["Tag"], "b");
  EXPECT_TRUE(reg.manifest("mine/all", "a"));
  EXPECT_TRUE(reg.manifest("mine/all", "b"));
}

TEST_F(RegistryApi, PushErrorsInDockersWords) {
  auto bad = call("POST", "/images/Mine/Box/push?tag=1");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.message(), "invalid reference format: repository name (Box) must be lowercase");

  std::string repo = reg.host() + "/mine/none";
  auto missing = push(repo, "?tag=latest");
  ASSERT_EQ(missing.status, 200);  // the stream had begun: the error is its last line, as dockerd's
  auto got = lines(missing.body);
  ASSERT_EQ(got.size(), 2u) << missing.body;
  std::string message = "An image does not exist locally with the tag: " + repo;
  EXPECT_EQ(got[1], (json{{"errorDetail", {{"message", message}}}, {"error", message}}));

  ASSERT_EQ(call("POST", "/images/busybox/tag?repo=" + repo + "&tag=1").status, 201);
  auto noTag = push(repo, "?tag=2");
  EXPECT_EQ(lines(noTag.body).back()["error"], "tag does not exist: " + repo + ":2");
}

TEST_F(RegistryApi, XRegistryAuthIsHonoured) {
  reg.requireAuth("Basic " + images::base64Encode("vic:vic-secret"),
                  {401, {{"WWW-Authenticate", R"(Basic realm="r")"}},
                   R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]})"});
  std::string repo = reg.host() + "/mine/private";
  ASSERT_EQ(call("POST", "/images/busybox/tag?repo=" + repo + "&tag=1").status, 201);
  EXPECT_EQ(lines(push(repo, "?tag=1").body).back()["error"], "no basic auth credentials");
  // the config's HEAD is refused first (no layers here), without a body: distribution's words for a bare 401
  EXPECT_EQ(lines(push(repo, "?tag=1", authHeader("vic", "wrong")).body).back()["error"], "unauthorized: authentication required");
  EXPECT_EQ(lines(push(repo, "?tag=1", "e30=").body).back()["error"], "no basic auth credentials");  // {} is anonymous
  auto good = lines(push(repo, "?tag=1", authHeader("vic", "vic-secret")).body);
  EXPECT_FALSE(good.back().contains("error")) << good.back();
  EXPECT_TRUE(reg.manifest("mine/private", "1"));
}

TEST_F(RegistryApi, LoginAnswersLoginSucceededOr401) {
  reg.requireAuth("Basic " + images::base64Encode("vic:vic-secret"), {401, {{"WWW-Authenticate", R"(Basic realm="r")"}}, ""});
  auto good = call("POST", "/auth", json{{"username", "vic"}, {"password", "vic-secret"}, {"serveraddress", reg.host()}}.dump());
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.js(), (json{{"Status", "Login Succeeded"}, {"IdentityToken", ""}}));

  auto bad = call("POST", "/auth", json{{"username", "vic"}, {"password", "nope"}, {"serveraddress", reg.host()}}.dump());
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.message(), "login attempt to http://" + reg.host() + "/v2/ failed with status: 401 Unauthorized");

  auto down = call("POST", "/auth", json{{"username", "a"}, {"password", "b"}, {"serveraddress", "127.0.0.1:1"}}.dump());
  EXPECT_GE(down.status, 500);
  EXPECT_EQ(down.message(), "Get \"http://127.0.0.1:1/v2/\": Couldn't connect to server");

  auto junk = call("POST", "/auth", "{");
  EXPECT_EQ(junk.status, 400);
}

// A VCH with insecure registries: names under .invalid fail to resolve at once, so which URL a
// failure names shows the transport each registry got (https, or the insecure one's http fallback).
class InsecureRegistryApi : public Api {
 protected:
  InsecureRegistryApi() : Api({"insecure.invalid:5000", "10.0.0.0/8"}) {}
};

TEST_F(InsecureRegistryApi, InfoListsThemAsDockerdDoes) {
  auto reg = call("GET", "/info").js()["RegistryConfig"];
  EXPECT_EQ(reg["InsecureRegistryCIDRs"], (json{"10.0.0.0/8", "::1/128", "127.0.0.0/8"}));
  EXPECT_EQ(reg["IndexConfigs"]["insecure.invalid:5000"], (json{{"Name", "insecure.invalid:5000"}, {"Mirrors", json::array()},
                                                                 {"Secure", false}, {"Official", false}}));
  EXPECT_EQ(reg["IndexConfigs"]["docker.io"]["Secure"], true);
}

TEST_F(InsecureRegistryApi, PullPushAndLoginEachTakeTheRegistrysTransport) {
  auto pull = [&](const std::string& image) {
    auto r = call("POST", "/images/create?fromImage=" + image + "&tag=1");
    return lines(r.body).back()["error"].get<std::string>();
  };
  EXPECT_EQ(pull("insecure.invalid:5000/x"), "Get \"http://insecure.invalid:5000/v2/x/manifests/1\": Couldn't resolve host name");
  EXPECT_EQ(pull("secure.invalid:5000/x"), "Get \"https://secure.invalid:5000/v2/x/manifests/1\": Couldn't resolve host name");

  ASSERT_EQ(call("POST", "/images/busybox/tag?repo=insecure.invalid:5000/x&tag=1").status, 201);
  auto pushed = lines(finish(send("POST", "/images/insecure.invalid:5000/x/push?tag=1")).body);
  EXPECT_EQ(pushed.back()["error"], "Head \"http://insecure.invalid:5000/v2/x/blobs/" + t.imageId + "\": Couldn't resolve host name");

  auto login = call("POST", "/auth", json{{"username", "a"}, {"password", "b"}, {"serveraddress", "insecure.invalid:5000"}}.dump());
  EXPECT_EQ(login.message(), "Get \"http://insecure.invalid:5000/v2/\": Couldn't resolve host name");
  login = call("POST", "/auth", json{{"username", "a"}, {"password", "b"}, {"serveraddress", "https://secure.invalid/v1/"}}.dump());
  EXPECT_EQ(login.message(), "Get \"https://secure.invalid/v2/\": Couldn't resolve host name");
}

}  // namespace
}  // namespace vic::docker::testing
