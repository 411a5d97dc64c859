// The Docker API in memory (runtime/docker/api_fixture.h): streams (attach, logs), restart,
// stats, resize, volumes, network connect, image tags and history, and the JSON shapes the
// Engine API's swagger (moby api/swagger.yaml) gives for inspect, ps, info and version.
#include "runtime/docker/api_fixture.h"

namespace vic::docker::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

void expectKeys(const json& j, std::initializer_list<const char*> keys, const std::string& what) {
  for (const char* k : keys) EXPECT_TRUE(j.contains(k)) << what << " has no " << k << ": " << j.dump();
}

// ---- streams ----

TEST_F(Api, AttachBeforeStartGetsTheWholeOutputMultiplexed) {
  auto id = create("talker", {"echo", "from", "the", "vm"});
  auto attached = send("POST", "/containers/talker/attach?stream=1&stdout=1&stderr=1",
                       "Upgrade: tcp\r\nConnection: Upgrade\r\n");
  t.pump(50ms);  // the attach is waiting for the start
  ASSERT_EQ(call("POST", "/containers/talker/start").status, 204);
  auto r = finish(attached);
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.headers["upgrade"], "tcp");
  EXPECT_EQ(r.headers["content-type"], "application/vnd.docker.multiplexed-stream");
  EXPECT_EQ(demux(r.body)[1], "from the vm\n");
  EXPECT_EQ(waitExit(id), 0);
}

TEST_F(Api, LogsOfATtyContainerAreRawAndTimestampsAreRfc3339) {
  create("tty", {"echo", "raw"}, {{"Tty", true}});
  ASSERT_EQ(call("POST", "/containers/tty/start").status, 204);
  waitExit(call("GET", "/containers/tty/json").js()["Id"]);
  auto logs = call("GET", "/containers/tty/logs?stdout=1");
  ASSERT_EQ(logs.status, 200);
  EXPECT_EQ(logs.body, "raw\n");  // no stdcopy frames with a TTY
  auto stamped = call("GET", "/containers/tty/logs?stdout=1&timestamps=1");
  ASSERT_EQ(stamped.status, 200);
  ASSERT_GT(stamped.body.size(), 32u);
  EXPECT_EQ(stamped.body[4], '-');
  EXPECT_EQ(stamped.body[10], 'T');
  EXPECT_EQ(stamped.body.substr(stamped.body.size() - 4), "raw\n");
}

