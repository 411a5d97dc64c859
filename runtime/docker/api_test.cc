// The Docker API in memory: the real router and handlers, the real PortLayer over a fake
// hypervisor whose VMs boot a fake tether (runtime/portlayer/test_vch.h). Requests go in as
// bytes through a Stream, answers come out as bytes and are checked as the docker CLI reads them:
// status codes, docker's error wording, headers, JSON shapes, stream framing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/docker/api.h"
#include "runtime/portlayer/exec_sessions.h"
#include "runtime/portlayer/image_ops.h"
#include "runtime/portlayer/test_vch.h"

namespace vic::docker {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// One connection's bytes: the request is read, then the client half-closes.
class MemoryStream : public Stream {
 public:
  struct State {
    std::string in, out;
    size_t read = 0;
    bool closed = false;
  };
  explicit MemoryStream(std::shared_ptr<State> s) : s_(std::move(s)) {}
  asio::awaitable<size_t> readSome(asio::mutable_buffer buf) override {
    size_t n = std::min(buf.size(), s_->in.size() - s_->read);
    std::copy_n(s_->in.data() + s_->read, n, static_cast<char*>(buf.data()));
    s_->read += n;
    co_return n;
  }
  asio::awaitable<bool> writeAll(std::string_view data) override {
    s_->out += data;
    co_return !s_->closed;
  }
  void shutdownSend() override {}
  void close() override { s_->closed = true; }

 private:
  std::shared_ptr<State> s_;
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;  // de-chunked
  json js() const { return json::parse(body); }
  std::string message() const { return json::parse(body).value("message", ""); }
};

std::string dechunk(const std::string& raw) {
  std::string out;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t n = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) break;
    out += raw.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

Reply parseReply(const std::string& raw) {
  Reply r;
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  std::string head = raw.substr(0, end);
  r.status = std::stoi(head.substr(9, 3));
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(ch));
      r.headers[name] = line.substr(colon + 2);
    }
    pos = next;
  }
  std::string body = raw.substr(end + 4);
  r.body = r.headers["transfer-encoding"] == "chunked" ? dechunk(body) : body;
  return r;
}

// docker's stdcopy frames: [stream, 0, 0, 0, size(4, big-endian)] + payload.
std::map<int, std::string> demux(const std::string& s) {
  std::map<int, std::string> out;
  size_t pos = 0;
  while (pos + 8 <= s.size()) {
    int stream = s[pos];
    uint32_t n = (uint8_t(s[pos + 4]) << 24) | (uint8_t(s[pos + 5]) << 16) | (uint8_t(s[pos + 6]) << 8) | uint8_t(s[pos + 7]);
    out[stream] += s.substr(pos + 8, n);
    pos += 8 + n;
  }
  return out;
}

class Api : public ::testing::Test {
 protected:
  Api() : execs(*t.pl), imageOps(*t.pl, *t.images, blocking), api(t.io(), *t.pl, *t.images, ApiInfo{"vch-t", "vch-t", 2, 4ull << 30, {}}, execs, imageOps) {}

  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& contentType = "application/json") {
    auto state = std::make_shared<MemoryStream::State>();
    state->in = method + " /v1.47" + target + " HTTP/1.1\r\nHost: docker\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n";
    if (!body.empty()) state->in += "Content-Type: " + contentType + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    state->in += "Connection: close\r\n\r\n" + body;
    t.run(api.serve(std::make_unique<MemoryStream>(state)), 30s);
    return parseReply(state->out);
  }
  std::string create(const std::string& name, const json& cmd, const json& extra = json::object()) {
    json req = {{"Image", "busybox"}, {"Cmd", cmd}};
    req.update(extra);
    auto r = call("POST", "/containers/create" + (name.empty() ? "" : "?name=" + name), req.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.js()["Id"].get<std::string>() : "";
  }
  int waitExit(const std::string& id) {
    auto r = call("POST", "/containers/" + id + "/wait");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.js()["StatusCode"].get<int>();
  }

  pl::TestVch t;
  BlockingPool blocking{1};
  pl::ExecSessions execs;
  pl::ImageOps imageOps;
  DockerApi api;
};

// ---- system ----

TEST_F(Api, PingAnswersOkWithTheApiHeaders) {
  auto r = call("GET", "/_ping");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK");
  EXPECT_FALSE(r.headers["api-version"].empty());
  EXPECT_EQ(r.headers["ostype"], "linux");
}

