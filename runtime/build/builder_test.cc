// The builder's steps, step cache and config changes over a FakeBuildHost, pinned against
// docker's classic builder (moby builder/dockerfile: evaluator, dispatchers, buildargs).
#include <gmock/gmock.h>

#include <regex>

#include "runtime/build/builder_fixture.h"

namespace vic::build {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

nlohmann::json J(const char* text) { return nlohmann::json::parse(text); }

bool hasEnv(const nlohmann::json& env, const std::string& kv) {
  return env.is_array() && std::find(env.begin(), env.end(), nlohmann::json(kv)) != env.end();
}

TEST_F(BuilderTest, StepsAreNumberedWithMetaArgsAndEachShowsTheImageId) {
  auto b = build("ARG BASE=busybox\nFROM $BASE\nENV A=1\nRUN echo hi\n");
  ASSERT_TRUE(b.id) << b.error();
  std::string shape = std::regex_replace(b.out, std::regex("[0-9a-f]{12}"), "<id>");
  EXPECT_EQ(shape,
            "Step 1/4 : ARG BASE=busybox\n"
            "Step 2/4 : FROM $BASE\n ---> <id>\n"
            "Step 3/4 : ENV A=1\n ---> <id>\n"
            "Step 4/4 : RUN echo hi\n ---> <id>\n");
  EXPECT_THAT(b.out, HasSubstr("FROM $BASE\n ---> " + cfg::shortId(cfg::imageId(baseConfig())) + "\n"));
  EXPECT_TRUE(b.out.ends_with(" ---> " + cfg::shortId(*b.id) + "\n")) << b.out;
  EXPECT_EQ(*b.id, cfg::imageId(image()));
  EXPECT_EQ(host.pulled, std::vector<std::string>{"busybox"});
}

TEST_F(BuilderTest, ASecondIdenticalBuildUsesTheCacheAndGivesTheSameImage) {
  file("f", "data");
  const char* df = "FROM busybox\nENV A=1\nRUN make\nCOPY f /f\nCMD [\"x\"]\n";
  auto first = build(df);
  ASSERT_TRUE(first.id) << first.error();
  EXPECT_EQ(first.count("Using cache"), 0u);
  auto second = build(df);
  ASSERT_TRUE(second.id) << second.error();
  EXPECT_EQ(second.count(" ---> Using cache\n"), 4u) << second.out;
  EXPECT_THAT(second.out, HasSubstr("Step 3/5 : RUN make\n ---> Using cache\n ---> "));
  EXPECT_EQ(*second.id, *first.id);
  EXPECT_EQ(host.runs.size(), 1u);
  EXPECT_EQ(host.copies.size(), 1u);
}

TEST_F(BuilderTest, NoCacheRunsEveryStepAgain) {
  file("f", "data");
  const char* df = "FROM busybox\nENV A=1\nRUN make\nCOPY f /f\n";
  ASSERT_TRUE(build(df).id);
  BuildOptions opts;
  opts.noCache = true;
  auto again = build(df, opts);
  ASSERT_TRUE(again.id) << again.error();
  EXPECT_EQ(again.count("Using cache"), 0u);
  EXPECT_EQ(host.runs.size(), 2u);
  EXPECT_EQ(host.copies.size(), 2u);
}

TEST_F(BuilderTest, ACopiedFileThatChangesMissesTheCacheFromThatCopyOn) {
  file("f", "one");
  const char* df = "FROM busybox\nRUN first\nCOPY f /f\nRUN second\n";
  ASSERT_TRUE(build(df).id);
  file("f", "two");
  auto changed = build(df);
  ASSERT_TRUE(changed.id) << changed.error();
  EXPECT_EQ(changed.count("Using cache"), 1u) << changed.out;  // RUN first only
  EXPECT_THAT(changed.out, HasSubstr("RUN first\n ---> Using cache\n"));
  ASSERT_EQ(host.runs.size(), 3u);
  EXPECT_EQ(host.runs.back().argv.back(), "second");
  EXPECT_EQ(host.copies.size(), 2u);
  EXPECT_EQ(host.copies.back().entries.at(0).data, "two");
  // Only contents count, not times (docker's tarsum leaves mtime out of the file hash).
  auto p = ctx_ / "f";
  std::filesystem::last_write_time(p, std::filesystem::last_write_time(p) + std::chrono::hours(1));
  auto touched = build(df);
  ASSERT_TRUE(touched.id) << touched.error();
  EXPECT_EQ(touched.count("Using cache"), 3u) << touched.out;
  EXPECT_EQ(*touched.id, *changed.id);
}

TEST_F(BuilderTest, ACachedStepWhoseLayerHasGoneRunsAgain) {
  const char* df = "FROM busybox\nRUN one\nRUN two\n";
  ASSERT_TRUE(build(df).id);
  host.dropLayer(host.recorded->topLayer);
  auto again = build(df);
  ASSERT_TRUE(again.id) << again.error();
  EXPECT_EQ(again.count("Using cache"), 1u);
  ASSERT_EQ(host.runs.size(), 3u);
  EXPECT_EQ(host.runs.back().argv.back(), "two");
}

TEST_F(BuilderTest, ConfigStepsAreCachedByTheValuesTheyExpandTo) {
  const char* df = "FROM busybox\nARG V=1\nENV X=$V\nLABEL v=$V\n";
  ASSERT_TRUE(build(df).id);
  EXPECT_TRUE(hasEnv(runConfig()["Env"], "X=1"));
  BuildOptions two;
  two.buildArgs["V"] = "2";
  auto b = build(df, two);
  ASSERT_TRUE(b.id) << b.error();
  EXPECT_TRUE(hasEnv(runConfig()["Env"], "X=2")) << runConfig().dump();
  EXPECT_EQ(runConfig()["Labels"], J(R"({"v":"2"})"));
  auto again = build(df, two);
  EXPECT_EQ(again.count("Using cache"), 3u) << again.out;
  EXPECT_EQ(*again.id, *b.id);
}

TEST_F(BuilderTest, EnvBothFormsReplacingAKeyAndExpandingWithTheEnvBeforeTheInstruction) {
  // docker's reference: "ENV abc=bye def=$abc" gives def the value abc had before the line.
  auto b = build("FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\nENV C 3\n"
                 "ENV B=\"two words\" PATH=/opt:$PATH\n");
  ASSERT_TRUE(b.id) << b.error();
  EXPECT_EQ(runConfig()["Env"], J(R"(["PATH=/opt:/usr/bin:/bin","abc=bye","def=hello","ghi=bye","C=3","B=two words"])"));
}

TEST_F(BuilderTest, ArgDefaultsAndBuildArgsReachRunButNotTheImage) {
  BuildOptions opts;
  opts.buildArgs["B"] = "9";
  auto b = build("FROM busybox\nARG A=1\nARG B=2\nRUN env\n", opts);
  ASSERT_TRUE(b.id) << b.error();
  ASSERT_EQ(host.runs.size(), 1u);
  EXPECT_EQ(host.runs[0].env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "A=1", "B=9"}));
  EXPECT_EQ(runConfig()["Env"], J(R"(["PATH=/usr/bin:/bin"])"));
  EXPECT_EQ(image()["history"].back()["created_by"], "|2 A=1 B=9 /bin/sh -c env");
  EXPECT_TRUE(b.unused.empty());
}

