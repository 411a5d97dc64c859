#include "vsock/codec.h"

#include <gtest/gtest.h>

namespace vic::vsock {
namespace {

TEST(Codec, RequestGoldenJson) {
  SessionSpec s;
  s.id = "main";
  s.argv = {"sh", "-c", "echo hi"};
  s.tty = true;
  Message m = RequestMsg{3, Launch{s, ChannelSet{1, 2, 0}}};
  EXPECT_EQ(encode(m),
            R"({"body":{"channels":{"stderrCh":0,"stdinCh":1,"stdoutCh":2},"session":{"argv":["sh","-c","echo hi"],)"
            R"("cols":0,"env":[],"groups":[],"id":"main","openStdin":false,"rows":0,"runBlock":false,)"
            R"("stdinOnce":false,"tty":true,"user":"","workdir":""}},"id":3,"request":"launch"})");
}

TEST(Codec, ResponseGoldenJson) {
  Message ok = ResponseMsg{9, std::nullopt, ExitStatus{"main", 143, 15, false, 1, 2, ""}};
  EXPECT_EQ(encode(ok),
            R"({"body":{"error":"","exitCode":143,"finishedNs":2,"oomKilled":false,"session":"main",)"
            R"("signal":15,"startedNs":1},"id":9,"result":"exit"})");
  Message err = ResponseMsg{4, Error(Errc::kNotFound, "no such session x"), Empty{}};
  EXPECT_EQ(encode(err), R"({"error":{"kind":"not found","message":"no such session x"},"id":4})");
}

TEST(Codec, EveryRequestRoundTrips) {
  std::vector<Request> all = {Ping{}, Configure{}, Launch{}, Exec{}, Attach{"e1", {4, 5, 6}},
                              Unblock{"main"}, Signal{"main", 15}, Resize{"main", 40, 120},
                              CloseStdin{"main"}, Wait{"main"}, ListSessions{}, Stat{"/etc"},
                              ReadFiles{"/etc", 8}, WriteFiles{"/tmp", 9}};
  for (size_t i = 0; i < all.size(); ++i) {
    auto text = encode(RequestMsg{i, all[i]});
    auto back = decode(text);
    ASSERT_TRUE(back) << text;
    auto& req = std::get<RequestMsg>(*back);
    EXPECT_EQ(req.id, i);
    EXPECT_EQ(req.body.index(), all[i].index()) << text;
    EXPECT_EQ(encode(*back), text);
  }
}

TEST(Codec, ResponsesRoundTripIncludingErrors) {
  SessionList list;
  ExitStatus three;
  three.session = "main";
  three.exitCode = 3;
  list.sessions.push_back({"main", false, 0, three});
  list.sessions.push_back({"e1", true, 42, std::nullopt});
  auto text = encode(ResponseMsg{1, std::nullopt, list});
  auto back = decode(text);
  ASSERT_TRUE(back);
  auto& resp = std::get<ResponseMsg>(*back);
  auto& got = std::get<SessionList>(resp.body);
  ASSERT_EQ(got.sessions.size(), 2u);
  EXPECT_EQ(got.sessions[0].exit->exitCode, 3);
  EXPECT_FALSE(got.sessions[1].exit.has_value());
  EXPECT_EQ(got.sessions[1].pid, 42);

  auto err = decode(encode(ResponseMsg{2, Error(Errc::kConflict, "busy"), Empty{}}));
  ASSERT_TRUE(err);
  auto& e = std::get<ResponseMsg>(*err).error;
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), Errc::kConflict);
  EXPECT_EQ(e->message(), "busy");
}

TEST(Codec, MalformedInputIsAProtocolErrorNeverAThrow) {
  for (std::string bad : {"", "nul", "[]", "{}", R"({"id":"x","request":"ping"})",
                          R"({"id":1,"request":"fly"})", R"({"id":1,"request":"signal","body":{"signal":"TERM"}})",
                          R"({"id":-1,"result":"nope"})", R"({"id":1,"request":"launch","body":{"session":{"argv":7}}})"}) {
    auto r = decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Errc::kProtocol) << bad;
  }
}

TEST(Codec, ConfigRoundTripAndDefaults) {
  ContainerConfig c;
  c.id = "3f2a";
  c.hostname = "web";
  c.networks.push_back({"52:54:00:00:00:01", "eth0", {"172.16.0.2/16"}, "172.16.0.1", 1500});
  c.mounts.push_back({"vol-data", "/data", true});
  c.main.argv = {"httpd"};
  auto back = decodeConfig(encodeConfig(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->networks[0].addresses[0], "172.16.0.2/16");
  EXPECT_TRUE(back->mounts[0].readOnly);
  EXPECT_EQ(back->rootDisk, "containerfs");
  auto minimal = decodeConfig(R"({"id":"x"})");
  ASSERT_TRUE(minimal);
  EXPECT_EQ(minimal->rootDisk, "containerfs");
  EXPECT_FALSE(decodeConfig("{"));
}

}  // namespace
}  // namespace vic::vsock
