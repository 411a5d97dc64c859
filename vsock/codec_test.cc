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
                              ReadFiles{"/etc", 8}, WriteFiles{"/tmp", 9}, Identity{{}, 5, "ab", "02:00:00:00:00:01", true},
                              ListProcesses{}};
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

// Instant clone: the host's Identity for a fork of the template, and the template's ping.
TEST(Codec, IdentityGoldenJsonAndRoundTrip) {
  Identity who;
  who.config.id = "c1";
  who.config.main.argv = {"sh"};
  who.clockNs = 1700000000123456789;
  who.seed = "00ff";
  who.templateMac = "02:00:00:00:00:01";
  who.newDevices = true;
  std::string text = encode(RequestMsg{7, who});
  EXPECT_EQ(text,
            R"({"body":{"clockNs":1700000000123456789,"config":{"dns":[],"domainname":"","embeddedDns":false,"extraHosts":[],)"
            R"("hostname":"","id":"c1","main":{"argv":["sh"],"cols":0,"env":[],"groups":[],"id":"",)"
            R"("openStdin":false,"rows":0,"runBlock":false,"stdinOnce":false,"tty":false,"user":"","workdir":""},)"
            R"("mounts":[],"name":"","networks":[],"rootDisk":"containerfs"},"newDevices":true,"seed":"00ff",)"
            R"("templateMac":"02:00:00:00:00:01"},)"
            R"("id":7,"request":"identity"})");
  auto back = decode(text);
  ASSERT_TRUE(back) << back.error().message();
  auto& got = std::get<Identity>(std::get<RequestMsg>(*back).body);
  EXPECT_EQ(got.config.id, "c1");
  EXPECT_EQ(got.config.main.argv, std::vector<std::string>{"sh"});
  EXPECT_EQ(got.clockNs, 1700000000123456789);
  EXPECT_EQ(got.seed, "00ff");
  EXPECT_EQ(got.templateMac, "02:00:00:00:00:01");
  EXPECT_TRUE(got.newDevices);
  EXPECT_EQ(requestName(got), "identity");
  // a host that sends only the config: no clock, no seed (tether refuses those, not the codec)
  auto bare = decode(R"({"id":1,"request":"identity","body":{"config":{"id":"c2"}}})");
  ASSERT_TRUE(bare) << bare.error().message();
  EXPECT_EQ(std::get<Identity>(std::get<RequestMsg>(*bare).body).clockNs, 0);
  EXPECT_FALSE(decode(R"({"id":1,"request":"identity","body":{"clockNs":"now"}})"));
}

