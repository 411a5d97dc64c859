// The server in process: raw HTTP over a socketpair.
#include <gtest/gtest.h>

#include "common/json.h"
#include "runtime/vicadmin/test_fixture.h"

namespace vic::vicadmin {
namespace {
using testing::bodyOf;
using testing::ServerHarness;
using testing::statusOf;

TEST(VicadminServer, LoginThenEveryPageAndItsJsonTwin) {
  ServerHarness h;
  std::string login = h.exchange("GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(statusOf(login), 200);
  std::string r = h.postLogin("s3cret-token");
  EXPECT_EQ(statusOf(r), 303) << r;
  EXPECT_NE(r.find("Location: /\r\n"), std::string::npos);
  EXPECT_NE(r.find("; HttpOnly; SameSite=Strict"), std::string::npos);  // no Secure over plain HTTP
  std::string s = h.login();
  for (std::string page : {"/", "/containers", "/images", "/volumes", "/networks", "/logs", "/logs/view?log=endpoint"}) {
    std::string got = h.get(page, s);
    EXPECT_EQ(statusOf(got), 200) << page << got;
    EXPECT_NE(got.find("Content-Type: text/html; charset=utf-8"), std::string::npos) << page;
    EXPECT_NE(got.find("<nav>"), std::string::npos) << page;
  }
  for (std::string api : {"/api/status", "/api/containers", "/api/images", "/api/volumes", "/api/networks", "/api/logs",
                          "/api/logs/tail?log=endpoint&lines=1"}) {
    std::string got = h.get(api, s);
    EXPECT_EQ(statusOf(got), 200) << api << got;
    EXPECT_FALSE(parseJson(bodyOf(got)).is_discarded()) << api;
  }
  EXPECT_EQ(parseJson(bodyOf(h.get("/api/logs/tail?log=endpoint&lines=1", s)))["lines"], parseJson(R"(["endpoint line 2"])"));
  json containers = parseJson(bodyOf(h.get("/api/containers", s)));
  EXPECT_EQ(containers["endpoint"]["ok"], true);
  EXPECT_EQ(containers["items"].size(), 3u);
  json logs = parseJson(bodyOf(h.get("/api/logs", s)));
  EXPECT_EQ(logs["items"].size(), 8u);  // the daemons', and each container's console and output
  EXPECT_EQ(logs["items"][2]["name"], "container:" + testing::kId1);
  EXPECT_EQ(logs["items"][3]["name"], "output:" + testing::kId1);
  EXPECT_EQ(parseJson(bodyOf(h.get("/api/logs/tail?log=output:aaaa", s)))["lines"], parseJson(R"(["output of aaaa", "<b>bold</b>"])"));
  std::string outputView = h.get("/logs/view?log=output:" + testing::kId1, s);
  EXPECT_NE(outputView.find("&lt;b&gt;bold&lt;/b&gt;"), std::string::npos) << "a container's output is text, not HTML";
  json tail = parseJson(bodyOf(h.get("/api/logs/tail?log=container:aaaa", s)));
  EXPECT_EQ(tail["lines"][1], "<script>alert('log')</script>");
  std::string view = h.get("/logs/view?log=container:" + testing::kHostileId, s);
  EXPECT_NE(view.find("&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;"), std::string::npos);
  std::string status = parseJson(bodyOf(h.get("/api/status", s))).dump();
  EXPECT_NE(status.find("\"id\":\"firewall:VIC-vch1-IN\""), std::string::npos);
}

TEST(VicadminServer, EveryAnswerCarriesTheSecurityHeaders) {
  ServerHarness h;
  std::string s = h.login();
  for (std::string target : {"/", "/api/status", "/login", "/static/vicadmin.css", "/static/vicadmin.js", "/nowhere"}) {
    std::string r = h.get(target, s);
    EXPECT_NE(r.find("Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'\r\n"),
              std::string::npos) << target;
    EXPECT_NE(r.find("X-Frame-Options: DENY\r\n"), std::string::npos) << target;
    EXPECT_NE(r.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos) << target;
    EXPECT_NE(r.find("Referrer-Policy: same-origin\r\n"), std::string::npos) << target;
  }
  EXPECT_NE(h.get("/static/vicadmin.js").find("text/javascript"), std::string::npos);  // no login needed for these
  EXPECT_NE(h.postLogin("x").find("X-Frame-Options: DENY"), std::string::npos);
}

TEST(VicadminServer, AVerifiedClientCertificateNeedsNoLogin) {
  ServerHarness h;
  EXPECT_EQ(statusOf(h.get("/api/status", "", true)), 200);
  EXPECT_EQ(statusOf(h.get("/containers", "", true)), 200);
  EXPECT_EQ(statusOf(h.get("/api/status", "", false)), 401);
}

TEST(VicadminServer, LogoutEndsTheSession) {
  ServerHarness h;
  std::string s = h.login();
  std::string r = h.exchange("POST /logout HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\nCookie: vicadmin_session=" + s + "\r\n\r\n");
  EXPECT_EQ(statusOf(r), 303);
  EXPECT_NE(r.find("vicadmin_session=; Path=/; Max-Age=0"), std::string::npos);
  EXPECT_EQ(statusOf(h.get("/api/status", s)), 401);
}

TEST(VicadminServer, FollowSendsNewLinesAsEvents) {
  ServerHarness h;
  std::string s = h.login();
  std::string req = "GET /api/logs/follow?log=container:" + testing::kId1.substr(0, 12) + " HTTP/1.1\r\nHost: x\r\nCookie: vicadmin_session=" + s + "\r\n\r\n";
  std::string console = h.vch.cfg.datastore + "/containers/" + testing::kId1 + "/console.log";
  auto more = [&] { testing::TestVch::append(console, "new line <b>\nsecond"); };
  std::string r = h.exchange(req, false, ": following container:" + testing::kId1 + "\n\n", more, "data: new line <b>\n\n");
  EXPECT_EQ(statusOf(r), 200) << r;
  EXPECT_NE(r.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_EQ(r.find("console of"), std::string::npos);  // only what came after
  EXPECT_EQ(r.find("second"), std::string::npos);       // not a line yet
}

TEST(VicadminServer, FollowEndsWhenTheSessionDoes) {
  ServerHarness h(std::chrono::seconds(30));
  std::string s = h.login();
  std::string req = "GET /api/logs/follow?log=endpoint HTTP/1.1\r\nHost: x\r\nCookie: vicadmin_session=" + s + "\r\n\r\n";
  std::string r = h.exchange(req, false, ": following endpoint\n\n", [&] { h.fakeSeconds = 31; }, "event: end\n");
  EXPECT_NE(r.find("event: end\ndata: the session ended\n\n"), std::string::npos) << r;
}

TEST(VicadminServer, BundleDownload) {
  ServerHarness h;
  std::string s = h.login();
  std::string r = h.get("/bundle", s);
  EXPECT_EQ(statusOf(r), 200) << r.substr(0, 300);
  EXPECT_NE(r.find("Content-Type: application/gzip\r\n"), std::string::npos);
  EXPECT_NE(r.find("Content-Disposition: attachment; filename=\"vch-vch1-20231114T221320Z.tar.gz\"\r\n"), std::string::npos);
  std::string body = bodyOf(r);
  ASSERT_GT(body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(body[1]), 0x8b);
  auto cl = r.find("Content-Length: ");
  EXPECT_EQ(std::stoul(r.substr(cl + 16)), body.size());
}

TEST(VicadminServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  ServerHarness h;
  std::string s = h.login();
  std::string one = "GET /api/logs HTTP/1.1\r\nHost: x\r\nCookie: vicadmin_session=" + s + "\r\n\r\n";
  std::string r = h.exchange(one + one + "GET /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: vicadmin_session=" + s + "\r\n\r\n");
  size_t answers = 0;
  for (size_t at = 0; (at = r.find("HTTP/1.1 200 OK", at)) != std::string::npos; ++at) ++answers;
  EXPECT_EQ(answers, 3u);
}

}  // namespace
}  // namespace vic::vicadmin
