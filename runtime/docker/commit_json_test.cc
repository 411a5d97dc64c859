#include "runtime/docker/commit_json.h"

#include <gtest/gtest.h>

namespace vic::docker {
namespace {

using json = nlohmann::json;

TEST(CommitJson, ChangesFollowDockerfileForms) {
  json base = {{"Cmd", {"sh"}}, {"Env", {"PATH=/bin", "A=1"}}};
  auto c = applyChanges(base, {"CMD [\"echo\", \"hi\"]", "ENTRYPOINT top -b", "ENV A=2 B=3", "ENV C the value",
                               "EXPOSE 80 53/udp", "LABEL team=a", "WORKDIR /srv", "USER nobody", "VOLUME /data",
                               "STOPSIGNAL SIGINT"});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ((*c)["Cmd"], json({"echo", "hi"}));
  EXPECT_EQ((*c)["Entrypoint"], json({"/bin/sh", "-c", "top -b"}));
  EXPECT_EQ((*c)["Env"], json({"PATH=/bin", "A=2", "B=3", "C=the value"}));
  EXPECT_EQ((*c)["ExposedPorts"], json({{"80/tcp", json::object()}, {"53/udp", json::object()}}));
  EXPECT_EQ((*c)["Labels"], json({{"team", "a"}}));
  EXPECT_EQ((*c)["WorkingDir"], "/srv");
  EXPECT_EQ((*c)["User"], "nobody");
  EXPECT_EQ((*c)["Volumes"], json({{"/data", json::object()}}));
  EXPECT_EQ((*c)["StopSignal"], "SIGINT");
}

TEST(CommitJson, BadChangesAreRefusedWithDockersWords) {
  auto run = applyChanges(json::object(), {"RUN echo"});
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().message(), "RUN is not a valid change command");
  auto junk = applyChanges(json::object(), {"FOO bar"});
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().message(), "dockerfile parse error on line 1: unknown instruction: FOO");
}

TEST(CommitJson, ImageConfigGolden) {
  json base = {{"architecture", "amd64"}, {"os", "linux"}, {"config", {{"Cmd", {"sh"}}, {"Env", {"PATH=/bin"}}}},
               {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:aa"}}}},
               {"history", {{{"created", "2026-01-01T00:00:00Z"}, {"created_by", "base"}}}}};
  CommitRequest r;
  r.containerConfig = {{"Cmd", {"sh", "-c", "echo hi > /x"}}, {"Env", {"PATH=/bin", "X=1"}}, {"WorkingDir", ""}};
  r.changes = {"CMD cat /x"};
  r.containerId = "c0ffee";
  r.comment = "made by hand";
  r.author = "me";
  r.createdBy = "sh -c echo hi > /x";
  r.diffId = "sha256:bb";
  r.created = "2026-11-30T00:00:00Z";
  auto j = commitImageConfig(base, r);
  ASSERT_TRUE(j) << j.error().message();
  EXPECT_EQ(j->dump(),
            R"({"architecture":"amd64","author":"me","config":{"Cmd":["/bin/sh","-c","cat /x"],"Env":["PATH=/bin","X=1"]},)"
            R"("container":"c0ffee","created":"2026-11-30T00:00:00Z","history":[{"created":"2026-01-01T00:00:00Z","created_by":"base"},)"
            R"({"author":"me","comment":"made by hand","created":"2026-11-30T00:00:00Z","created_by":"sh -c echo hi > /x"}],)"
            R"("os":"linux","rootfs":{"diff_ids":["sha256:aa","sha256:bb"],"type":"layers"}})");
}

}  // namespace
}  // namespace vic::docker