TEST(Codec, PingResultSaysWhetherTetherAwaitsItsIdentity) {
  EXPECT_EQ(encode(ResponseMsg{2, std::nullopt, PingResult{1, "v", true}}),
            R"({"body":{"awaitingIdentity":true,"protocol":1,"tetherVersion":"v"},"id":2,"result":"ping"})");
  auto back = decode(encode(ResponseMsg{2, std::nullopt, PingResult{1, "v", true}}));
  ASSERT_TRUE(back);
  EXPECT_TRUE(std::get<PingResult>(std::get<ResponseMsg>(*back).body).awaitingIdentity);
  // an older tether does not send the field: it never awaits an identity
  auto old = decode(R"({"id":3,"result":"ping","body":{"protocol":1,"tetherVersion":"v"}})");
  ASSERT_TRUE(old) << old.error().message();
  EXPECT_FALSE(std::get<PingResult>(std::get<ResponseMsg>(*old).body).awaitingIdentity);
  EXPECT_FALSE(decode(R"({"id":3,"result":"ping","body":{"protocol":1,"awaitingIdentity":"yes"}})"));
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

  ProcessList procs;
  procs.memTotalKiB = 500000;
  procs.processes.push_back({7, 1, 0, "root", "S", "pts/0", 5, 6, 100, 2000, "sh", {"sh", "-c", "sleep 1"}});
  auto ptext = encode(ResponseMsg{3, std::nullopt, procs});
  EXPECT_NE(ptext.find(R"("result":"processes")"), std::string::npos) << ptext;
  auto pback = decode(ptext);
  ASSERT_TRUE(pback);
  auto& gotProcs = std::get<ProcessList>(std::get<ResponseMsg>(*pback).body);
  ASSERT_EQ(gotProcs.processes.size(), 1u);
  EXPECT_EQ(gotProcs.processes[0].argv[2], "sleep 1");
  EXPECT_EQ(gotProcs.processes[0].tty, "pts/0");
  EXPECT_EQ(gotProcs.memTotalKiB, 500000u);

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

namespace vic::vsock {
namespace {

// What tether (a hostile guest) can send: every wrong type, number and shape is a protocol
// error with a message, never a throw and never a silently truncated value.
TEST(Codec, HostileNumbersAreErrorsNotTruncations) {
  struct Case {
    std::string text, message;
  } cases[] = {
      {R"({"id":-1,"result":"empty","body":{}})", "malformed control message: id is out of range"},
      {R"({"id":1.5,"result":"empty","body":{}})", "malformed control message: id must be an integer"},
      {R"({"id":1,"result":"started","body":{"pid":4294967297}})", "malformed control message: body.pid is out of range"},
      {R"({"id":1,"result":"started","body":{"pid":1e300}})", "malformed control message: body.pid must be an integer"},
      {R"({"id":1,"request":"resize","body":{"session":"main","rows":70000}})",
       "malformed control message: body.rows is out of range"},
      {R"({"id":1,"result":"sessions","body":{"sessions":[{"id":"m","exit":{"exitCode":99999999999}}]}})",
       "malformed control message: body.sessions[0].exit.exitCode is out of range"},
      {R"({"id":1,"result":"ping","body":{"protocol":-3}})", "malformed control message: body.protocol is out of range"},
  };
  for (const auto& c : cases) {
    auto r = decode(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().message(), c.message) << c.text;
    EXPECT_EQ(r.error().code(), Errc::kProtocol);
  }
  // in range is fine, including at the edges
  auto ok = decode(R"({"id":18446744073709551615,"request":"resize","body":{"session":"main","rows":65535,"cols":0}})");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(std::get<Resize>(std::get<RequestMsg>(*ok).body).rows, 65535);
}

TEST(Codec, HostileTypesAndShapesAreErrors) {
  for (std::string bad : {R"({"id":1,"result":"sessions","body":{"sessions":[{"id":7}]}})",
                          R"({"id":1,"result":"sessions","body":{"sessions":[{"id":"m","exit":null}]}})",
                          R"({"id":1,"result":"sessions","body":{"sessions":"all"}})",
                          R"({"id":1,"result":"stat","body":{"name":["x"]}})",
                          R"({"id":1,"error":{"kind":3,"message":"m"}})",
                          R"({"id":1,"error":"boom"})",
                          R"({"id":1,"request":"launch","body":[]})",
                          R"({"id":1,"request":7})",
                          R"({"id":true,"request":"ping"})"}) {
    auto r = decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Errc::kProtocol) << bad;
    EXPECT_EQ(r.error().message().rfind("malformed control message: ", 0), 0u) << r.error().message();
  }
}

TEST(Codec, DeepNestingIsRefusedBeforeParsing) {
  std::string deep = R"({"id":1,"result":"empty","body":{"x":)" + std::string(200000, '[') + std::string(200000, ']') + "}}";
  auto r = decode(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "control message is not valid JSON");
  auto exit = decodeExitStatus(std::string(200000, '[') + std::string(200000, ']'));
  ASSERT_FALSE(exit);
  EXPECT_EQ(exit.error().message(), "exit record is not valid JSON");
}

TEST(Codec, ConfigAndExitRecordsAreTotalToo) {
  auto cfg = decodeConfig(R"({"networks":[{"mtu":-1}]})");
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(), "malformed container configuration: networks[0].mtu is out of range");
  EXPECT_EQ(cfg.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(decodeConfig(R"({"dns":"8.8.8.8"})").error().code(), Errc::kInvalidArgument);
  auto exit = decodeExitStatus(R"({"session":"main","exitCode":1,"startedNs":1.0e30})");
  ASSERT_FALSE(exit);
  EXPECT_EQ(exit.error().message(), "malformed exit record: startedNs must be an integer");
  EXPECT_EQ(decodeExitStatus(R"({"session":"main","exitCode":3})")->exitCode, 3);
}

TEST(Codec, EncodingNeverThrowsOnInvalidUtf8) {
  // a guest's file name or a client's path need not be UTF-8: it is replaced, not thrown on
  Message m = ResponseMsg{2, std::nullopt, FileStat{"bad\xff", 1, 0100644, 0, ""}};
  EXPECT_EQ(encode(m), "{\"body\":{\"linkTarget\":\"\",\"mode\":33188,\"mtimeNs\":0,\"name\":\"bad\xef\xbf\xbd\",\"size\":1},"
                       "\"id\":2,\"result\":\"stat\"}");
  Message req = RequestMsg{3, Stat{"/tmp/\xc0", false}};
  auto back = decode(encode(req));
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<Stat>(std::get<RequestMsg>(*back).body).path, "/tmp/\xef\xbf\xbd");
  ExitStatus e;
  e.error = "exec: \xfe";
  EXPECT_EQ(decodeExitStatus(encodeExitStatus(e))->error, "exec: \xef\xbf\xbd");
}

}  // namespace
}  // namespace vic::vsock
