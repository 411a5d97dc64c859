// The Docker API in memory (runtime/docker/api_fixture.h): the image, commit, network, volume and
// plugin routes that api_test.cc and api_routes_test.cc leave out or test one way only, each with
// its success and its refusals in docker's words. Pulls come from a registry on loopback that
// answers what the test says (images/fake_registry.h).
#include <sstream>

#include "images/fake_registry.h"
#include "images/manifest.h"
#include "common/json.h"
#include "runtime/docker/api_fixture.h"

namespace vic::docker::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// An image config of no layers (so nothing is written into a layer disk), with a history.
json emptyConfig(const std::string& comment) {
  return {{"architecture", "amd64"}, {"os", "linux"}, {"created", "2024-01-02T03:04:05Z"},
          {"config", {{"Cmd", {"sh"}}, {"Labels", {{"origin", "test"}}}}},
          {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}},
          {"history", {{{"created", "2024-01-01T00:00:00Z"}, {"created_by", "/bin/sh -c #(nop) ADD file:0 in /"}, {"empty_layer", true}},
                       {{"created", "2024-01-02T03:04:05Z"}, {"created_by", "/bin/sh -c #(nop) CMD [\"sh\"]"}, {"empty_layer", true},
                        {"comment", comment}}}}};
}

// ---- images ----

TEST_F(Api, PullFetchesAnImageByTagOrDigestAndStreamsDockersProgress) {
  images::FakeRegistry reg;
  std::string config = emptyConfig("pulled").dump();
  std::string configDigest = images::sha256Digest(config);
  std::string manifest = json{{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                              {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", configDigest},
                                          {"size", config.size()}}},
                              {"layers", json::array()}}.dump();
  std::string manifestDigest = images::sha256Digest(manifest);
  images::FakeRegistry::Answer m{200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, manifest};
  reg.set("/v2/mine/empty/manifests/v1", m);
  reg.set("/v2/mine/empty/manifests/" + manifestDigest, m);
  reg.set("/v2/mine/empty/blobs/" + configDigest, {200, {}, config});
  std::string repo = reg.host() + "/mine/empty";

  auto r = call("POST", "/images/create?fromImage=" + uri(repo) + "&tag=v1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  auto lines = jsonLines(r.body);
  ASSERT_GE(lines.size(), 2u) << r.body;
  EXPECT_EQ(lines.front(), (json{{"status", "Pulling from mine/empty"}, {"id", "v1"}}));
  EXPECT_EQ(lines.back()["status"], "Status: Downloaded newer image for " + repo + ":v1");
  for (const auto& l : lines) EXPECT_FALSE(l.contains("error")) << l;
  auto ins = call("GET", "/images/" + repo + ":v1/json");
  ASSERT_EQ(ins.status, 200) << ins.body;
  EXPECT_EQ(ins.js()["Id"], configDigest);
  EXPECT_EQ(ins.js()["RepoDigests"], json::array({repo + "@" + manifestDigest}));

  auto again = call("POST", "/images/create?fromImage=" + uri(repo) + "&tag=" + manifestDigest);  // by digest
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(jsonLines(again.body).back()["status"], "Status: Image is up to date for " + repo + "@" + manifestDigest);

  auto events = call("GET", "/events?since=0&until=" + std::to_string(time(nullptr) + 1) + "&filters=" + uri(R"({"type":["image"]})"));
  auto pulls = jsonLines(events.body);
  ASSERT_EQ(pulls.size(), 2u) << events.body;
  EXPECT_EQ(pulls[0]["Action"], "pull");
  EXPECT_EQ(pulls[0]["Actor"]["ID"], repo + ":v1");
  EXPECT_EQ(pulls[0]["Actor"]["Attributes"]["name"], repo);
  EXPECT_EQ(pulls[0]["Actor"]["Attributes"]["origin"], "test");  // the image's labels
  EXPECT_EQ(pulls[1]["Actor"]["ID"], repo + "@" + manifestDigest);
}

TEST_F(Api, PullRefusalsComeAsErrorsOrAsTheStreamsLastLine) {
  images::FakeRegistry reg;  // knows no image
  auto import = call("POST", "/images/create?fromSrc=-");
  EXPECT_EQ(import.status, 501);
  EXPECT_EQ(import.message(), "docker import is not yet supported by vic");
  auto upper = call("POST", "/images/create?fromImage=Mine/Box&tag=1");
  EXPECT_EQ(upper.status, 400);
  EXPECT_EQ(upper.message(), "invalid reference format: repository name (Box) must be lowercase");
  auto platform = call("POST", "/images/create?fromImage=busybox&tag=1&platform=linux//amd64");
  EXPECT_EQ(platform.status, 400);
  EXPECT_EQ(platform.message(), "\"linux//amd64\": unknown operating system or architecture: invalid argument");

  std::string repo = reg.host() + "/mine/none";
  auto missing = call("POST", "/images/create?fromImage=" + uri(repo) + "&tag=v1");
  ASSERT_EQ(missing.status, 200);  // the stream had begun: the error is its last line, as dockerd's
  auto lines = jsonLines(missing.body);
  ASSERT_FALSE(lines.empty());
  std::string error = lines.back().value("error", "");
  EXPECT_NE(error.find("not found"), std::string::npos) << missing.body;
  EXPECT_EQ(lines.back()["errorDetail"]["message"], error);
  EXPECT_EQ(call("GET", "/images/json").js().size(), 1u);  // nothing was added
  auto events = call("GET", "/events?since=0&until=" + std::to_string(time(nullptr) + 1) + "&filters=" + uri(R"({"type":["image"]})"));
  ASSERT_EQ(events.status, 200);
  EXPECT_EQ(events.body, "") << "a failed pull logs no pull event";
}

TEST_F(Api, HistoryListsTheConfigNewestFirstWithTheImagesFamiliarTags) {
  std::string config = emptyConfig("the cmd").dump();
  images::ImageRecord rec;
  rec.id = images::sha256Digest(config);
  ASSERT_TRUE(t.images->commit(rec, config, "docker.io/mine/hist:1", ""));
  auto r = call("GET", "/images/mine/hist:1/history");
  ASSERT_EQ(r.status, 200) << r.body;
  auto h = r.js();
  ASSERT_EQ(h.size(), 2u) << h;
  EXPECT_EQ(h[0], (json{{"Id", rec.id}, {"Created", 1704164645}, {"CreatedBy", "/bin/sh -c #(nop) CMD [\"sh\"]"},
                        {"Tags", {"mine/hist:1"}}, {"Size", 0}, {"Comment", "the cmd"}}));
  EXPECT_EQ(h[1], (json{{"Id", "<missing>"}, {"Created", 1704067200}, {"CreatedBy", "/bin/sh -c #(nop) ADD file:0 in /"},
                        {"Tags", nullptr}, {"Size", 0}, {"Comment", ""}}));
  auto unknown = call("GET", "/images/nosuch/history");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.message(), "No such image: nosuch:latest");
}