TEST_F(BuilderTest, ABuildArgWithoutAValueKeepsTheDefault) {
  // The CLI sends --build-arg NAME with no value when NAME is not in its environment: docker's
  // getBuildArg then takes the ARG's default.
  BuildOptions opts;
  opts.buildArgs["A"] = std::nullopt;
  opts.buildArgs["Z"] = std::nullopt;
  ASSERT_TRUE(build("FROM busybox\nARG A=1\nARG Z\nRUN env\n", opts).id);
  EXPECT_EQ(host.runs.at(0).env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "A=1"}));
}

TEST_F(BuilderTest, AnArgThatEnvSetsIsNotABuildArgOfRun) {
  ASSERT_TRUE(build("FROM busybox\nARG A=1\nENV A=2\nRUN x\n").id);
  EXPECT_EQ(host.runs.at(0).env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "A=2"}));
  EXPECT_EQ(image()["history"].back()["created_by"], "/bin/sh -c x");  // docker's FilterAllowed
}

TEST_F(BuilderTest, MetaArgsNameTheBaseAndAreSeenInAStageOnlyWhenRedeclared) {
  auto alpine = baseConfig();
  alpine["config"]["Env"] = {"PATH=/alpine"};
  host.addImage("alpine", alpine, "sha256:alpinechain");
  const char* df = "ARG REPO=busy\nARG IMG=${REPO}box\nARG V=meta\nFROM ${IMG}\nARG V\nRUN x\nFROM busybox\nRUN y\n";
  BuildOptions opts;
  opts.buildArgs["IMG"] = "alpine";
  auto b = build(df, opts);
  ASSERT_TRUE(b.id) << b.error();
  EXPECT_EQ(host.pulled, (std::vector<std::string>{"alpine", "busybox"}));
  EXPECT_EQ(host.runs.at(0).env, (std::vector<std::string>{"PATH=/alpine", "V=meta"}));
  EXPECT_EQ(host.runs.at(1).env, (std::vector<std::string>{"PATH=/usr/bin:/bin"}));
  EXPECT_TRUE(b.unused.empty());
  ASSERT_TRUE(build(df).id);
  EXPECT_EQ(host.pulled.at(2), "busybox");
}