TEST_F(Api, LogsOfAnUnknownContainerAreNotFound) {
  auto r = call("GET", "/containers/ghost/logs?stdout=1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "No such container: ghost");
}

// ---- running containers ----

TEST_F(Api, RestartRunsTheContainerAgain) {
  create("again", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/again/start").status, 204);
  std::string first = call("GET", "/containers/again/json").js()["State"]["StartedAt"];
  EXPECT_EQ(call("POST", "/containers/again/restart?t=1").status, 204);
  auto state = call("GET", "/containers/again/json").js()["State"];
  EXPECT_EQ(state["Running"], true);
  EXPECT_NE(state["StartedAt"], first);
}

TEST_F(Api, StatsAndResizeOfARunningContainer) {
  create("watched", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/watched/start").status, 204);
  auto stats = call("GET", "/containers/watched/stats?stream=false");
  ASSERT_EQ(stats.status, 200) << stats.body;
  auto j = stats.js();
  expectKeys(j, {"read", "cpu_stats", "memory_stats", "precpu_stats"}, "stats");
  EXPECT_EQ(j["memory_stats"]["limit"], 512ull << 20);
  EXPECT_EQ(call("POST", "/containers/watched/resize?h=40&w=120").status, 200);
}

// ---- volumes ----

TEST_F(Api, VolumesAreCreatedListedAndProtectedWhileInUse) {
  auto made = call("POST", "/volumes/create", json{{"Name", "data"}}.dump());
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.js()["Name"], "data");
  EXPECT_EQ(made.js()["Driver"], "vsphere");  // VIC's volume driver name
  auto list = call("GET", "/volumes").js();
  ASSERT_EQ(list["Volumes"].size(), 1u);
  EXPECT_EQ(call("GET", "/volumes/data").js()["Name"], "data");
  EXPECT_EQ(call("GET", "/volumes/nothing").status, 404);
  create("mounter", {"sleep"}, {{"HostConfig", {{"Binds", {"data:/data"}}}}});
  auto inUse = call("DELETE", "/volumes/data");
  EXPECT_EQ(inUse.status, 409) << inUse.body;
  ASSERT_EQ(call("DELETE", "/containers/mounter").status, 204);
  EXPECT_EQ(call("DELETE", "/volumes/data").status, 204);
  EXPECT_EQ(call("GET", "/volumes").js()["Volumes"].size(), 0u);
}

// ---- networks ----

TEST_F(Api, ContainersConnectToAndDisconnectFromUserNetworks) {
  ASSERT_EQ(call("POST", "/networks/create", json{{"Name", "backend"}}.dump()).status, 201);
  auto id = create("joiner", {"sleep"});
  auto connect = call("POST", "/networks/backend/connect", json{{"Container", "joiner"}}.dump());
  EXPECT_EQ(connect.status, 200) << connect.body;
  auto nets = call("GET", "/containers/joiner/json").js()["NetworkSettings"]["Networks"];
  EXPECT_TRUE(nets.contains("backend")) << nets.dump();
  EXPECT_TRUE(nets.contains("bridge"));
  auto members = call("GET", "/networks/backend").js()["Containers"];
  EXPECT_TRUE(members.contains(id)) << members.dump();
  auto inUse = call("DELETE", "/networks/backend");
  EXPECT_EQ(inUse.status, 403) << inUse.body;
  EXPECT_EQ(call("POST", "/networks/backend/disconnect", json{{"Container", "joiner"}}.dump()).status, 200);
  auto again = call("POST", "/networks/backend/disconnect", json{{"Container", "joiner"}}.dump());
  EXPECT_EQ(again.status, 403) << again.body;
  EXPECT_FALSE(call("GET", "/containers/joiner/json").js()["NetworkSettings"]["Networks"].contains("backend"));
}

// ---- images ----

TEST_F(Api, TagsAreAddedShownAndRemoved) {
  ASSERT_EQ(call("POST", "/images/busybox/tag?repo=mine/box&tag=v1").status, 201);
  auto tags = call("GET", "/images/json").js()[0]["RepoTags"];
  std::set<std::string> got(tags.begin(), tags.end());
  EXPECT_EQ(got, (std::set<std::string>{"busybox:latest", "mine/box:v1"}));
  auto mine = call("GET", "/images/json?filters=%7B%22reference%22%3A%7B%22mine%2F*%22%3Atrue%7D%7D").js();  // mine/*
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["RepoTags"], json::array({"mine/box:v1"}));  // only the tags the filter names, as docker
  EXPECT_TRUE(call("GET", "/images/json?filters=%7B%22reference%22%3A%7B%22nope%22%3Atrue%7D%7D").js().empty());
  EXPECT_EQ(call("GET", "/images/json?filters=%7B%22before%22%3A%7B%22nosuch%22%3Atrue%7D%7D").status, 404);
  auto history = call("GET", "/images/mine/box:v1/history");
  ASSERT_EQ(history.status, 200);
  EXPECT_TRUE(history.js().is_array());
  auto untag = call("DELETE", "/images/mine/box:v1");
  ASSERT_EQ(untag.status, 200) << untag.body;
  EXPECT_EQ(untag.js()[0]["Untagged"], "mine/box:v1");
  EXPECT_EQ(call("GET", "/images/mine/box:v1/json").status, 404);
  auto badTag = call("POST", "/images/busybox/tag?repo=UPPER&tag=x");
  EXPECT_EQ(badTag.status, 400) << badTag.body;
}

// ---- JSON shapes (the swagger's required fields the CLI reads) ----

TEST_F(Api, InspectHasTheEngineApiFields) {
  create("shape", {"sleep"});
  auto j = call("GET", "/containers/shape/json").js();
  expectKeys(j, {"Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath", "HostsPath",
                 "LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel", "ProcessLabel",
                 "AppArmorProfile", "ExecIDs", "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"},
             "inspect");
  expectKeys(j["State"], {"Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode", "Error",
                          "StartedAt", "FinishedAt"},
             "State");
  expectKeys(j["Config"], {"Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
                           "OpenStdin", "StdinOnce", "Env", "Cmd", "Image", "WorkingDir", "Entrypoint", "Labels"},
             "Config");
  expectKeys(j["NetworkSettings"], {"Networks", "Ports"}, "NetworkSettings");
  EXPECT_EQ(j["Created"].get<std::string>().size() > 19, true);
}

TEST_F(Api, PsEntriesHaveTheEngineApiFields) {
  create("listed", {"sleep"});
  auto j = call("GET", "/containers/json?all=1").js();
  ASSERT_EQ(j.size(), 1u);
  expectKeys(j[0], {"Id", "Names", "Image", "ImageID", "Command", "Created", "Ports", "Labels", "State", "Status",
                    "HostConfig", "NetworkSettings", "Mounts"},
             "ps");
  EXPECT_EQ(j[0]["Status"], "Created");
}

TEST_F(Api, InfoAndVersionHaveTheEngineApiFields) {
  auto info = call("GET", "/info").js();
  expectKeys(info, {"ID", "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images",
                    "Driver", "DockerRootDir", "MemoryLimit", "SwapLimit", "NCPU", "MemTotal", "Name", "Labels",
                    "ServerVersion", "OSType", "Architecture", "OperatingSystem", "KernelVersion", "IndexServerAddress",
                    "RegistryConfig", "SecurityOptions", "Runtimes", "DefaultRuntime"},
             "info");
  auto version = call("GET", "/version").js();
  expectKeys(version, {"Platform", "Components", "Version", "ApiVersion", "MinAPIVersion", "GitCommit", "GoVersion",
                       "Os", "Arch", "KernelVersion", "BuildTime"},
             "version");
}


// ---- health checks, pause, update ----

TEST_F(Api, HealthShowsInPsAndInspectAndFilters) {
  create("doc", {"sleep"}, {{"Healthcheck", {{"Test", {"CMD", "echo", "ok"}}, {"Interval", 50'000'000}}}});
  create("plain", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/doc/start").status, 204);
  ASSERT_EQ(call("POST", "/containers/plain/start").status, 204);
  json health;
  for (int i = 0; i < 250; ++i) {
    health = call("GET", "/containers/doc/json").js()["State"]["Health"];
    if (health["Status"] == "healthy") break;
    t.pump(20ms);
  }
  ASSERT_EQ(health["Status"], "healthy") << health.dump();
  EXPECT_EQ(health["FailingStreak"], 0);
  EXPECT_EQ(health["Log"].back()["Output"], "ok\n");
  EXPECT_FALSE(call("GET", "/containers/plain/json").js()["State"].contains("Health"));
  auto ps = call("GET", "/containers/json?filters=" + uri(R"({"health":{"healthy":true}})")).js();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0]["Names"][0], "/doc");
  EXPECT_NE(ps[0]["Status"].get<std::string>().find("(healthy)"), std::string::npos) << ps[0]["Status"];
  auto none = call("GET", "/containers/json?filters=" + uri(R"({"health":{"none":true}})")).js();
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0]["Names"][0], "/plain");
}