TEST_F(Api, SaveOfOneImageByNameIsATarballThatLoadsAndAnUnknownOneIsNotFound) {
  auto saved = call("GET", "/images/busybox/get");
  ASSERT_EQ(saved.status, 200);
  EXPECT_EQ(saved.headers["content-type"], "application/x-tar");
  ASSERT_GE(saved.body.size(), 1024u);
  EXPECT_EQ(saved.body.size() % 512, 0u);
  EXPECT_NE(saved.body.find("manifest.json"), std::string::npos);
  ASSERT_EQ(call("DELETE", "/images/busybox").status, 200);
  EXPECT_EQ(call("GET", "/images/busybox/json").status, 404);
  auto loaded = call("POST", "/images/load?quiet=1", saved.body, "application/x-tar");
  ASSERT_EQ(loaded.status, 200) << loaded.body;
  EXPECT_EQ(call("GET", "/images/busybox/json").js()["Id"], t.imageId);

  for (const std::string target : {"/images/nosuch/get", "/images/get?names=nosuch"}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.message(), "No such image: nosuch:latest") << target;
  }
  auto none = call("GET", "/images/get");
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.message(), "no image names given");
}

TEST_F(Api, LoadOfSomethingNotATarballIsRefusedAndChangesNothing) {
  auto r = call("POST", "/images/load?quiet=1", "this is not a tar archive", "application/x-tar");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.message().find("Unrecognized archive format"), std::string::npos) << r.message();
  EXPECT_EQ(call("GET", "/images/json").js().size(), 1u);
}