TEST_F(Api, VersionHasTheFieldsTheCliPrints) {
  auto r = call("GET", "/version");
  ASSERT_EQ(r.status, 200);
  auto j = r.js();
  for (const char* k : {"Version", "ApiVersion", "MinAPIVersion", "Os", "Arch", "GoVersion", "GitCommit", "KernelVersion"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["Os"], "linux");
}

TEST_F(Api, InfoCountsContainersByStateAndImages) {
  create("first", {"sleep"});
  auto b = create("second", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/" + b + "/start").status, 204);
  auto j = call("GET", "/info").js();
  EXPECT_EQ(j["Containers"], 2);
  EXPECT_EQ(j["ContainersRunning"], 1);
  EXPECT_EQ(j["ContainersStopped"], 1);
  EXPECT_EQ(j["Images"], 1);
  EXPECT_EQ(j["NCPU"], 2);
  EXPECT_EQ(j["Name"], "vch-t");
  EXPECT_EQ(j["OSType"], "linux");
}

TEST_F(Api, UnknownRouteIsNotFoundAndAnUnsupportedOneSaysSo) {
  auto r = call("GET", "/no/such/route");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "page not found");
  auto swarm = call("GET", "/swarm");
  EXPECT_EQ(swarm.status, 501);
  EXPECT_EQ(swarm.message(), "GET /swarm is not yet supported by vic");
}

// ---- containers ----

TEST_F(Api, CreateStartWaitLogsRemove) {
  auto id = create("hello", {"echo", "hello", "world"});
  ASSERT_EQ(id.size(), 64u);
  auto inspect = call("GET", "/containers/hello/json").js();
  EXPECT_EQ(inspect["Id"], id);
  EXPECT_EQ(inspect["Name"], "/hello");
  EXPECT_EQ(inspect["State"]["Status"], "created");
  EXPECT_EQ(inspect["Config"]["Image"], "busybox");
  EXPECT_EQ(inspect["Image"], t.imageId);
  ASSERT_EQ(call("POST", "/containers/hello/start").status, 204);
  EXPECT_EQ(waitExit(id), 0);
  auto logs = call("GET", "/containers/hello/logs?stdout=1&stderr=1");
  ASSERT_EQ(logs.status, 200);
  EXPECT_EQ(demux(logs.body)[1], "hello world\n");
  inspect = call("GET", "/containers/" + id.substr(0, 6) + "/json").js();
  EXPECT_EQ(inspect["State"]["Status"], "exited");
  EXPECT_EQ(inspect["State"]["ExitCode"], 0);
  EXPECT_EQ(call("DELETE", "/containers/hello").status, 204);
  auto gone = call("GET", "/containers/hello/json");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.message(), "No such container: hello");
}

TEST_F(Api, WaitReturnsTheExitCode) {
  auto id = create("", {"exit", "42"});
  ASSERT_EQ(call("POST", "/containers/" + id + "/start").status, 204);
  EXPECT_EQ(waitExit(id), 42);
}

TEST_F(Api, CreateOfAnUnknownImageIsDockersNotFound) {
  auto r = call("POST", "/containers/create", json{{"Image", "nosuch"}, {"Cmd", {"true"}}}.dump());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "No such image: nosuch:latest");
}

TEST_F(Api, CreateWithABadBodyIsABadRequest) {
  auto r = call("POST", "/containers/create", "{\"Image\": ");
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(r.message().empty());
  auto notObject = call("POST", "/containers/create", "[1,2]");
  EXPECT_EQ(notObject.status, 400);
}

TEST_F(Api, ADuplicateNameIsAConflict) {
  create("twin", {"sleep"});
  auto r = call("POST", "/containers/create?name=twin", json{{"Image", "busybox"}, {"Cmd", {"sleep"}}}.dump());
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.message().find("The container name \"/twin\" is already in use"), std::string::npos) << r.message();
}

TEST_F(Api, AnInvalidNameIsRefused) {
  auto r = call("POST", "/containers/create?name=bad%2Fname", json{{"Image", "busybox"}, {"Cmd", {"sleep"}}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.message().find("Invalid container name"), std::string::npos) << r.message();
}

TEST_F(Api, StartTwiceIsNotModifiedAndStopStops) {
  auto id = create("svc", {"sleep"});
  EXPECT_EQ(call("POST", "/containers/svc/start").status, 204);
  EXPECT_EQ(call("POST", "/containers/svc/start").status, 304);
  EXPECT_EQ(call("GET", "/containers/svc/json").js()["State"]["Running"], true);
  EXPECT_EQ(call("POST", "/containers/svc/stop?t=2").status, 204);
  auto state = call("GET", "/containers/svc/json").js()["State"];
  EXPECT_EQ(state["Status"], "exited");
  EXPECT_EQ(state["ExitCode"], 143);
  EXPECT_EQ(call("POST", "/containers/svc/stop").status, 304);
}

TEST_F(Api, KillOfAStoppedContainerIsAConflict) {
  auto id = create("killme", {"sleep"});
  auto r = call("POST", "/containers/killme/kill");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.message(), "Cannot kill container: killme: Container " + id + " is not running");
}

TEST_F(Api, RemovingARunningContainerNeedsForce) {
  auto id = create("busy", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/busy/start").status, 204);
  auto r = call("DELETE", "/containers/busy");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.message(), "cannot remove container \"/busy\": container is running: stop the container before removing or force remove");
  EXPECT_EQ(call("DELETE", "/containers/busy?force=1").status, 204);
  EXPECT_EQ(call("DELETE", "/containers/busy").status, 404);
}

