// The Docker API in memory (runtime/docker/api_fixture.h): the system, container and exec routes
// that api_test.cc and api_routes_test.cc leave out or test one way only, each with its
// success and its refusals in docker's words. Images, networks, volumes and plugins are in
// api_more_resources_test.cc.
#include <sstream>

#include "common/json.h"
#include "images/auth.h"
#include "runtime/docker/api_fixture.h"

namespace vic::docker::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// ---- system ----

TEST_F(Api, HeadPingAnswersTheHeadersWithoutABody) {
  auto r = call("HEAD", "/_ping");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers["swarm"], "inactive");
  EXPECT_EQ(r.headers["cache-control"], "no-cache, no-store, must-revalidate");
  EXPECT_FALSE(r.headers["api-version"].empty());
}

TEST_F(Api, EventsFilterByTypeAndRefuseJunkTimesAndFilters) {
  auto id = create("ev", {"exit", "0"});
  ASSERT_EQ(call("POST", "/containers/ev/start").status, 204);
  waitExit(id);
  std::string until = "&until=" + std::to_string(time(nullptr) + 1);
  auto starts = call("GET", "/events?since=0" + until + "&filters=" + uri(R"({"event":["start"]})"));
  ASSERT_EQ(starts.status, 200);
  EXPECT_EQ(starts.headers["content-type"], "application/json");
  auto lines = jsonLines(starts.body);
  ASSERT_EQ(lines.size(), 1u) << starts.body;
  EXPECT_EQ(lines[0]["Action"], "start");
  EXPECT_EQ(lines[0]["Actor"]["Attributes"]["name"], "ev");
  auto since = call("GET", "/events?since=yesterday");
  EXPECT_EQ(since.status, 400);
  EXPECT_EQ(since.message(), "strconv.ParseInt: parsing \"yesterday\": invalid syntax");
  auto late = call("GET", "/events?until=1.x");
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(late.message(), "strconv.ParseInt: parsing \"x\": invalid syntax");
  auto filter = call("GET", "/events?filters=" + uri(R"({"colour":["red"]})"));
  EXPECT_EQ(filter.status, 400);
  EXPECT_EQ(filter.message(), "invalid filter 'colour'");
}

// ---- containers ----

// Each /containers/{id}/... route looks its container up first: docker's 404, in docker's words.
TEST_F(Api, EveryContainerRouteNamesAnUnknownContainer) {
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/json"}, {"POST", "/start"}, {"POST", "/stop"}, {"POST", "/restart"}, {"POST", "/kill"},
      {"POST", "/wait"}, {"POST", "/attach?stream=1&stdout=1"}, {"GET", "/logs?stdout=1"}, {"GET", "/archive?path=/"},
      {"HEAD", "/archive?path=/"}, {"PUT", "/archive?path=/"}, {"GET", "/export"}, {"GET", "/changes"},
      {"GET", "/stats?stream=0"}, {"POST", "/resize?h=1&w=1"}, {"POST", "/rename?name=x"}, {"POST", "/update"},
      {"GET", "/top"}, {"POST", "/pause"}, {"POST", "/unpause"}, {"POST", "/exec"}, {"DELETE", ""}};
  for (const auto& [method, op] : routes) {
    auto r = call(method, "/containers/ghost" + op);
    EXPECT_EQ(r.status, 404) << method << " " << op;
    if (method != "HEAD") {  // HEAD: no body
      EXPECT_EQ(r.message(), "No such container: ghost") << method << " " << op;
    }
  }
}

// docker inspect of an image named a/b asks for that container first: its 404 sends the CLI on to images.
TEST_F(Api, InspectOfANameWithASlashIsNoSuchContainer) {
  auto r = call("GET", "/containers/mine/box:v1/json");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "No such container: mine/box:v1");
}