TEST_F(BuilderTest, LabelWorkdirUserExposeVolumeStopSignalMaintainer) {
  auto b = build("FROM busybox\nLABEL a=1 \"b c\"=two\nWORKDIR /app\nWORKDIR sub\nWORKDIR ../other\n"
                 "USER 1000:1000\nEXPOSE 80 53/UDP 8080/tcp\nVOLUME /data\nVOLUME [\"/v2\", \"/v3\"]\n"
                 "STOPSIGNAL SIGINT\nMAINTAINER me\nRUN pwd\n");
  ASSERT_TRUE(b.id) << b.error();
  EXPECT_EQ(runConfig()["Labels"], J(R"({"a":"1","b c":"two"})"));
  EXPECT_EQ(runConfig()["WorkingDir"], "/app/other");
  EXPECT_EQ(runConfig()["User"], "1000:1000");
  EXPECT_EQ(runConfig()["ExposedPorts"], J(R"({"80/tcp":{},"53/udp":{},"8080/tcp":{}})"));
  EXPECT_EQ(runConfig()["Volumes"], J(R"({"/data":{},"/v2":{},"/v3":{}})"));
  EXPECT_EQ(runConfig()["StopSignal"], "SIGINT");
  EXPECT_EQ(image()["author"], "me");
  ASSERT_EQ(host.runs.size(), 1u);
  EXPECT_EQ(host.runs[0].workdir, "/app/other");
  EXPECT_EQ(host.runs[0].user, "1000:1000");
}

TEST_F(BuilderTest, CmdAndEntrypointShellAndExecForms) {
  ASSERT_TRUE(build("FROM busybox\nCMD echo hi\nENTRYPOINT [\"/e\", \"x\"]\n").id);
  EXPECT_EQ(runConfig()["Cmd"], J(R"(["/bin/sh","-c","echo hi"])"));  // set in this stage: kept
  EXPECT_EQ(runConfig()["Entrypoint"], J(R"(["/e","x"])"));
  ASSERT_TRUE(build("FROM busybox\nENTRYPOINT /e x\n").id);
  EXPECT_EQ(runConfig()["Entrypoint"], J(R"(["/bin/sh","-c","/e x"])"));
  EXPECT_TRUE(runConfig()["Cmd"].is_null()) << runConfig().dump();  // the base's CMD goes
  ASSERT_TRUE(build("FROM busybox\nCMD [\"a\", \"b\"]\n").id);
  EXPECT_EQ(runConfig()["Cmd"], J(R"(["a","b"])"));
}

TEST_F(BuilderTest, ShellChangesTheShellForm) {
  ASSERT_TRUE(build("FROM busybox\nSHELL [\"/bin/bash\", \"-eu\", \"-c\"]\nRUN echo x\nCMD echo y\nRUN [\"ls\", \"-l\"]\n").id);
  ASSERT_EQ(host.runs.size(), 2u);
  EXPECT_THAT(host.runs[0].argv, ElementsAre("/bin/bash", "-eu", "-c", "echo x"));
  EXPECT_THAT(host.runs[1].argv, ElementsAre("ls", "-l"));
  EXPECT_EQ(runConfig()["Cmd"], J(R"(["/bin/bash","-eu","-c","echo y"])"));
  EXPECT_EQ(runConfig()["Shell"], J(R"(["/bin/bash","-eu","-c"])"));
}

