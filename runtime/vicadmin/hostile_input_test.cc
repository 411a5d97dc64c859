// What an attacker (or a broken client) sends vicadmin: wrong tokens, stale sessions, paths
// in log names, unknown containers, garbage requests; and an endpoint that is down.
#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/vicadmin/test_fixture.h"

namespace vic::vicadmin {
namespace {
using testing::bodyOf;
using testing::ServerHarness;
using testing::statusOf;

TEST(VicadminHostile, WrongTokenIsRefusedWithTheLoginPage) {
  ServerHarness h;
  auto t0 = std::chrono::steady_clock::now();
  std::string r = h.postLogin("guess");
  EXPECT_EQ(statusOf(r), 401) << r;
  EXPECT_NE(r.find("wrong token"), std::string::npos);
  EXPECT_NE(r.find("name=\"token\""), std::string::npos);  // the form again
  EXPECT_EQ(r.find("Set-Cookie"), std::string::npos);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, Auth::kFailureDelay);  // slowed down
  EXPECT_EQ(h.server->auth().sessions(), 0u);
}

TEST(VicadminHostile, EmptyOrMissingTokenFileLetsNobodyIn) {
  ServerHarness h;
  testing::TestVch::write(h.vch.cfg.adminTokenFile, "\n");
  std::string r = h.postLogin("");
  EXPECT_EQ(statusOf(r), 503) << r;
  EXPECT_NE(r.find("no admin token is set"), std::string::npos);
  std::filesystem::remove(h.vch.cfg.adminTokenFile);
  EXPECT_EQ(statusOf(h.postLogin("s3cret-token")), 503);
}

TEST(VicadminHostile, WithoutASessionPagesRedirectAndApisAnswer401) {
  ServerHarness h;
  std::string page = h.get("/containers");
  EXPECT_EQ(statusOf(page), 303) << page;
  EXPECT_NE(page.find("Location: /login\r\n"), std::string::npos);
  std::string api = h.get("/api/containers");
  EXPECT_EQ(statusOf(api), 401) << api;
  EXPECT_NE(api.find("application/json"), std::string::npos);
  EXPECT_NE(bodyOf(api).find("authentication required"), std::string::npos);
  EXPECT_EQ(statusOf(h.get("/api/status", std::string(64, 'f'))), 401);  // a made-up session
  EXPECT_EQ(statusOf(h.get("/bundle")), 303);
  EXPECT_EQ(statusOf(h.get("/api/logs/follow?log=endpoint")), 401);
  EXPECT_EQ(h.probe.dockerCalls.load(), 0);  // nothing was looked up for them
}

TEST(VicadminHostile, ExpiredSessionIsRefused) {
  ServerHarness h(std::chrono::seconds(60));
  std::string session = h.login();
  EXPECT_EQ(statusOf(h.get("/api/status", session)), 200);
  h.fakeSeconds = 61;
  EXPECT_EQ(statusOf(h.get("/api/status", session)), 401);
  EXPECT_EQ(statusOf(h.get("/", session)), 303);
}

TEST(VicadminHostile, RotatedTokenEndsEverySessionAndTheOldTokenStopsWorking) {
  ServerHarness h;
  std::string a = h.login(), b = h.login();
  EXPECT_EQ(statusOf(h.get("/api/status", a)), 200);
  testing::TestVch::write(h.vch.cfg.adminTokenFile, "new-token\n");
  EXPECT_EQ(statusOf(h.get("/api/status", a)), 401);
  EXPECT_EQ(statusOf(h.get("/api/status", b)), 401);
  EXPECT_EQ(statusOf(h.postLogin("s3cret-token")), 401);
  EXPECT_EQ(statusOf(h.postLogin("new-token")), 303);
}

TEST(VicadminHostile, LogNamesAreNeverPaths) {
  ServerHarness h;
  std::string s = h.login();
  for (std::string name : std::vector<std::string>{"../../etc/shadow", "%2e%2e%2f%2e%2e%2fetc%2fshadow", "/etc/shadow", "container:../x", "container:..%2f..%2fetc",
                           "container:dead", "container:", "container:AAAA", "endpoint/../../etc/shadow", "container:" + std::string(65, 'a'),
                           "container:aaaa%00", "vicadmin%00"}) {
    std::string r = h.get("/api/logs/tail?log=" + name, s);
    EXPECT_EQ(statusOf(r), 404) << name << "\n" << r;
    EXPECT_EQ(r.find("root:"), std::string::npos) << name;
    std::string page = h.get("/logs/view?log=" + name, s);
    EXPECT_EQ(statusOf(page), 404) << name;
    EXPECT_EQ(statusOf(h.get("/api/logs/follow?log=" + name, s)), 404) << name;
  }
  EXPECT_NE(bodyOf(h.get("/api/logs/tail?log=container:dead", s)).find("no container dead"), std::string::npos);
  EXPECT_NE(bodyOf(h.get("/api/logs/tail?log=../../etc/shadow", s)).find("no log named"), std::string::npos);
}

TEST(VicadminHostile, AGuestPlantedSymlinkIsNotFollowed) {
  ServerHarness h;
  std::string s = h.login();
  std::string console = h.vch.cfg.datastore + "/containers/" + testing::kId1 + "/console.log";
  std::filesystem::remove(console);
  std::filesystem::create_symlink("/etc/passwd", console);
  std::string r = h.get("/api/logs/tail?log=container:" + testing::kId1, s);
  EXPECT_EQ(statusOf(r), 404) << r;
  EXPECT_EQ(r.find("root:"), std::string::npos);
  std::filesystem::remove_all(h.vch.cfg.datastore + "/containers/" + testing::kId2);
  std::filesystem::create_directory_symlink("/etc", h.vch.cfg.datastore + "/containers/" + testing::kId2);
  r = h.get("/api/logs/tail?log=container:" + testing::kId2, s);
  EXPECT_EQ(statusOf(r), 404) << r;
}

TEST(VicadminHostile, AnEndpointThatIsDownNeverHangsAPage) {
  ServerHarness h;
  std::string s = h.login();
  h.probe.setEndpointDown("no endpoint listening on /x/docker.sock: Connection refused");
  std::string status = h.get("/", s);
  EXPECT_EQ(statusOf(status), 200);
  EXPECT_NE(status.find("endpoint is down: no endpoint listening"), std::string::npos) << status;
  EXPECT_NE(status.find("data-check=\"libvirt\""), std::string::npos);  // the rest still renders
  EXPECT_NE(status.find("class=\"check fail\" data-check=\"endpoint\""), std::string::npos);
  for (std::string page : {"/containers", "/images", "/volumes", "/networks", "/logs"}) {
    std::string r = h.get(page, s);
    EXPECT_EQ(statusOf(r), 200) << page;
    EXPECT_NE(r.find("endpoint is down"), std::string::npos) << page;
  }
  // Container logs by their exact directory name only.
  EXPECT_EQ(statusOf(h.get("/api/logs/tail?log=container:" + testing::kId1, s)), 200);
  EXPECT_EQ(statusOf(h.get("/api/logs/tail?log=container:aaaa", s)), 404);
}

TEST(VicadminHostile, GarbageAndOversizedRequestsAre400) {
  ServerHarness h;
  EXPECT_EQ(statusOf(h.exchange("GARBAGE\r\n\r\n")), 400);
  EXPECT_EQ(statusOf(h.exchange("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")), 400);  // no Host
  std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  std::string r = h.exchange(big);
  EXPECT_EQ(statusOf(r), 400) << r.substr(0, 200);
  EXPECT_NE(r.find("request header too large"), std::string::npos);
  std::string body(32 * 1024, 'a');
  r = h.exchange("POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(statusOf(r), 400);
  EXPECT_NE(r.find("too large"), std::string::npos);
  std::string s = h.login();
  EXPECT_EQ(statusOf(h.get("/api/logs/tail?log=endpoint&lines=abc", s)), 400);
  EXPECT_EQ(statusOf(h.get("/api/logs/tail?log=endpoint&lines=99999999", s)), 400);
  EXPECT_EQ(statusOf(h.get("/nowhere/<script>", s)), 404);
  EXPECT_EQ(h.get("/nowhere/<script>", s).find("<script>"), std::string::npos);
  r = h.exchange("DELETE /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: vicadmin_session=" + s + "\r\n\r\n");
  EXPECT_EQ(statusOf(r), 400) << r;
}

TEST(VicadminHostile, ALoginFromAnotherSiteIsRefused) {
  ServerHarness h;
  std::string body = "token=s3cret-token";
  std::string r = h.exchange("POST /login HTTP/1.1\r\nHost: 127.0.0.1:2378\r\nOrigin: https://evil.example\r\nConnection: close\r\n"
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(statusOf(r), 403) << r;
  r = h.exchange("POST /login HTTP/1.1\r\nHost: 127.0.0.1:2378\r\nOrigin: https://127.0.0.1:2378\r\nConnection: close\r\n"
                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(statusOf(r), 303) << r;
}

TEST(VicadminHostile, ALogLineCannotForgeServerSentEvents) {
  ServerHarness h;
  std::string s = h.login();
  std::string req = "GET /api/logs/follow?log=endpoint HTTP/1.1\r\nHost: x\r\nCookie: vicadmin_session=" + s + "\r\n\r\n";
  auto addLine = [&] { testing::TestVch::append(h.vch.cfg.logFile, "evil\revent: end\r\ndata: forged\n"); };
  std::string r = h.exchange(req, false, ": following endpoint\n\n", addLine, "forged");
  EXPECT_NE(r.find("data: evil event: end\n\ndata: data: forged\n\n"), std::string::npos) << r;
  EXPECT_EQ(r.find("\nevent: end"), std::string::npos);
}

}  // namespace
}  // namespace vic::vicadmin
