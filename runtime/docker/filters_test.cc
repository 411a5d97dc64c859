#include "runtime/docker/filters.h"

#include <gtest/gtest.h>

#include <chrono>

namespace vic::docker {
namespace {

pl::ContainerInfo container(const std::string& id, const std::string& name, pl::RunState st, int code = 0) {
  pl::ContainerInfo c;
  c.spec.id = id;
  c.spec.name = name;
  c.spec.imageId = "sha256:img1";
  c.spec.annotations["docker.config"] = R"({"Labels":{"team":"a","tier":"web"}})";
  c.status.state = st;
  c.status.exitCode = code;
  return c;
}

const AncestorCheck kAncestor = [](const std::string& ref, const std::string& id) { return ref == "busybox" && id == "sha256:img1"; };

TEST(Filters, ParsesBothShapes) {
  auto f = parseFilters(R"({"status":{"running":true,"exited":false},"name":["web"]})", kContainerFilters);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->at("status"), (std::set<std::string>{"running"}));
  EXPECT_EQ(f->at("name"), (std::set<std::string>{"web"}));
  EXPECT_TRUE(parseFilters("", kContainerFilters)->empty());
}

TEST(Filters, RejectsUnknownKeysAndJunkInDockersWords) {
  EXPECT_EQ(parseFilters(R"({"colour":{"red":true}})", kContainerFilters).error().message(), "invalid filter 'colour'");
  EXPECT_EQ(parseFilters("{", kContainerFilters).error().code(), Errc::kInvalidArgument);
  EXPECT_FALSE(parseFilters(R"({"status":"running"})", kContainerFilters));
  EXPECT_FALSE(parseFilters(R"({"status":[1]})", kContainerFilters));
}

TEST(Filters, ContainersMatchEveryKeyAndAnyValue) {
  auto web = container("abc123", "web", pl::RunState::kRunning);
  auto job = container("def456", "job", pl::RunState::kExited, 3);
  auto f = [](const std::string& s) { return *parseFilters(s, kContainerFilters); };
  EXPECT_TRUE(containerMatches(web, f(R"({"status":["running"]})"), kAncestor));
  EXPECT_FALSE(containerMatches(job, f(R"({"status":["running"]})"), kAncestor));
  EXPECT_TRUE(containerMatches(job, f(R"({"status":["running","exited"]})"), kAncestor));
  EXPECT_TRUE(containerMatches(web, f(R"({"id":["abc"]})"), kAncestor));
  EXPECT_FALSE(containerMatches(web, f(R"({"id":["bc"]})"), kAncestor));
  EXPECT_TRUE(containerMatches(web, f(R"({"name":["^/?we"]})"), kAncestor));
  EXPECT_TRUE(containerMatches(web, f(R"({"name":["eb"]})"), kAncestor));
  EXPECT_FALSE(containerMatches(job, f(R"({"name":["web"]})"), kAncestor));
  EXPECT_TRUE(containerMatches(web, f(R"({"label":["team","tier=web"]})"), kAncestor));
  EXPECT_FALSE(containerMatches(web, f(R"({"label":["team=b"]})"), kAncestor));
  EXPECT_TRUE(containerMatches(web, f(R"({"ancestor":["busybox"]})"), kAncestor));
  EXPECT_FALSE(containerMatches(web, f(R"({"ancestor":["alpine"]})"), kAncestor));
  EXPECT_TRUE(containerMatches(job, f(R"({"exited":["3"]})"), kAncestor));
  EXPECT_FALSE(containerMatches(web, f(R"({"exited":["0"]})"), kAncestor));
  EXPECT_FALSE(containerMatches(web, f(R"({"status":["running"],"name":["job"]})"), kAncestor));
}

TEST(Filters, Events) {
  pl::Event e{"container", "die", "abc123", {{"name", "web"}, {"image", "busybox"}, {"exitCode", "3"}}, 1, 1};
  auto f = [](const std::string& s) { return *parseFilters(s, kEventFilters); };
  EXPECT_TRUE(eventMatches(e, f(R"({"type":{"container":true}})")));
  EXPECT_FALSE(eventMatches(e, f(R"({"type":{"image":true}})")));
  EXPECT_TRUE(eventMatches(e, f(R"({"container":{"web":true},"event":{"die":true,"start":true}})")));
  EXPECT_TRUE(eventMatches(e, f(R"({"container":{"abc":true}})")));
  EXPECT_FALSE(eventMatches(e, f(R"({"event":{"start":true}})")));
  pl::Event exec = e;
  exec.action = "exec_start: sh -c true";
  EXPECT_TRUE(eventMatches(exec, f(R"({"event":{"exec_start":true}})")));
  EXPECT_FALSE(eventMatches(exec, f(R"({"event":{"exec_die":true}})")));
  EXPECT_TRUE(eventMatches(e, f(R"({"image":{"busybox":true}})")));
  EXPECT_FALSE(parseFilters(R"({"status":{"x":true}})", kEventFilters));
}

TEST(NetworkFilters, NameIdTypeDriverDanglingAndAllLabels) {
  pl::Scope s;
  s.id = "abcdef";
  s.name = "mynet";
  s.labels = {{"team", "a"}, {"env", "prod"}};
  EXPECT_TRUE(networkMatches(s, *parseFilters(R"({"name":{"my":true},"type":{"custom":true}})", kNetworkFilters), true));
  EXPECT_FALSE(networkMatches(s, *parseFilters(R"({"type":{"builtin":true}})", kNetworkFilters), true));
  EXPECT_TRUE(networkMatches(s, *parseFilters(R"({"id":{"abc":true},"driver":{"bridge":true}})", kNetworkFilters), true));
  EXPECT_TRUE(networkMatches(s, *parseFilters(R"({"label":{"team=a":true,"env":true}})", kNetworkFilters), true));
  EXPECT_FALSE(networkMatches(s, *parseFilters(R"({"label":{"team=a":true,"env=dev":true}})", kNetworkFilters), true));
  EXPECT_TRUE(networkMatches(s, *parseFilters(R"({"dangling":{"true":true}})", kNetworkFilters), false));
  EXPECT_FALSE(networkMatches(s, *parseFilters(R"({"dangling":{"true":true}})", kNetworkFilters), true));
  s.builtin = true;
  EXPECT_FALSE(networkMatches(s, *parseFilters(R"({"dangling":{"true":true}})", kNetworkFilters), false));
}

TEST(VolumeFilters, NameDriverDanglingAndAllLabels) {
  pl::Volume v{"data", "default", 1024, {{"team", "a"}}, false, 0, {}};
  EXPECT_TRUE(volumeMatches(v, *parseFilters(R"({"name":{"dat":true},"driver":{"vsphere":true}})", kVolumeFilters), false));
  EXPECT_FALSE(volumeMatches(v, *parseFilters(R"({"name":{"logs":true}})", kVolumeFilters), false));
  EXPECT_TRUE(volumeMatches(v, *parseFilters(R"({"label":{"team=a":true}})", kVolumeFilters), false));
  EXPECT_FALSE(volumeMatches(v, *parseFilters(R"({"label":{"team=a":true,"x":true}})", kVolumeFilters), false));
  EXPECT_TRUE(volumeMatches(v, *parseFilters(R"({"dangling":{"false":true}})", kVolumeFilters), true));
  EXPECT_FALSE(volumeMatches(v, *parseFilters(R"({"dangling":{"true":true}})", kVolumeFilters), true));
}

// `docker ps --filter 'name=(a|aa)*c'` against a 41-character name ran libstdc++'s
// backtracking std::regex for 30+ s on the endpoint's only I/O thread.
TEST(NameFilter, PathologicalPatternIsLinearTime) {
  std::string name(41, 'a');
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(nameMatches(name, "(a|aa)*c"));
  EXPECT_FALSE(nameMatches(name + name + name, "(a|aa)*c"));
  EXPECT_TRUE(nameMatches(name + "c", "(a|aa)*c"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
}

TEST(NameFilter, GoRegexpSyntaxWithAndWithoutTheSlash) {
  EXPECT_TRUE(nameMatches("web1", R"(^web\d$)"));  // Go's \d, which POSIX extended lacks
  EXPECT_TRUE(nameMatches("web1", "^/web"));
  EXPECT_TRUE(nameMatches("web1", "(?i)WEB"));
  EXPECT_FALSE(nameMatches("web1", "^eb"));
  EXPECT_TRUE(nameMatches("a(b", "a(b"));  // not a pattern: a substring, as before
  EXPECT_FALSE(nameMatches("web", "web\xff"));
}

// A filters parameter nested ~300k deep recursed nlohmann's parser off the stack.
TEST(Filters, DeepNestingIsRefusedNotRecursed) {
  std::string deep = R"({"name":)" + std::string(300000, '[') + std::string(300000, ']') + "}";
  auto f = parseFilters(deep, kContainerFilters);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(f.error().message().rfind("invalid filters: ", 0), 0u);
  EXPECT_LT(f.error().message().size(), 200u);  // the text is not echoed whole
}

TEST(Filters, PruneUntilTakesDurationsAndEpochSeconds) {
  int64_t now = 1'000'000 * 1'000'000'000LL;
  auto until = [&](std::set<std::string> v) { return pruneUntil(Filters{{"until", v}}, now); };
  EXPECT_EQ(*pruneUntil({}, now), 0);
  EXPECT_EQ(*until({"1h30m"}), now - 5400 * 1'000'000'000LL);
  EXPECT_EQ(*until({"10s"}), now - 10'000'000'000LL);
  EXPECT_EQ(*until({"1714979289.5"}), 1714979289'500000000LL);
  EXPECT_EQ(*until({"10s", "1h"}), now - 3600 * 1'000'000'000LL);  // the earliest
  for (std::string bad : {"", "yesterday", "-1h", "1d", "h", "1.5.5", "99999999999999999999h", "1e9"}) {
    auto r = until({bad});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message(), "failed to parse value as time or duration: \"" + bad + "\"");
  }
}

TEST(Filters, ContainerPrunableSkipsRunningNewerAndLabelled) {
  pl::ContainerInfo c;
  c.spec.createdNs = 100;
  c.spec.annotations["docker.config"] = R"({"Labels":{"tier":"web","keep":""}})";
  c.status.state = pl::RunState::kExited;
  EXPECT_TRUE(containerPrunable(c, {}, 0));
  EXPECT_TRUE(containerPrunable(c, {}, 101));
  EXPECT_FALSE(containerPrunable(c, {}, 100));  // not created before until
  EXPECT_TRUE(containerPrunable(c, {{"label", {"tier=web"}}}, 0));
  EXPECT_FALSE(containerPrunable(c, {{"label", {"tier=web", "other"}}}, 0));
  EXPECT_FALSE(containerPrunable(c, {{"label!", {"keep"}}}, 0));
  EXPECT_TRUE(containerPrunable(c, {{"label!", {"tier=db"}}}, 0));
  c.status.state = pl::RunState::kCreated;
  EXPECT_TRUE(containerPrunable(c, {}, 0));
  c.status.state = pl::RunState::kRunning;
  EXPECT_FALSE(containerPrunable(c, {}, 0));
}

TEST(Filters, GlobMatchesAsGoPathMatch) {
  EXPECT_TRUE(globMatches("busybox", "busybox"));
  EXPECT_TRUE(globMatches("busy*", "busybox"));
  EXPECT_TRUE(globMatches("b?sybox", "busybox"));
  EXPECT_TRUE(globMatches("*", ""));
  EXPECT_FALSE(globMatches("*", "a/b"));  // '*' stops at '/'
  EXPECT_TRUE(globMatches("*/*", "a/b"));
  EXPECT_FALSE(globMatches("busy", "busybox"));
  EXPECT_TRUE(globMatches("a\\*", "a*"));
  EXPECT_FALSE(globMatches("a\\*", "ab"));
  std::string hostile(1000, '*');
  EXPECT_TRUE(globMatches(hostile + "b", std::string(200, 'a') + "b"));  // linear, no backtracking blow-up
  EXPECT_FALSE(globMatches(std::string(1025, '*'), "x"));
}

TEST(Filters, ImagesByReferenceDanglingLabelAndCreation) {
  ImageFacts busybox{{"busybox:latest", "127.0.0.1:5000/test/busybox:1.36"}, {{"org", "vic"}}, 200};
  ImageFacts dangling{{}, {}, 100};
  auto ref = [](std::string v) { return Filters{{"reference", {v}}}; };
  EXPECT_TRUE(imageMatches(busybox, ref("busybox"), {}, {}));           // the name without its tag
  EXPECT_TRUE(imageMatches(busybox, ref("busybox:latest"), {}, {}));
  EXPECT_FALSE(imageMatches(busybox, ref("busybox:1.36"), {}, {}));
  EXPECT_TRUE(imageMatches(busybox, ref("127.0.0.1:5000/test/*"), {}, {}));
  EXPECT_FALSE(imageMatches(busybox, ref("test/busybox"), {}, {}));
  EXPECT_FALSE(imageMatches(dangling, ref("*"), {}, {}));
  std::string digested = "127.0.0.1:5000/test/busybox@sha256:" + std::string(64, 'a');
  EXPECT_TRUE(referenceMatches("127.0.0.1:5000/test/busybox", digested));
  EXPECT_FALSE(referenceMatches("127.0.0.1:5000/test/busybox@sha256", digested));
  EXPECT_TRUE(referenceMatches("127.0.0.1:5000/test/busybox:1.36", "127.0.0.1:5000/test/busybox:1.36"));
  EXPECT_TRUE(referenceMatches("127.0.0.1:5000/test/busybox", "127.0.0.1:5000/test/busybox:1.36"));
  EXPECT_FALSE(referenceMatches("127.0.0.1", "127.0.0.1:5000/test/busybox"));  // a port is no tag
  EXPECT_TRUE(imageMatches(dangling, {{"dangling", {"true"}}}, {}, {}));
  EXPECT_FALSE(imageMatches(busybox, {{"dangling", {"true"}}}, {}, {}));
  EXPECT_TRUE(imageMatches(busybox, {{"label", {"org=vic"}}}, {}, {}));
  EXPECT_FALSE(imageMatches(dangling, {{"label", {"org"}}}, {}, {}));
  EXPECT_TRUE(imageMatches(dangling, {}, 200, {}));  // before an image made at 200
  EXPECT_FALSE(imageMatches(busybox, {}, 200, {}));
  EXPECT_TRUE(imageMatches(busybox, {}, {}, 100));   // since
  EXPECT_FALSE(imageMatches(dangling, {}, {}, 100));
}

TEST(Filters, PruneLabelsMatchAsDockersMatchKvList) {
  std::map<std::string, std::string> labels = {{"tier", "web"}, {"keep", ""}};
  EXPECT_TRUE(pruneLabelsMatch(labels, {}));
  EXPECT_TRUE(pruneLabelsMatch(labels, {{"label", {"tier=web", "keep"}}}));
  EXPECT_FALSE(pruneLabelsMatch(labels, {{"label", {"tier=web", "other"}}}));
  EXPECT_FALSE(pruneLabelsMatch({}, {{"label", {"tier"}}}));
  EXPECT_FALSE(pruneLabelsMatch(labels, {{"label!", {"keep"}}}));
  EXPECT_TRUE(pruneLabelsMatch(labels, {{"label!", {"keep", "other"}}}));  // only when every label! matches
  EXPECT_TRUE(pruneLabelsMatch({}, {{"label!", {"keep"}}}));
}

TEST(Filters, BoolFiltersReadAsDockersGetBoolOrDefault) {
  EXPECT_TRUE(*boolFilter({}, "dangling", true));
  EXPECT_FALSE(*boolFilter({{"dangling", {"false"}}}, "dangling", true));
  EXPECT_TRUE(*boolFilter({{"dangling", {"1"}}}, "dangling", false));
  auto bad = boolFilter({{"dangling", {"maybe"}}}, "dangling", true);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "invalid filter 'dangling=[maybe]'");
  EXPECT_FALSE(boolFilter({{"dangling", {"true", "false"}}}, "dangling", true));
}

TEST(Filters, VolumePruneAllIsOneGoBool) {
  EXPECT_FALSE(*volumePruneAll({}));
  EXPECT_TRUE(*volumePruneAll({{"all", {"true"}}}));
  EXPECT_TRUE(*volumePruneAll({{"all", {"1"}}}));
  EXPECT_FALSE(*volumePruneAll({{"all", {"False"}}}));
  auto two = volumePruneAll({{"all", {"true", "false"}}});
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().message(), "invalid filter 'all=[false true]': only one value is expected");
  auto junk = volumePruneAll({{"all", {"yes"}}});
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().message(), "invalid filter 'all': strconv.ParseBool: parsing \"yes\": invalid syntax");
}

TEST(Filters, ImageEventsMatchByIdOrNameWithOrWithoutTag) {
  pl::Event pull{"image", "pull", "busybox:latest", {{"name", "busybox"}}, 0, 0};
  pl::Event tag{"image", "tag", "sha256:abc", {{"name", "mine/box:v1"}}, 0, 0};
  EXPECT_TRUE(eventMatches(pull, {{"image", {"busybox"}}}));
  EXPECT_TRUE(eventMatches(pull, {{"image", {"busybox:latest"}}}));
  EXPECT_FALSE(eventMatches(pull, {{"image", {"alpine"}}}));
  EXPECT_TRUE(eventMatches(tag, {{"image", {"sha256:abc"}}}));
  EXPECT_TRUE(eventMatches(tag, {{"image", {"mine/box"}}}));
  EXPECT_TRUE(eventMatches(tag, {{"image", {"mine/box:v1"}}}));
  pl::Event start{"container", "start", "c1", {{"image", "localhost:5000/box:1"}, {"name", "web"}}, 0, 0};
  EXPECT_TRUE(eventMatches(start, {{"image", {"localhost:5000/box"}}}));
  EXPECT_FALSE(eventMatches(start, {{"image", {"web"}}}));
}

}  // namespace
}  // namespace vic::docker