TEST_F(Api, PauseAndUnpauseAsDockerAnswers) {
  create("napper", {"sleep"});
  auto stopped = call("POST", "/containers/napper/pause");
  EXPECT_EQ(stopped.status, 409);
  EXPECT_NE(stopped.message().find("is not running"), std::string::npos);
  ASSERT_EQ(call("POST", "/containers/napper/start").status, 204);
  ASSERT_EQ(call("POST", "/containers/napper/pause").status, 204);
  auto state = call("GET", "/containers/napper/json").js()["State"];
  EXPECT_EQ(state["Status"], "paused");
  EXPECT_EQ(state["Paused"], true);
  EXPECT_EQ(state["Running"], true);
  auto ps = call("GET", "/containers/json?filters=" + uri(R"({"status":{"paused":true}})")).js();
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0]["State"], "paused");
  EXPECT_NE(ps[0]["Status"].get<std::string>().find("(Paused)"), std::string::npos);
  auto exec = call("POST", "/containers/napper/exec", R"({"Cmd":["echo","x"]})");  // refused at create, as dockerd does
  EXPECT_EQ(exec.status, 409);
  EXPECT_NE(exec.message().find("is paused, unpause the container before exec"), std::string::npos) << exec.body;
  EXPECT_EQ(call("POST", "/containers/napper/pause").status, 409);
  ASSERT_EQ(call("POST", "/containers/napper/unpause").status, 204);
  EXPECT_EQ(call("GET", "/containers/napper/json").js()["State"]["Status"], "running");
  EXPECT_EQ(call("POST", "/containers/napper/unpause").status, 409);
}

TEST_F(Api, UpdateOfMemoryAndCpusAppliesAtTheNextStart) {
  create("grow", {"sleep"});
  ASSERT_EQ(call("POST", "/containers/grow/start").status, 204);
  auto r = call("POST", "/containers/grow/update", R"({"Memory":1073741824,"NanoCpus":2000000000})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.js()["Warnings"].size(), 1u);  // it runs: the change waits for its next start
  auto host = call("GET", "/containers/grow/json").js()["HostConfig"];
  EXPECT_EQ(host["Memory"], 1073741824);
  auto vm = t.hv.spec(t.vm(call("GET", "/containers/grow/json").js()["Id"]));
  ASSERT_TRUE(vm);
  EXPECT_EQ(vm->memoryMiB, 1024u);
  EXPECT_EQ(vm->vcpus, 2);
  auto refused = call("POST", "/containers/grow/update", R"({"CpuShares":512})");
  EXPECT_EQ(refused.status, 501);
  EXPECT_NE(refused.message().find("CpuShares"), std::string::npos);
}

}  // namespace
}  // namespace vic::docker::testing
