// The Docker API in memory (runtime/docker/api_fixture.h): system and container routes.
#include "runtime/docker/api_fixture.h"

#include <cstdio>
#include <set>
#include <sstream>

#include "images/manifest.h"

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

// docker info prints DriverStatus under "Storage Driver: vic": the VCH's tether transport and accelerator.
TEST_F(Api, InfoSaysWhichTransportAndAcceleratorTheVchUses) {
  auto status = call("GET", "/info").js()["DriverStatus"];
  ASSERT_TRUE(status.is_array());
  std::map<std::string, std::string> rows;
  for (const auto& pair : status) rows[pair.at(0).get<std::string>()] = pair.at(1).get<std::string>();
  EXPECT_EQ(rows["VCH"], "vch-t");
  EXPECT_EQ(rows["Tether transport"], "virtio-serial (no /dev/vhost-vsock on this host)");
  EXPECT_EQ(rows["Accelerator"], "tcg");
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

// ---- prunes, disk usage, image events ----

namespace {
// An image in the test store: no layers, its own config (so its own id), tagged `tag` if given.
std::string addImage(pl::TestVch& t, const std::string& tag, const json& labels = json::object(), int64_t created = 0) {
  json config = {{"architecture", "amd64"}, {"os", "linux"}, {"config", {{"Cmd", {"sh"}}, {"Labels", labels}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}, {"comment", tag + std::to_string(created)}};
  images::ImageRecord rec;
  rec.id = images::sha256Digest(config.dump());
  rec.created = created;
  EXPECT_TRUE(t.images->commit(rec, config.dump(), tag, ""));
  return rec.id;
}

std::set<std::string> imageIds(const json& list) {
  std::set<std::string> out;
  for (const auto& i : list) out.insert(i["Id"].get<std::string>());
  return out;
}
}  // namespace

TEST_F(Api, ImagePruneRemovesDanglingImagesNoContainerUses) {
  std::string dangling = addImage(t, "");
  std::string usedDangling = addImage(t, "", json::object(), 1);
  std::string unused = addImage(t, "docker.io/mine/unused:1");
  create("user", {"sleep"});
  create("old", {"sleep"}, {{"Image", usedDangling}});
  auto r = call("POST", "/images/prune?filters=" + uri(R"({"dangling":["true"]})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.js()["ImagesDeleted"], json::array({{{"Deleted", dangling}}}));
  EXPECT_TRUE(r.js()["SpaceReclaimed"].is_number());
  EXPECT_EQ(imageIds(call("GET", "/images/json").js()), (std::set<std::string>{t.imageId, usedDangling, unused}));
  auto again = call("POST", "/images/prune");  // nothing left to prune: dockerd's null
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(again.js()["ImagesDeleted"].is_null());
  auto all = call("POST", "/images/prune?filters=" + uri(R"({"dangling":["false"]})"));
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.js()["ImagesDeleted"], json::array({{{"Untagged", "mine/unused:1"}}, {{"Deleted", unused}}}));
  // busybox is used by a created container, the other by a stopped one: both stay
  EXPECT_EQ(imageIds(call("GET", "/images/json").js()), (std::set<std::string>{t.imageId, usedDangling}));
}

TEST_F(Api, ImagePruneFiltersByLabelAndAgeAndRefusesBadFilters) {
  create("user", {"sleep"});  // keeps busybox
  std::string kept = addImage(t, "docker.io/mine/kept:1", {{"keep", "yes"}});
  std::string recent = addImage(t, "docker.io/mine/recent:1", json::object(), time(nullptr));
  std::string old = addImage(t, "docker.io/mine/old:1", json::object(), 1000);
  auto r = call("POST", "/images/prune?filters=" + uri(R"({"dangling":["false"],"label!":["keep"],"until":["1h"]})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.js()["ImagesDeleted"], json::array({{{"Untagged", "mine/old:1"}}, {{"Deleted", old}}}));
  auto labelled = call("POST", "/images/prune?filters=" + uri(R"({"dangling":["0"],"label":["keep=yes"]})"));
  EXPECT_EQ(labelled.js()["ImagesDeleted"], json::array({{{"Untagged", "mine/kept:1"}}, {{"Deleted", kept}}}));
  EXPECT_EQ(call("GET", "/images/mine/recent:1/json").status, 200);
  for (const auto& [filters, message] : std::vector<std::pair<std::string, std::string>>{
           {R"({"dangling":["maybe"]})", "invalid filter 'dangling=[maybe]'"},
           {R"({"until":["soon"]})", "invalid value for 'until' filter: failed to parse value as time or duration: \"soon\""},
           {R"({"until":["1h","2h"]})", "more than one until filter specified"},
           {R"({"reference":["x"]})", "invalid filter 'reference'"}}) {
    auto bad = call("POST", "/images/prune?filters=" + uri(filters));
    EXPECT_EQ(bad.status, 400) << filters;
    EXPECT_EQ(bad.message(), message);
  }
}

TEST_F(Api, SystemDfCountsImagesContainersAndVolumes) {
  addImage(t, "docker.io/mine/other:1");
  create("user", {"sleep"}, {{"HostConfig", {{"Binds", {"data:/data"}}}}});
  create("second", {"sleep"});
  auto r = call("GET", "/system/df");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.js();
  EXPECT_TRUE(j["LayersSize"].is_number());
  ASSERT_EQ(j["Images"].size(), 2u);
  for (const auto& img : j["Images"]) {
    EXPECT_EQ(img["Containers"], img["Id"] == t.imageId ? 2 : 0);
    EXPECT_EQ(img["SharedSize"], 0);
    EXPECT_TRUE(img["RepoTags"].is_array());
  }
  ASSERT_EQ(j["Containers"].size(), 2u);
  for (const auto& ctr : j["Containers"]) {
    EXPECT_TRUE(ctr["SizeRw"].is_number()) << ctr;
    EXPECT_GE(ctr["SizeRootFs"].get<uint64_t>(), ctr["SizeRw"].get<uint64_t>());
    EXPECT_EQ(ctr["State"], "created");
  }
  ASSERT_EQ(j["Volumes"].size(), 1u);
  EXPECT_EQ(j["Volumes"][0]["Name"], "data");
  EXPECT_EQ(j["Volumes"][0]["UsageData"]["RefCount"], 1);
  EXPECT_TRUE(j["Volumes"][0]["UsageData"]["Size"].is_number());
  EXPECT_EQ(j["BuildCache"], json::array());
  auto volumesOnly = call("GET", "/system/df?type=volume").js();
  EXPECT_TRUE(volumesOnly["Images"].is_null());
  EXPECT_EQ(volumesOnly["Volumes"].size(), 1u);
  auto bad = call("GET", "/system/df?type=layers");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.message(), "unknown object type: layers");
}

TEST_F(Api, BuildCachePruneAnswersAsADaemonWithNoCache) {
  auto r = call("POST", "/build/prune?all=1&filters=" + uri(R"({"until":["24h"]})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.js(), (json{{"CachesDeleted", nullptr}, {"SpaceReclaimed", 0}}));
  auto bad = call("POST", "/build/prune?filters=" + uri(R"({"dangling":["true"]})"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.message(), "invalid filter 'dangling'");
  auto noContext = call("POST", "/build");  // no context tar: nothing to build from
  EXPECT_EQ(noContext.status, 400) << noContext.body;
}

TEST_F(Api, VolumePruneTakesAnonymousOnesUnlessAllAndReadsLabels) {
  pl::VolumeRequest anon;
  anon.anonymous = true;
  std::string anonymous = t.pl->volumes().create(anon).valueOr(pl::Volume{}).name;
  ASSERT_FALSE(anonymous.empty());
  ASSERT_EQ(call("POST", "/volumes/create", json{{"Name", "named"}}.dump()).status, 201);
  ASSERT_EQ(call("POST", "/volumes/create", json{{"Name", "kept"}, {"Labels", {{"keep", "1"}}}}.dump()).status, 201);
  auto r = call("POST", "/volumes/prune");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.js()["VolumesDeleted"], json::array({anonymous}));
  auto named = call("POST", "/volumes/prune?filters=" + uri(R"({"all":["true"],"label!":["keep"]})"));
  EXPECT_EQ(named.js()["VolumesDeleted"], json::array({"named"}));
  auto none = call("POST", "/volumes/prune?filters=" + uri(R"({"all":["false"]})"));
  EXPECT_EQ(none.js()["VolumesDeleted"], json::array());
  auto bad = call("POST", "/volumes/prune?filters=" + uri(R"({"all":["maybe"]})"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.message(), "invalid filter 'all': strconv.ParseBool: parsing \"maybe\": invalid syntax");
  auto until = call("POST", "/volumes/prune?filters=" + uri(R"({"until":["1h"]})"));
  EXPECT_EQ(until.status, 400);
  EXPECT_EQ(until.message(), "invalid filter 'until'");
  EXPECT_EQ(call("GET", "/volumes/kept").status, 200);
}

TEST_F(Api, NetworkPruneReadsLabelAndUntilFilters) {
  ASSERT_EQ(call("POST", "/networks/create", json{{"Name", "temp"}}.dump()).status, 201);
  ASSERT_EQ(call("POST", "/networks/create", json{{"Name", "kept"}, {"Labels", {{"keep", "1"}}}}.dump()).status, 201);
  auto recent = call("POST", "/networks/prune?filters=" + uri(R"({"until":["1h"]})"));
  ASSERT_EQ(recent.status, 200) << recent.body;
  EXPECT_EQ(recent.js()["NetworksDeleted"], json::array());
  auto r = call("POST", "/networks/prune?filters=" + uri(R"({"label!":["keep"]})"));
  EXPECT_EQ(r.js()["NetworksDeleted"], json::array({"temp"}));
  EXPECT_EQ(call("GET", "/networks/kept").status, 200);
  EXPECT_EQ(call("POST", "/networks/prune?filters=" + uri(R"({"driver":["bridge"]})")).status, 400);
}

TEST_F(Api, ImageRoutesPublishDockersImageEvents) {
  ASSERT_EQ(call("POST", "/images/busybox/tag?repo=mine/box&tag=v1").status, 201);
  ASSERT_EQ(call("DELETE", "/images/mine/box:v1").status, 200);
  auto saved = call("GET", "/images/get?names=busybox");
  ASSERT_EQ(saved.status, 200);
  ASSERT_EQ(call("DELETE", "/images/busybox").status, 200);
  auto loaded = call("POST", "/images/load?quiet=1", saved.body, "application/x-tar");
  ASSERT_EQ(loaded.status, 200) << loaded.body;
  std::string dangling = addImage(t, "");
  ASSERT_EQ(call("POST", "/images/prune").status, 200);
  auto r = call("GET", "/events?since=0&until=" + std::to_string(time(nullptr) + 1) + "&filters=" + uri(R"({"type":["image"]})"));
  ASSERT_EQ(r.status, 200);
  std::vector<std::string> got;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto e = json::parse(line);
    EXPECT_EQ(e["Type"], "image");
    got.push_back(e["Action"].get<std::string>() + " " + e["Actor"]["ID"].get<std::string>() + " " +
                  e["Actor"]["Attributes"].value("name", ""));
  }
  std::string id = t.imageId;
  EXPECT_EQ(got, (std::vector<std::string>{"tag " + id + " mine/box:v1", "untag " + id + " " + id, "save " + id + " " + id,
                                           "untag " + id + " " + id, "delete " + id + " " + id, "load " + id + " " + id,
                                           "delete " + dangling + " " + dangling, "prune  "}));  // untagged: no untag
  auto byName = call("GET", "/events?since=0&until=" + std::to_string(time(nullptr) + 1) + "&filters=" + uri(R"({"image":["mine/box"]})"));
  EXPECT_EQ(std::count(byName.body.begin(), byName.body.end(), '\n'), 1) << byName.body;  // the tag's name, without its tag
}

}  // namespace
}  // namespace vic::docker::testing
