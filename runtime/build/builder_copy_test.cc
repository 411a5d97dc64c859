// COPY through the builder (sources from the context or another stage, destination rules,
// .dockerignore, --chown, symlinks kept inside the context) and multi-stage builds, against
// docker's classic builder (moby builder/dockerfile copy.go, dispatchers.go).
#include <gmock/gmock.h>

#include <set>

#include "runtime/build/builder_fixture.h"

namespace vic::build {
namespace {

using ::testing::HasSubstr;

std::set<std::string> names(const FakeBuildHost::Copy& c) {
  std::set<std::string> out;
  for (const auto& e : c.entries) out.insert(e.name);
  return out;
}

const TarEntry& only(const FakeBuildHost::Copy& c) {
  EXPECT_EQ(c.entries.size(), 1u);
  return c.entries.at(0);
}

TEST_F(BuilderTest, CopyAFileToDotLandsInTheWorkdir) {
  file("f", "hello");
  auto b = build("FROM busybox\nWORKDIR /app\nCOPY f .\n");
  ASSERT_TRUE(b.id) << b.error();
  ASSERT_EQ(host.copies.size(), 1u);
  EXPECT_EQ(host.copies[0].dest, "/app");
  EXPECT_EQ(host.copies[0].topLayer, "sha256:basechain");
  const auto& e = only(host.copies[0]);
  EXPECT_EQ(e.name, "app/f");
  EXPECT_EQ(e.data, "hello");
  EXPECT_EQ(e.mode, 0100644u);
  EXPECT_EQ(e.uid, 0u);
  EXPECT_EQ(e.gid, 0u);
}

TEST_F(BuilderTest, CopyAFileToAPathOrIntoADirectoryOfTheImage) {
  file("f", "x");
  file("exe", "#!/bin/sh\n", 0755);
  host.directory("/y");
  ASSERT_TRUE(build("FROM busybox\nCOPY f /x\nCOPY f /y\nCOPY exe /bin/\n").id);
  ASSERT_EQ(host.copies.size(), 3u);
  EXPECT_EQ(only(host.copies[0]).name, "x");
  EXPECT_EQ(only(host.copies[1]).name, "y/f");  // /y is a directory in the image
  EXPECT_EQ(only(host.copies[2]).name, "bin/exe");
  EXPECT_EQ(only(host.copies[2]).mode, 0100755u);
}

TEST_F(BuilderTest, CopyADirectoryCopiesItsContentsNotItself) {
  file("d/a", "a");
  file("d/sub/b", "b");
  ASSERT_TRUE(build("FROM busybox\nCOPY d /dst/\nCOPY d /dst2\n").id);
  ASSERT_EQ(host.copies.size(), 2u);
  EXPECT_EQ(names(host.copies[0]), (std::set<std::string>{"dst/a", "dst/sub", "dst/sub/b"}));
  EXPECT_EQ(names(host.copies[1]), (std::set<std::string>{"dst2/a", "dst2/sub", "dst2/sub/b"}));
  for (const auto& e : host.copies[0].entries) EXPECT_EQ(S_ISDIR(e.mode), e.name == "dst/sub") << e.name;
}

TEST_F(BuilderTest, SeveralSourcesNeedADestinationEndingInSlash) {
  file("a", "1");
  file("b", "2");
  auto b = build("FROM busybox\nCOPY a b /dst\n");
  ASSERT_FALSE(b.id);
  EXPECT_EQ(b.error(), "When using COPY with more than one source file, the destination must be a directory and end with a /");
  EXPECT_TRUE(host.copies.empty());
  ASSERT_TRUE(build("FROM busybox\nCOPY a b /dst/\n").id);
  EXPECT_EQ(names(host.copies.at(0)), (std::set<std::string>{"dst/a", "dst/b"}));
  auto dot = build("FROM busybox\nWORKDIR /w\nCOPY a b .\n");  // the classic builder wants the slash written
  ASSERT_FALSE(dot.id);
  EXPECT_EQ(dot.error(), "When using COPY with more than one source file, the destination must be a directory and end with a /");
  ASSERT_TRUE(build("FROM busybox\nWORKDIR /w\nCOPY a b ./\n").id);
  EXPECT_EQ(names(host.copies.back()), (std::set<std::string>{"w/a", "w/b"}));
}

TEST_F(BuilderTest, WildcardsMatchContextNamesDotfilesIncluded) {
  for (const char* f : {"x1.txt", "x2.txt", "y.md", ".h.txt", "sub/z.txt"}) file(f, f);
  ASSERT_TRUE(build("FROM busybox\nCOPY *.txt /d/\nCOPY sub/*.txt /e/\n").id);
  ASSERT_EQ(host.copies.size(), 2u);
  // Go's filepath.Match, which docker uses, lets '*' match a leading dot.
  EXPECT_EQ(names(host.copies[0]), (std::set<std::string>{"d/.h.txt", "d/x1.txt", "d/x2.txt"}));
  EXPECT_EQ(names(host.copies[1]), std::set<std::string>{"e/z.txt"});
  auto none = build("FROM busybox\nCOPY *.none /d/\n");
  ASSERT_FALSE(none.id);
  EXPECT_EQ(none.error(), "COPY failed: no source files were specified");
}

TEST_F(BuilderTest, DockerignoredFilesAreLeftOutAndCannotBeNamed) {
  file(".dockerignore", "secret\n*.log\n");
  for (const char* f : {"keep", "secret", "a.log", "dir/b.log", "dir/c"}) file(f, f);
  ASSERT_TRUE(build("FROM busybox\nCOPY . /ctx/\n").id);
  EXPECT_EQ(names(host.copies.at(0)), (std::set<std::string>{"ctx/.dockerignore", "ctx/keep", "ctx/dir", "ctx/dir/b.log", "ctx/dir/c"}));
  for (const char* missing : {"secret", "a.log", "nosuch"}) {
    auto b = build(std::string("FROM busybox\nCOPY ") + missing + " /x\n");
    ASSERT_FALSE(b.id) << missing;
    EXPECT_EQ(b.error(), std::string("COPY failed: file not found in build context or excluded by .dockerignore: stat ") + missing +
                             ": file does not exist");
    EXPECT_EQ(b.failure->code, 1);
  }
  EXPECT_EQ(host.copies.size(), 1u);
}

TEST_F(BuilderTest, CopyFromOutsideTheContextIsForbidden) {
  for (const char* src : {"../x", "sub/../../x", "/../../etc/passwd/../../.."}) {
    auto b = build(std::string("FROM busybox\nCOPY ") + src + " /x\n");
    ASSERT_FALSE(b.id) << src;
    EXPECT_THAT(b.error(), HasSubstr("forbidden path outside the build context: ")) << src;
  }
  EXPECT_TRUE(host.copies.empty());
}

TEST_F(BuilderTest, ChownSetsTheOwnerOfEveryEntry) {
  file("f", "x");
  file("d/g", "y");
  ASSERT_TRUE(build("FROM busybox\nCOPY --chown=1000:1000 f /f\nCOPY --chown=7 d /d/\n").id);
  ASSERT_EQ(host.copies.size(), 2u);
  EXPECT_EQ(only(host.copies[0]).uid, 1000u);
  EXPECT_EQ(only(host.copies[0]).gid, 1000u);
  EXPECT_EQ(only(host.copies[1]).uid, 7u);
  EXPECT_EQ(only(host.copies[1]).gid, 7u);
}

TEST_F(BuilderTest, ChmodNeedsBuildKit) {
  file("f", "x");
  auto b = build("FROM busybox\nCOPY --chmod=755 f /f\n");
  ASSERT_FALSE(b.id);
  EXPECT_EQ(b.error(), "the --chmod option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled");
  EXPECT_TRUE(host.copies.empty());
}

TEST_F(BuilderTest, SymlinksInTheContextResolveInsideIt) {
  file("etc/passwd", "the context's\n");
  symlink("pw", "/etc/passwd");
  symlink("up", "../../../../../etc/passwd");
  symlink("etcdir", "/etc");
  symlink("nowhere", "/etc/hostname");
  symlink("d/l", "/etc/passwd");
  auto all = build("FROM busybox\nCOPY pw /a\nCOPY up /b\nCOPY etcdir /e/\nCOPY d /d/\n");
  ASSERT_TRUE(all.id) << all.error();
  ASSERT_EQ(host.copies.size(), 4u);
  for (int i : {0, 1}) {
    EXPECT_EQ(only(host.copies[i]).data, "the context's\n") << i;
    EXPECT_TRUE(S_ISREG(only(host.copies[i]).mode)) << i;
  }
  EXPECT_EQ(only(host.copies[2]).name, "e/passwd");
  EXPECT_EQ(only(host.copies[2]).data, "the context's\n");
  // A symlink under a copied directory stays a symlink (its target is the image's business).
  EXPECT_EQ(only(host.copies[3]).name, "d/l");
  EXPECT_TRUE(S_ISLNK(only(host.copies[3]).mode));
  EXPECT_EQ(only(host.copies[3]).data, "/etc/passwd");
  auto b = build("FROM busybox\nCOPY nowhere /c\n");  // the host's /etc/hostname is never read
  ASSERT_FALSE(b.id);
  EXPECT_THAT(b.error(), HasSubstr("file not found in build context"));
}

TEST_F(BuilderTest, CopyFromAStageByNameAndByIndexKeepsOwnersUnlessChowned) {
  host.filesAt("/out/app", {{"app", "binary", 0100755, 1234, 1234}});
  host.filesAt("/out/lib", {{"lib", "", 040755, 0, 0}, {"lib/x.so", "so", 0100644, 1234, 1234}});
  auto b = build("FROM busybox AS build\nRUN make\nFROM busybox\nCOPY --from=build /out/app /app\n"
                 "COPY --from=0 /out/lib /lib/\nCOPY --from=BUILD --chown=1:2 /out/app /app2\n");
  ASSERT_TRUE(b.id) << b.error();
  ASSERT_EQ(host.runs.size(), 1u);
  std::string built = host.copies.empty() ? "" : host.copies[0].topLayer;
  ASSERT_EQ(host.reads.size(), 3u);
  for (const auto& r : host.reads) EXPECT_NE(r.first, "sha256:basechain");  // the stage's image
  EXPECT_EQ(host.reads[0].second, "/out/app");
  EXPECT_EQ(host.reads[1].second, "/out/lib");
  EXPECT_EQ(host.reads[0].first, host.reads[1].first);
  ASSERT_EQ(host.copies.size(), 3u);
  EXPECT_EQ(built, "sha256:basechain");  // copied into the last stage
  const auto& app = only(host.copies[0]);
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.data, "binary");
  EXPECT_EQ(app.mode, 0100755u);
  EXPECT_EQ(app.uid, 1234u);  // docker preserves ownership for --from without --chown
  EXPECT_EQ(names(host.copies[1]), std::set<std::string>{"lib/x.so"});
  EXPECT_EQ(host.copies[1].entries.at(0).uid, 1234u);
  EXPECT_EQ(only(host.copies[2]).name, "app2");
  EXPECT_EQ(only(host.copies[2]).uid, 1u);
  EXPECT_EQ(only(host.copies[2]).gid, 2u);
  EXPECT_EQ(image()["rootfs"]["diff_ids"].size(), 4u);  // the last stage: base + 3 copies
}

TEST_F(BuilderTest, TargetStopsAtItsStage) {
  const char* df = "FROM busybox AS a\nRUN one\nFROM busybox AS b\nRUN two\nFROM busybox\nRUN three\n";
  BuildOptions opts;
  opts.target = "B";
  auto b = build(df, opts);
  ASSERT_TRUE(b.id) << b.error();
  ASSERT_EQ(host.runs.size(), 2u);
  EXPECT_EQ(host.runs[1].argv.back(), "two");
  // docker counts the steps of the stages it builds.
  EXPECT_THAT(b.out, HasSubstr("Step 4/4 : RUN two\n"));
  EXPECT_EQ(host.recorded->config["rootfs"]["diff_ids"].size(), 2u);
  opts.target = "nope";
  auto unknown = build(df, opts);
  ASSERT_FALSE(unknown.id);
  EXPECT_EQ(unknown.error(), "failed to reach build target nope in Dockerfile");
  EXPECT_EQ(host.runs.size(), 2u);
}

TEST_F(BuilderTest, CopyFromAnUnknownStageOrImageFails) {
  auto b = build("FROM busybox\nCOPY --from=nosuch /x /x\n");
  ASSERT_FALSE(b.id);
  EXPECT_THAT(b.error(), HasSubstr("nosuch"));
  EXPECT_TRUE(host.copies.empty());
  EXPECT_FALSE(host.recorded);
}

}  // namespace
}  // namespace vic::build