TEST_F(Api, AContainerOperationVicLacksIsNotImplemented) {
  create("known", {"sleep"});
  auto r = call("GET", "/containers/known/checkpoints");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.message(), "GET /containers/{id}/checkpoints is not yet supported by vic");
  auto wrongMethod = call("GET", "/containers/known/start");
  EXPECT_EQ(wrongMethod.status, 501);
  EXPECT_EQ(wrongMethod.message(), "GET /containers/{id}/start is not yet supported by vic");
  EXPECT_EQ(call("GET", "/containers/known/json").js()["State"]["Status"], "created");  // nothing was done
}

// A signal that ends main is answered by the fake tether only after its guest halted (it halts
// before it flushes the reply), so the named signal here is one the fake's sleep ignores, as any
// process does by default: SIGWINCH. SIGKILL needs no answer: the VM is powered off if none comes.
TEST_F(Api, KillSendsTheNamedSignalAndRefusesAnUnknownOne) {
  auto id = create("target", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/target/start").status, 204);
  for (const std::string sig : {"BOGUS", "0", "SIGNOPE"}) {
    auto bad = call("POST", "/containers/target/kill?signal=" + sig);
    EXPECT_EQ(bad.status, 400) << sig;
    EXPECT_EQ(bad.message(), "Invalid signal: " + sig);
  }
  EXPECT_EQ(call("POST", "/containers/target/kill?signal=SIGWINCH").status, 204);
  EXPECT_EQ(call("GET", "/containers/target/json").js()["State"]["Running"], true);
  EXPECT_EQ(call("POST", "/containers/target/kill").status, 204);  // KILL by default
  EXPECT_EQ(waitExit(id), 137);
  auto state = call("GET", "/containers/target/json").js()["State"];
  EXPECT_EQ(state["Status"], "exited");
  EXPECT_EQ(state["ExitCode"], 137);
  auto again = call("POST", "/containers/target/kill?signal=SIGTERM");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.message(), "Cannot kill container: target: Container " + id + " is not running");
  std::vector<std::string> signals;
  for (const auto& e : t.pl->events().since(0)) {
    if (e.action == "kill") signals.push_back(e.attributes.at("signal"));
  }
  EXPECT_EQ(signals, (std::vector<std::string>{"28", "9"}));  // refused signals were never sent
}

TEST_F(Api, RestartStartsAStoppedContainerAndRefusesAJunkTimeout) {
  create("cold", {"sleep"});
  auto bad = call("POST", "/containers/cold/restart?t=later");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.message(), "strconv.Atoi: parsing \"later\": invalid syntax");
  EXPECT_EQ(call("GET", "/containers/cold/json").js()["State"]["Status"], "created");
  EXPECT_EQ(call("POST", "/containers/cold/restart?t=1").status, 204);  // never started: restart starts it
  EXPECT_EQ(call("GET", "/containers/cold/json").js()["State"]["Status"], "running");
}

TEST_F(Api, RenameRefusesAnInvalidOrTakenName) {
  auto first = create("first", {"sleep"});
  create("second", {"sleep"});
  auto invalid = call("POST", "/containers/second/rename?name=" + uri("bad/name"));
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.message(), "Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  auto taken = call("POST", "/containers/second/rename?name=first");
  EXPECT_EQ(taken.status, 409);
  EXPECT_EQ(taken.message(), "Error when allocating new name: Conflict. The container name \"/first\" is already in use by container \"" +
                                 first + "\". You have to remove (or rename) that container to be able to reuse that name.");
  EXPECT_EQ(call("GET", "/containers/second/json").js()["Name"], "/second");
  EXPECT_EQ(call("GET", "/containers/first/json").js()["Id"], first);
}

TEST_F(Api, WaitForTheNextExitOrForTheRemoval) {
  auto id = create("waited", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/waited/start").status, 204);
  auto next = send("POST", "/containers/waited/wait?condition=next-exit");
  t.pump(50ms);
  EXPECT_FALSE(*next.done);  // still running
  ASSERT_EQ(call("POST", "/containers/waited/stop?t=5").status, 204);
  auto r = finish(next);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.js(), (json{{"StatusCode", 143}, {"Error", nullptr}}));

  auto removed = send("POST", "/containers/waited/wait?condition=removed");
  t.pump(50ms);
  EXPECT_FALSE(*removed.done);  // exited, not removed
  ASSERT_EQ(call("DELETE", "/containers/" + id).status, 204);
  auto gone = finish(removed);
  ASSERT_EQ(gone.status, 200);
  EXPECT_EQ(gone.js()["StatusCode"], 143);
}