TEST_F(Api, ImageRoutesRefuseUnknownImagesAndOperations) {
  auto rmi = call("DELETE", "/images/nosuch");
  EXPECT_EQ(rmi.status, 404);
  EXPECT_EQ(rmi.message(), "No such image: nosuch:latest");
  auto tag = call("POST", "/images/nosuch/tag?repo=mine/x&tag=1");
  EXPECT_EQ(tag.status, 404);
  EXPECT_EQ(tag.message(), "No such image: nosuch:latest");
  auto badFilter = call("GET", "/images/json?filters=" + uri(R"({"colour":["red"]})"));
  EXPECT_EQ(badFilter.status, 400);
  EXPECT_EQ(badFilter.message(), "invalid filter 'colour'");
}

// docker commit reads the container's disk against its image's top layer, both mounted with
// qemu-storage-daemon and fuse2fs, which the unit tier does not have: commits are the storage
// e2e script's. Here, the refusals that come before any disk is read.
TEST_F(Api, CommitRefusesAnUnknownContainerABadRepositoryAndABadChange) {
  create("src", {"sleep"});
  const std::vector<std::tuple<std::string, std::string, int, std::string>> refused = {
      {"container=ghost", "", 404, "No such container: ghost"},
      {"container=src&repo=mine/Box", "", 400, "invalid reference format: repository name (mine/Box) must be lowercase"},
      {"container=src&changes=" + uri("BOGUS x"), "", 400, "dockerfile parse error on line 1: unknown instruction: BOGUS"},
      {"container=src&changes=" + uri("RUN true"), "", 400, "RUN is not a valid change command"},
      {"container=src", "{", 400,
       "invalid JSON: the request body is not valid JSON or nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"}};
  for (const auto& [query, body, status, message] : refused) {
    auto r = call("POST", "/commit?" + query, body);
    EXPECT_EQ(r.status, status) << query;
    EXPECT_EQ(r.message(), message) << query;
  }
  EXPECT_EQ(call("GET", "/images/json").js().size(), 1u);
}

// ---- networks ----

TEST_F(Api, NetworkRoutesRefuseUnknownNetworksContainersAndOperations) {
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/networks/nosuch"}, {"DELETE", "/networks/nosuch"}, {"POST", "/networks/nosuch/connect"},
           {"POST", "/networks/nosuch/disconnect"}}) {
    auto r = call(method, target, method == "POST" ? R"({"Container":"x"})" : "");
    EXPECT_EQ(r.status, 404) << method << " " << target;
    EXPECT_EQ(r.message(), "network nosuch not found") << method << " " << target;
  }
  ASSERT_EQ(call("POST", "/networks/create", json{{"Name", "back"}}.dump()).status, 201);
  auto ghost = call("POST", "/networks/back/connect", json{{"Container", "ghost"}}.dump());
  EXPECT_EQ(ghost.status, 404);
  EXPECT_EQ(ghost.message(), "No such container: ghost");
  auto extra = call("GET", "/networks/back/extra");
  EXPECT_EQ(extra.status, 404);
  EXPECT_EQ(extra.message(), "page not found");
  auto put = call("PUT", "/networks/back");
  EXPECT_EQ(put.status, 501);
  EXPECT_EQ(put.message(), "PUT /networks/back is not yet supported by vic");
  auto unnamed = call("POST", "/networks/create", json{{"Driver", "bridge"}}.dump());
  EXPECT_EQ(unnamed.status, 400);
  EXPECT_EQ(unnamed.message(), "network name is required");
  auto overlay = call("POST", "/networks/create", json{{"Name", "o"}, {"Driver", "overlay"}}.dump());
  EXPECT_EQ(overlay.status, 501);
  EXPECT_EQ(overlay.message(), "network driver overlay is not supported by vic (only bridge)");
  auto badFilter = call("GET", "/networks?filters=" + uri(R"({"colour":["red"]})"));
  EXPECT_EQ(badFilter.status, 400);
  EXPECT_EQ(badFilter.message(), "invalid filter 'colour'");
  auto inspect = call("GET", "/networks/back");
  ASSERT_EQ(inspect.status, 200);
  EXPECT_EQ(inspect.js()["Name"], "back");
  EXPECT_EQ(inspect.js()["Driver"], "bridge");
}

