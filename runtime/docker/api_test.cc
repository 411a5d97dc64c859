// The Docker API in memory (runtime/docker/api_fixture.h): system and container routes.
#include "runtime/docker/api_fixture.h"

namespace vic::docker::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

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

// POST /containers/prune is its own route (it was taken for a container named "prune").
TEST_F(Api, PruneRemovesTheContainersNotRunningThatMatch) {
  auto idle = create("idle", {"sleep"});
  auto up = create("up", {"sleep"});
  auto kept = create("kept", {"sleep"}, {{"Labels", {{"keep", "yes"}}}});
  ASSERT_EQ(call("POST", "/containers/up/start").status, 204);
  auto bad = call("POST", "/containers/prune?filters=%7B%22until%22%3A%5B%22yesterday%22%5D%7D");  // {"until":["yesterday"]}
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.message(), "failed to parse value as time or duration: \"yesterday\"");
  auto old = call("POST", "/containers/prune?filters=%7B%22until%22%3A%5B%221h%22%5D%7D");  // made within the hour: none
  ASSERT_EQ(old.status, 200);
  EXPECT_TRUE(old.js()["ContainersDeleted"].empty());
  auto r = call("POST", "/containers/prune?filters=%7B%22label!%22%3A%5B%22keep%22%5D%7D");  // {"label!":["keep"]}
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.js()["ContainersDeleted"], json::array({idle}));
  EXPECT_TRUE(r.js()["SpaceReclaimed"].is_number());
  EXPECT_EQ(call("GET", "/containers/idle/json").status, 404);
  EXPECT_EQ(call("GET", "/containers/up/json").status, 200);  // running
  EXPECT_EQ(call("GET", "/containers/kept/json").status, 200);
  EXPECT_EQ(call("POST", "/containers/prune").js()["ContainersDeleted"], json::array({kept}));
  EXPECT_EQ(call("GET", "/containers/" + up + "/json").status, 200);
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
}  // namespace vic::docker::testing
