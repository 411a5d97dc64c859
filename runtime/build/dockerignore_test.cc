// .dockerignore parsing and matching, golden against docker's documented rules and the cases
// moby/patternmatcher's tests pin down.
#include "runtime/build/dockerignore.h"

#include <gtest/gtest.h>

namespace vic::build {
namespace {

DockerIgnore make(const std::vector<std::string>& patterns) {
  auto d = DockerIgnore::fromPatterns(patterns);
  EXPECT_TRUE(d) << d.error().message();
  return d ? *d : DockerIgnore{};
}

std::vector<std::string> cleaned(std::string_view text) {
  auto d = DockerIgnore::parse(text);
  EXPECT_TRUE(d) << d.error().message();
  std::vector<std::string> out;
  if (!d) return out;
  for (const IgnorePattern& p : d->patterns()) out.push_back((p.exclusion ? "!" : "") + p.pattern);
  return out;
}

TEST(DockerIgnore, FileSyntax) {
  EXPECT_EQ(cleaned("# comment\n\n  /foo/../bar/  \n./baz\n!  /keep\n#!x\n  #not-a-comment\nsub//dir/.\r\n"),
            (std::vector<std::string>{"bar", "baz", "!keep", "#not-a-comment", "sub/dir"}));
  EXPECT_EQ(cleaned("\xEF\xBB\xBF*.md\n"), std::vector<std::string>{"*.md"});
  EXPECT_EQ(cleaned("/\n"), std::vector<std::string>{"/"});
  EXPECT_EQ(cleaned("../x\n"), std::vector<std::string>{"../x"});
  auto d = DockerIgnore::parse("a\n!b\n");
  EXPECT_EQ(d->patterns()[1].line, 2);
  EXPECT_TRUE(d->hasExclusions());
  EXPECT_FALSE(DockerIgnore::parse("a\n")->hasExclusions());
}

TEST(DockerIgnore, FileErrors) {
  auto err = [](std::string_view text) {
    auto d = DockerIgnore::parse(text);
    return d ? std::string("(no error)") : d.error().message();
  };
  EXPECT_EQ(err("a\n!\n"), ".dockerignore line 2: illegal exclusion pattern: \"!\"");
  EXPECT_EQ(err("!/\n"), ".dockerignore line 1: illegal exclusion pattern: \"!\"");
  EXPECT_EQ(err("ok\n[\n"), ".dockerignore line 2: syntax error in pattern: \"[\"");
  EXPECT_EQ(err("a\\"), ".dockerignore line 1: syntax error in pattern: \"a\\\\\"");
  EXPECT_EQ(err("[]a]"), ".dockerignore line 1: syntax error in pattern: \"[]a]\"");
  EXPECT_EQ(err("[a-]"), ".dockerignore line 1: syntax error in pattern: \"[a-]\"");
  EXPECT_EQ(err("[^]"), ".dockerignore line 1: syntax error in pattern: \"[^]\"");
  EXPECT_EQ(err("[z-a]"), ".dockerignore line 1: syntax error in pattern: \"[z-a]\"");
  EXPECT_EQ(err(std::string(70000, 'a')), "error reading .dockerignore: bufio.Scanner: token too long");
  EXPECT_EQ(DockerIgnore::fromPatterns({"!"}).error().message(), "illegal exclusion pattern: \"!\"");
}

struct MatchCase {
  const char* pattern;
  const char* path;
  bool ignored;
};

TEST(DockerIgnore, PatternMatching) {
  const MatchCase cases[] = {
      {"**", "file", true},
      {"**", "dir/file", true},
      {"**/", "file", true},
      {"**/**", "dir/file", true},
      {"dir/**", "dir/file", true},
      {"dir/**", "dir/dir2/file", true},
      {"**/dir", "dir", true},
      {"**/dir", "dir/file", true},
      {"**/dir2/*", "dir/dir2/file", true},
      {"**/dir2/**", "dir/dir2/dir3/file", true},
      {"**file", "file", true},
      {"**file", "dir/dir/file", true},
      {"**/file", "dir/dir/file", true},
      {"**/file*", "dir/dir/file.txt", true},
      {"**/file*.txt", "dir/dir/file.txt", true},
      {"**/**/*.txt", "dir/dir/file.txt", true},
      {"**/**/*.txt2", "dir/dir/file.txt", false},
      {"**/*.txt", "file.txt", true},
      {"a**/*.txt", "a/file.txt", true},
      {"a**/*.txt", "a/dir/dir/file.txt", true},
      {"a/*.txt", "a/dir/file.txt", false},
      {"a/*.txt", "a/file.txt", true},
      {"a/*.txt**", "a/file.txt", true},
      {"a[b-d]e", "ae", false},
      {"a[b-d]e", "ace", true},
      {"a[b-d]e", "aae", false},
      {"a[^b-d]e", "aze", true},
      {"a[\\]]e", "a]e", true},
      {".*", ".foo", true},
      {".*", "foo", false},
      {"abc.def", "abcdef", false},
      {"abc.def", "abc.def", true},
      {"abc.def", "abcZdef", false},
      {"abc?def", "abcZdef", true},
      {"abc?def", "abcdef", false},
      {"abc?def", "abc/def", false},
      {"a\\\\", "a\\", true},
      {"a\\*b", "a*b", true},
      {"a\\*b", "axb", false},
      {"**/foo/bar", "foo/bar", true},
      {"**/foo/bar", "dir/dir2/foo/bar", true},
      {"abc/**", "abc", false},
      {"abc/**", "abc/def/ghi", true},
      {"**/.foo", ".foo", true},
      {"**/.foo", "bar.foo", false},
      {"a(b)c/def", "a(b)c/def", true},
      {"a(b)c/def", "a(b)c/xyz", false},
      {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
      {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      {"*", "fileutils.go", true},
      {"*.go", "fileutils.go", true},
      {"*.go", "pkg/fileutils.go", false},  // '*' stays in one directory
      {"a*/b", "abc/b", true},
      {"a*/b", "a/c/b", false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
      {"a*b?c*x", "abxbbxdbxebxczzx", true},
      {"a*b?c*x", "abxbbxdbxebxczzy", false},
      {"docs", "docs/README.md", true},  // a parent directory matching ignores what is inside
      {"./docs", "docs", true},
      {"docs/*.md", "docs/sub/README.md", false},
  };
  for (const MatchCase& c : cases) {
    EXPECT_EQ(make({c.pattern}).ignored(c.path), c.ignored) << c.pattern << " vs " << c.path;
  }
}

TEST(DockerIgnore, LastMatchingPatternWins) {
  EXPECT_TRUE(make({"!fileutils.go", "*.go"}).ignored("fileutils.go"));
  EXPECT_FALSE(make({"*.go", "!fileutils.go"}).ignored("fileutils.go"));
  EXPECT_TRUE(make({"*.go", "!fileutils.go"}).ignored("other.go"));
  DockerIgnore docs = make({"docs", "!docs/README.md"});
  EXPECT_FALSE(docs.ignored("docs/README.md"));
  EXPECT_TRUE(docs.ignored("docs/other.md"));
  EXPECT_TRUE(docs.ignored("docs"));
  EXPECT_FALSE(make({"docs/*", "!docs/README.md"}).ignored("docs/README.md"));
  EXPECT_FALSE(make({"**", "!util/docker/web"}).ignored("util/docker/web/foo"));
  EXPECT_TRUE(make({"**", "!util/docker/web", "util/docker/web/foo"}).ignored("util/docker/web/foo"));
  EXPECT_FALSE(make({"**", "!dist/*.whl"}).ignored("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"));
}

TEST(DockerIgnore, PathsAreCleanedAndTheRootIsKept) {
  DockerIgnore d = make({"*", "a/b"});
  EXPECT_FALSE(d.ignored("."));
  EXPECT_FALSE(d.ignored(""));
  EXPECT_FALSE(d.ignored("./"));
  EXPECT_TRUE(make({"a/b"}).ignored("./a//b/"));
  EXPECT_TRUE(make({"a/b"}).ignored("/a/b/c"));
  EXPECT_FALSE(DockerIgnore{}.ignored("anything"));
  // a .dockerignore's leading '/' is dropped; patternmatcher.New (fromPatterns) keeps it
  EXPECT_TRUE(DockerIgnore::parse("/docs/\n")->ignored("docs/a/b"));
  EXPECT_FALSE(make({"/docs/"}).ignored("docs/a/b"));
}

TEST(DockerIgnore, SkipsSubtreeAsDockersWalkerDoes) {
  EXPECT_TRUE(make({"node_modules"}).skipsSubtree("node_modules"));
  EXPECT_FALSE(make({"node_modules"}).skipsSubtree("src"));
  EXPECT_FALSE(make({"node_modules", "!node_modules/keep"}).skipsSubtree("node_modules"));
  EXPECT_FALSE(make({"node_modules", "!node_modules"}).skipsSubtree("node_modules"));
  // docker only looks for exceptions that start with the directory's path
  EXPECT_TRUE(make({"node_modules", "!**/keep"}).skipsSubtree("node_modules"));
  DockerIgnore docs = make({"docs", "!docs/README.md"});
  EXPECT_FALSE(docs.skipsSubtree("docs"));
  EXPECT_TRUE(docs.skipsSubtree("docs/sub"));
  EXPECT_FALSE(make({"*", "!a/b/c"}).skipsSubtree("a"));
  EXPECT_FALSE(make({"*"}).skipsSubtree("."));
}

TEST(DockerIgnore, CleanPath) {
  EXPECT_EQ(cleanPath(""), ".");
  EXPECT_EQ(cleanPath("./a//b/"), "a/b");
  EXPECT_EQ(cleanPath("a/./b/../c/"), "a/c");
  EXPECT_EQ(cleanPath("a/../../b"), "../b");
  EXPECT_EQ(cleanPath("/../a"), "/a");
  EXPECT_EQ(cleanPath("/"), "/");
  EXPECT_EQ(cleanPath("a/.."), ".");
}

}  // namespace
}  // namespace vic::build