TEST_F(Api, NetworkListFiltersByNameAndTheDefaultBridgeStays) {
  ASSERT_EQ(call("POST", "/networks/create", json{{"Name", "front"}, {"Labels", {{"tier", "web"}}}}.dump()).status, 201);
  auto byLabel = call("GET", "/networks?filters=" + uri(R"({"label":["tier=web"]})"));
  ASSERT_EQ(byLabel.status, 200);
  ASSERT_EQ(byLabel.js().size(), 1u);
  EXPECT_EQ(byLabel.js()[0]["Name"], "front");
  auto bridge = call("DELETE", "/networks/bridge");
  EXPECT_EQ(bridge.status, 403) << bridge.body;
  EXPECT_NE(bridge.message().find("bridge"), std::string::npos) << bridge.message();
  EXPECT_EQ(call("GET", "/networks/bridge").status, 200);
}

// ---- volumes ----

TEST_F(Api, VolumeRoutesRefuseUnknownInvalidAndInUseVolumes) {
  for (const std::string method : {"GET", "DELETE"}) {
    auto r = call(method, "/volumes/nosuch");
    EXPECT_EQ(r.status, 404) << method;
    EXPECT_EQ(r.message(), "get nosuch: no such volume") << method;
  }
  ASSERT_EQ(call("POST", "/volumes/create", json{{"Name", "kept"}, {"Labels", {{"keep", "1"}}}}.dump()).status, 201);
  auto dup = call("POST", "/volumes/create", json{{"Name", "kept"}}.dump());
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.message(), "A volume named kept already exists");
  auto driver = call("POST", "/volumes/create", json{{"Name", "n"}, {"Driver", "nfs"}}.dump());
  EXPECT_EQ(driver.status, 501);
  EXPECT_EQ(driver.message(), "volume driver nfs is not supported by vic (vsphere)");
  auto capacity = call("POST", "/volumes/create", json{{"Name", "big"}, {"DriverOpts", {{"Capacity", "lots"}}}}.dump());
  EXPECT_EQ(capacity.status, 400);
  EXPECT_EQ(capacity.message(), "invalid Capacity \"lots\": use a size such as 2048 (MiB), 512MB, 2GB or 1TB");
  auto invalid = call("POST", "/volumes/create", json{{"Name", "x"}}.dump());  // docker's names have two characters or more
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.message(), "create x: \"x\" includes invalid characters for a local volume name, only "
                               "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
  auto extra = call("GET", "/volumes/kept/extra");
  EXPECT_EQ(extra.status, 404);
  EXPECT_EQ(extra.message(), "page not found");
  auto put = call("PUT", "/volumes/kept");
  EXPECT_EQ(put.status, 501);
  EXPECT_EQ(put.message(), "PUT /volumes/kept is not yet supported by vic");
  auto badFilter = call("GET", "/volumes?filters=" + uri(R"({"colour":["red"]})"));
  EXPECT_EQ(badFilter.status, 400);
  EXPECT_EQ(badFilter.message(), "invalid filter 'colour'");
  auto id = create("user", {"sleep"}, {{"HostConfig", {{"Binds", {"kept:/data"}}}}});
  auto inUse = call("DELETE", "/volumes/kept");
  EXPECT_EQ(inUse.status, 409);
  EXPECT_EQ(inUse.message(), "remove kept: volume is in use - [" + id + "]");
  auto labelled = call("GET", "/volumes?filters=" + uri(R"({"label":["keep=1"],"dangling":["false"]})"));
  ASSERT_EQ(labelled.status, 200);
  ASSERT_EQ(labelled.js()["Volumes"].size(), 1u);
  EXPECT_EQ(labelled.js()["Volumes"][0]["Name"], "kept");
  EXPECT_EQ(call("GET", "/volumes?filters=" + uri(R"({"dangling":["true"]})")).js()["Volumes"], json::array());
}

// ---- plugins ----

// vic has no plugins: `docker inspect x` asks for a plugin last, and gets dockerd's 404.
TEST_F(Api, PluginsAreNeverFound) {
  for (const std::string target : {"/plugins/x/json", "/plugins/x"}) {
    auto r = call("GET", target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.message(), "plugin \"x\" not found") << target;
  }
  auto list = call("GET", "/plugins");
  EXPECT_EQ(list.status, 501);
  EXPECT_EQ(list.message(), "GET /plugins is not yet supported by vic");
}

}  // namespace
}  // namespace vic::docker::testing