TEST_F(BuilderTest, HealthcheckIsRecorded) {
  ASSERT_TRUE(build("FROM busybox\nHEALTHCHECK --interval=5s --retries=3 CMD curl -f http://x/\n").id);
  EXPECT_EQ(runConfig()["Healthcheck"], J(R"({"Test":["CMD-SHELL","curl -f http://x/"],"Interval":5000000000,"Retries":3})"));
  ASSERT_TRUE(build("FROM busybox\nHEALTHCHECK NONE\n").id);
  EXPECT_EQ(runConfig()["Healthcheck"]["Test"], J(R"(["NONE"])"));
}

TEST_F(BuilderTest, OnbuildIsRecordedAndRunsWhenAChildBuildUsesTheImage) {
  BuildOptions parent;
  parent.tags = {"docker.io/library/parent:latest"};
  ASSERT_TRUE(build("FROM busybox\nONBUILD RUN echo child\nONBUILD ENV FROM_PARENT=1\n", parent).id);
  EXPECT_EQ(runConfig()["OnBuild"], J(R"(["RUN echo child","ENV FROM_PARENT=1"])"));
  EXPECT_EQ(host.tags, parent.tags);
  EXPECT_TRUE(host.runs.empty());
  host.addImage("parent", host.recorded->config, host.recorded->topLayer);
  auto child = build("FROM parent\nENV X=1\n");
  ASSERT_TRUE(child.id) << child.error();
  // The triggers run inside the FROM step, without step lines of their own (docker's
  // dispatchTriggeredOnBuild); the FROM's id is the image after them.
  std::string shape = std::regex_replace(child.out, std::regex("[0-9a-f]{12}"), "<id>");
  EXPECT_EQ(shape, "Step 1/2 : FROM parent\n# Executing 2 build triggers\n ---> <id>\nStep 2/2 : ENV X=1\n ---> <id>\n");
  ASSERT_EQ(host.runs.size(), 1u);
  EXPECT_THAT(host.runs[0].argv, ElementsAre("/bin/sh", "-c", "echo child"));
  EXPECT_TRUE(hasEnv(runConfig()["Env"], "FROM_PARENT=1"));
  EXPECT_TRUE(runConfig()["OnBuild"].is_null() || runConfig()["OnBuild"].empty()) << runConfig().dump();
  EXPECT_EQ(image()["rootfs"]["diff_ids"].size(), 2u);
}

TEST_F(BuilderTest, HistoryHasAnEntryPerStepAndALayerPerRunAndCopy) {
  file("f", "data");
  ASSERT_TRUE(build("FROM busybox\nARG X=1\nENV A=1\nRUN make\nCOPY f /f\nLABEL l=v\n").id);
  const auto& h = image()["history"];
  ASSERT_EQ(h.size(), 6u) << h.dump();
  EXPECT_EQ(h[0]["created_by"], "base");
  EXPECT_EQ(h[1]["created_by"], "/bin/sh -c #(nop)  ARG X=1");
  EXPECT_EQ(h[2]["created_by"], "/bin/sh -c #(nop)  ENV A=1");
  EXPECT_EQ(h[3]["created_by"], "|1 X=1 /bin/sh -c make");
  EXPECT_THAT(h[4]["created_by"].get<std::string>(), ::testing::MatchesRegex("/bin/sh -c #\\(nop\\) COPY [0-9a-f]{12} in /f "));
  EXPECT_EQ(h[5]["created_by"], "/bin/sh -c #(nop)  LABEL l=v");
  for (size_t i : {1, 2, 5}) EXPECT_EQ(h[i].value("empty_layer", false), true) << i;
  for (size_t i : {3, 4}) EXPECT_FALSE(h[i].contains("empty_layer")) << i;
  const auto& diffIds = image()["rootfs"]["diff_ids"];
  ASSERT_EQ(diffIds.size(), 3u);
  EXPECT_EQ(diffIds[0], "sha256:base");
  EXPECT_NE(diffIds[1], diffIds[2]);
  EXPECT_EQ(image()["created"], h[5]["created"]);
}

TEST_F(BuilderTest, AFailingRunFailsTheBuildWithItsCodeAndRecordsNothing) {
  host.exitCode("exit 3", 3);
  auto b = build("FROM busybox\nRUN exit 3\nRUN never\n");
  ASSERT_FALSE(b.id);
  ASSERT_TRUE(b.failure);
  EXPECT_EQ(b.failure->code, 3);
  EXPECT_EQ(b.failure->message, "The command '/bin/sh -c exit 3' returned a non-zero code: 3");
  EXPECT_EQ(b.error(), b.failure->message);
  EXPECT_FALSE(host.recorded);
  EXPECT_EQ(host.runs.size(), 1u);
  EXPECT_THAT(b.out, HasSubstr("Step 2/3 : RUN exit 3\n"));
  EXPECT_THAT(b.out, Not(HasSubstr("Step 3/3")));
}

TEST_F(BuilderTest, UnusedBuildArgsAreTheOnesNoArgDeclared) {
  BuildOptions opts;
  opts.buildArgs = {{"NOPE", "1"}, {"A", "2"}, {"HTTP_PROXY", "http://proxy:3128"}};
  auto b = build("FROM busybox\nARG A\n", opts);
  ASSERT_TRUE(b.id) << b.error();
  EXPECT_EQ(b.unused, std::vector<std::string>{"NOPE"});  // the proxy args are docker's built-ins
}

TEST_F(BuilderTest, LabelOptionsLandInTheImage) {
  BuildOptions opts;
  opts.labels["k"] = "v";
  ASSERT_TRUE(build("FROM busybox\nLABEL a=1\n", opts).id);
  EXPECT_EQ(runConfig()["Labels"], J(R"({"a":"1","k":"v"})"));
}

TEST_F(BuilderTest, AnUnknownBaseImageFails) {
  auto b = build("FROM nosuch\n");
  ASSERT_FALSE(b.id);
  EXPECT_THAT(b.error(), HasSubstr("pull access denied for nosuch"));
  EXPECT_FALSE(host.recorded);
}

}  // namespace
}  // namespace vic::build