TEST_F(Api, ListShowsRunningContainersUnlessAllIsAsked) {
  auto a = create("idle", {"sleep"});
  auto b = create("up", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/up/start").status, 204);
  auto running = call("GET", "/containers/json").js();
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(running[0]["Id"], b);
  EXPECT_EQ(running[0]["Names"][0], "/up");
  EXPECT_EQ(running[0]["State"], "running");
  auto all = call("GET", "/containers/json?all=1").js();
  EXPECT_EQ(all.size(), 2u);
  auto filtered = call("GET", "/containers/json?all=1&filters=%7B%22name%22%3A%7B%22idle%22%3Atrue%7D%7D").js();
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0]["Id"], a);
  auto badFilter = call("GET", "/containers/json?filters=%7Bnot-json");
  EXPECT_EQ(badFilter.status, 400);
}

TEST_F(Api, RenameChangesTheName) {
  create("old", {"sleep"});
  EXPECT_EQ(call("POST", "/containers/old/rename?name=new").status, 204);
  EXPECT_EQ(call("GET", "/containers/new/json").status, 200);
  EXPECT_EQ(call("GET", "/containers/old/json").status, 404);
}

TEST_F(Api, JunkNumbersInTheQueryAreBadRequests) {
  create("query", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/query/start").status, 204);
  auto r = call("POST", "/containers/query/stop?t=soon");
  EXPECT_EQ(r.status, 400) << r.body;
  auto resize = call("POST", "/containers/query/resize?h=x&w=80");
  EXPECT_EQ(resize.status, 400) << resize.body;
}

TEST_F(Api, ExecRunsInARunningContainerAndRecordsItsExitCode) {
  auto id = create("ex", {"sleep"});
  auto notRunning = call("POST", "/containers/ex/exec", json{{"Cmd", {"echo", "x"}}}.dump());
  EXPECT_EQ(notRunning.status, 409);
  ASSERT_EQ(call("POST", "/containers/ex/start").status, 204);
  auto made = call("POST", "/containers/ex/exec", json{{"Cmd", {"exit", "5"}}, {"AttachStdout", true}}.dump());
  ASSERT_EQ(made.status, 201) << made.body;
  std::string execId = made.js()["Id"];
  auto started = call("POST", "/exec/" + execId + "/start", json{{"Detach", false}, {"Tty", false}}.dump());
  EXPECT_EQ(started.status, 200) << started.body;
  nlohmann::json ins;
  for (int i = 0; i < 100; ++i) {
    ins = call("GET", "/exec/" + execId + "/json").js();
    if (!ins["Running"].get<bool>()) break;
    t.pump(20ms);
  }
  EXPECT_EQ(ins["ExitCode"], 5);
  EXPECT_EQ(ins["ContainerID"], id);
  EXPECT_EQ(call("GET", "/exec/nosuch/json").status, 404);
}

// ---- images, networks, volumes, events ----

TEST_F(Api, ImagesAreListedAndInspected) {
  auto list = call("GET", "/images/json").js();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["Id"], t.imageId);
  EXPECT_EQ(list[0]["RepoTags"][0], "busybox:latest");
  auto inspect = call("GET", "/images/busybox/json");
  ASSERT_EQ(inspect.status, 200);
  EXPECT_EQ(inspect.js()["Id"], t.imageId);
  EXPECT_EQ(call("GET", "/images/nosuch/json").status, 404);
}

TEST_F(Api, AnImageInUseIsNotRemovedWithoutForce) {
  create("user", {"sleep"});
  auto r = call("DELETE", "/images/busybox");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.message().find("is using its referenced image"), std::string::npos) << r.message();
}

TEST_F(Api, NetworksAreCreatedListedAndRemoved) {
  auto made = call("POST", "/networks/create", json{{"Name", "backend"}}.dump());
  ASSERT_EQ(made.status, 201) << made.body;
  auto dup = call("POST", "/networks/create", json{{"Name", "backend"}}.dump());
  EXPECT_EQ(dup.status, 409);
  auto list = call("GET", "/networks").js();
  std::set<std::string> names;
  for (const auto& n : list) names.insert(n["Name"]);
  EXPECT_EQ(names, (std::set<std::string>{"bridge", "backend"}));
  EXPECT_EQ(call("DELETE", "/networks/backend").status, 204);
  EXPECT_EQ(call("GET", "/networks/backend").status, 404);
}

TEST_F(Api, EventsReplayWhatHappened) {
  auto id = create("ev", {"exit", "0"});
  ASSERT_EQ(call("POST", "/containers/ev/start").status, 204);
  waitExit(id);
  auto r = call("GET", "/events?since=0&until=" + std::to_string(time(nullptr) + 1));
  ASSERT_EQ(r.status, 200);
  std::vector<std::string> actions;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto e = json::parse(line);
    if (e["id"] == id) actions.push_back(e["Action"]);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"create", "start", "die"}));
}

}  // namespace
}  // namespace vic::docker
