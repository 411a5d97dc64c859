#include "runtime/docker/http.h"

#include <gtest/gtest.h>

namespace vic::docker {
namespace {

TEST(Http, VersionedAndUnversionedPaths) {
  Request r;
  ASSERT_TRUE(splitVersion("/v1.45/containers/json?all=1&filters=%7B%7D", r));
  EXPECT_EQ(r.apiVersion, "1.45");
  EXPECT_EQ(r.path, "/containers/json");
  EXPECT_TRUE(r.flag("all"));
  EXPECT_EQ(r.param("filters"), "{}");
  Request u;
  ASSERT_TRUE(splitVersion("/_ping", u));
  EXPECT_EQ(u.path, "/_ping");
  Request n;
  auto st = splitVersion("/v1.51/info", n);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "client version 1.51 is too new. Maximum supported API version is 1.50");
}

TEST(Http, BodyLimitsByTarget) {
  Limits l{1000, 10, 100};
  EXPECT_EQ(bodyLimitFor("/v1.50/containers/create?name=x", l), 10u);
  EXPECT_EQ(bodyLimitFor("/exec/abc/start", l), 10u);
  EXPECT_EQ(bodyLimitFor("/v1.50/images/load?quiet=1", l), 100u);
  EXPECT_EQ(bodyLimitFor("/containers/x/archive?path=%2Ftmp", l), 100u);
  EXPECT_EQ(bodyLimitFor("/build", l), 100u);
}

TEST(Http, ErrorsAndUpgradeBytes) {
  auto r = errorResponse(Error(Errc::kNotFound, "No such container: x"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(r.body, "{\"message\":\"No such container: x\"}\n");
  EXPECT_EQ(errorResponse(Error(Errc::kNotModified, "")).status, 304);
  EXPECT_EQ(upgradeHeader("application/vnd.docker.raw-stream"),
            "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
  std::string s = serialize(jsonResponse(200, "{}"), false, true);
  EXPECT_EQ(s.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(s.find("Api-Version: 1.50\r\n"), std::string::npos);
  EXPECT_NE(s.find("Content-Length: 2\r\n\r\n{}"), std::string::npos);
  EXPECT_EQ(chunk("abc"), "3\r\nabc\r\n");
  // a streamed answer closes the connection and must say so, or the client reuses it
  std::string streamed = chunkedHeader(200, "application/json");
  EXPECT_NE(streamed.find("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"), std::string::npos);
}

}  // namespace
}  // namespace vic::docker