TEST_F(Api, StatsOfAStoppedContainerIsOneEmptySampleAndOneShotHasNoPreviousOne) {
  auto id = create("still", {"sleep"});
  auto streamed = call("GET", "/containers/still/stats");  // stream=1 by default
  ASSERT_EQ(streamed.status, 200);
  EXPECT_EQ(streamed.headers["content-type"], "application/json");
  auto samples = jsonLines(streamed.body);
  ASSERT_EQ(samples.size(), 1u) << streamed.body;  // no VM to sample: the stream ends
  EXPECT_EQ(samples[0]["name"], "/still");
  EXPECT_EQ(samples[0]["id"], id);
  EXPECT_EQ(samples[0]["memory_stats"], json::object());
  ASSERT_EQ(call("POST", "/containers/still/start").status, 204);
  auto once = call("GET", "/containers/still/stats?stream=0&one-shot=1");
  ASSERT_EQ(once.status, 200) << once.body;
  EXPECT_EQ(once.js()["preread"], "0001-01-01T00:00:00Z");
  EXPECT_NE(once.js()["read"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(once.js()["pids_stats"]["current"], 1);
}

// docker top asks the guest for its processes; the fake tether lists none (tether's procfs
// reader is tested in guest/tether, the ps columns in top_json_test.cc, a real top in the
// lifecycle e2e script), so here are its refusals.
TEST_F(Api, TopOfAContainerNotRunningOrPausedIsAConflict) {
  auto id = create("idle", {"sleep"});
  auto stopped = call("GET", "/containers/idle/top");
  EXPECT_EQ(stopped.status, 409);
  EXPECT_EQ(stopped.message(), "Container " + id + " is not running");
  ASSERT_EQ(call("POST", "/containers/idle/start").status, 204);
  ASSERT_EQ(call("POST", "/containers/idle/pause").status, 204);
  auto paused = call("GET", "/containers/idle/top?ps_args=aux");
  EXPECT_EQ(paused.status, 409);
  EXPECT_EQ(paused.message(), "Container " + id + " is paused: its guest lists no processes until it is unpaused");
}

TEST_F(Api, UpdateSetsTheRestartPolicyAndRefusesBadValues) {
  create("pol", {"sleep"});
  auto r = call("POST", "/containers/pol/update", R"({"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.js(), (json{{"Warnings", json::array()}}));  // stopped: nothing waits for a next start
  auto policy = call("GET", "/containers/pol/json").js()["HostConfig"]["RestartPolicy"];
  EXPECT_EQ(policy["Name"], "on-failure");
  EXPECT_EQ(policy["MaximumRetryCount"], 3);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {R"({"RestartPolicy":{"Name":"sometimes"}})",
       "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"},
      {R"({"RestartPolicy":{"Name":"always","MaximumRetryCount":2}})",
       "invalid restart policy: maximum retry count can only be used with 'on-failure'"},
      {R"({"Memory":-1})", "invalid resources: negative value"},
      {"[1]", "update: the body must be a JSON object"},
      {"{", "invalid JSON: the request body is not valid JSON or nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"}};
  for (const auto& [body, message] : refused) {
    auto bad = call("POST", "/containers/pol/update", body);
    EXPECT_EQ(bad.status, 400) << body;
    EXPECT_EQ(bad.message(), message);
  }
  EXPECT_EQ(call("GET", "/containers/pol/json").js()["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
}

// docker cp: the files of a running container come through tether, which the fake tether answers
// stats for (of the host's own paths) but copies none; a stopped one's are read from its disk,
// mounted with qemu-storage-daemon and fuse2fs, which the unit tier does not have. The tar
// transfers are the storage e2e script's; here the stat header the CLI needs and the refusals.
TEST_F(Api, ArchiveHeadAnswersThePathStatOfARunningContainer) {
  create("files", {"sleep"}, {{"HostConfig", {{"Binds", {"data:/data:ro"}}}}});
  ASSERT_EQ(call("POST", "/containers/files/start").status, 204);
  auto r = call("HEAD", "/containers/files/archive?path=/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  auto decoded = images::base64Decode(r.headers["x-docker-container-path-stat"]);
  ASSERT_TRUE(decoded) << r.headers["x-docker-container-path-stat"];
  auto stat = json::parse(*decoded);
  EXPECT_EQ(stat["name"], "/");
  EXPECT_EQ(stat["mode"].get<uint32_t>() >> 31, 1u) << stat;  // Go's os.ModeDir
  for (const char* k : {"size", "mtime", "linkTarget"}) EXPECT_TRUE(stat.contains(k)) << k;

  auto missing = call("GET", "/containers/files/archive?path=/no/such/file");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.message().rfind("Could not find the file /no/such/file in container", 0), 0u) << missing.message();
  EXPECT_EQ(call("HEAD", "/containers/files/archive?path=/no/such/file").status, 404);
  for (const std::string method : {"GET", "HEAD", "PUT"}) {
    auto noPath = call(method, "/containers/files/archive");
    EXPECT_EQ(noPath.status, 400) << method;
    if (method != "HEAD") {
      EXPECT_EQ(noPath.message(), "path parameter is required");
    }
  }
  auto readOnly = call("PUT", "/containers/files/archive?path=/data/x", std::string(1024, '\0'), "application/x-tar");
  EXPECT_EQ(readOnly.status, 403);
  EXPECT_EQ(readOnly.message(), "mounted volume is marked read-only");
}

// ---- exec ----

TEST_F(Api, ExecStartsDetachedResizesAndRefusesASecondStart) {
  create("host", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/host/start").status, 204);
  auto made = call("POST", "/containers/host/exec", R"({"Cmd":["sleep"],"Tty":true})");
  ASSERT_EQ(made.status, 201) << made.body;
  std::string exec = made.js()["Id"];
  auto started = call("POST", "/exec/" + exec + "/start", R"({"Detach":true})");
  EXPECT_EQ(started.status, 200) << started.body;
  EXPECT_EQ(started.body, "");
  auto ins = call("GET", "/exec/" + exec + "/json").js();
  EXPECT_EQ(ins["Running"], true);
  EXPECT_EQ(ins["ProcessConfig"]["tty"], true);
  EXPECT_EQ(call("POST", "/exec/" + exec + "/resize?h=30&w=100").status, 200);
  auto badSize = call("POST", "/exec/" + exec + "/resize?h=30&w=wide");
  EXPECT_EQ(badSize.status, 400);
  EXPECT_EQ(badSize.message(), "strconv.Atoi: parsing \"wide\": invalid syntax");
  auto tooBig = call("POST", "/exec/" + exec + "/resize?h=70000&w=80");
  EXPECT_EQ(tooBig.status, 400);
  EXPECT_EQ(tooBig.message(), "strconv.Atoi: parsing \"70000\": value out of range");
  auto twice = call("POST", "/exec/" + exec + "/start", R"({"Detach":true})");
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(twice.message(), "Error: Exec command " + exec + " has already run");
  auto noCmd = call("POST", "/containers/host/exec", R"({"Cmd":[]})");
  EXPECT_EQ(noCmd.status, 400);
  EXPECT_EQ(noCmd.message(), "No exec command specified");
}

TEST_F(Api, EveryExecRouteNamesAnUnknownExecInstance) {
  for (const auto& [method, op] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/json"}, {"POST", "/start"}, {"POST", "/resize?h=1&w=1"}}) {
    auto r = call(method, "/exec/nosuch" + op, method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 404) << op;
    EXPECT_EQ(r.message(), "No such exec instance: nosuch") << op;
  }
  auto other = call("POST", "/exec/nosuch/kill");
  EXPECT_EQ(other.status, 501);
  EXPECT_EQ(other.message(), "POST /exec/{id}/kill is not yet supported by vic");
}

}  // namespace
}  // namespace vic::docker::testing
