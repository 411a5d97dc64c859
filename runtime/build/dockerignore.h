// .dockerignore as docker reads it (moby/patternmatcher and its ignorefile package): which paths
// of a build context are left out. Pure.
//
// A line starting with '#' is a comment; blank lines are skipped; each pattern is trimmed, made
// clean (filepath.Clean: "./a//b/" is "a/b") and loses a leading '/'; "!pattern" re-includes what
// an earlier pattern excluded. The last pattern that matches a path, or one of its parent
// directories, decides. '*' is any run of characters but '/', '?' one character but '/',
// "[a-z]"/"[^a-z]" a class, '\' escapes, "**" any number of directories ("**/x", "a/**",
// "a/**/b").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vic::build {

namespace detail {
struct IgnoreMatcher;
}

struct IgnorePattern {
  std::string pattern;     // cleaned, without the '!'
  bool exclusion = false;  // "!pattern"
  int line = 0;            // in the .dockerignore, 1-based (0 from fromPatterns)
};

class DockerIgnore {
 public:
  DockerIgnore() = default;  // ignores nothing

  // The contents of a .dockerignore. Errors: "error reading .dockerignore: bufio.Scanner: token
  // too long" (a line over 64 KiB), ".dockerignore line 3: syntax error in pattern: \"[a\"",
  // ".dockerignore line 4: illegal exclusion pattern: \"!\"".
  static Result<DockerIgnore> parse(std::string_view text);
  // Patterns given one by one, as docker's patternmatcher.New takes them.
  static Result<DockerIgnore> fromPatterns(const std::vector<std::string>& patterns);

  // Whether the context-relative `path` ("src/a.go"; cleaned first) is left out. The context
  // root itself (".", "") never is.
  bool ignored(std::string_view path) const;

  // Whether the walker may skip directory `dir` without looking inside: it is ignored and no
  // "!" pattern starts with "dir/" (docker's own rule; so "!**/keep" does not stop the skip,
  // as in docker).
  bool skipsSubtree(std::string_view dir) const;

  const std::vector<IgnorePattern>& patterns() const { return patterns_; }
  bool hasExclusions() const;

 private:
  static Result<DockerIgnore> compile(std::vector<IgnorePattern> patterns);
  bool matchesOrParent(size_t i, std::string_view path) const;

  std::vector<IgnorePattern> patterns_;
  std::shared_ptr<const std::vector<detail::IgnoreMatcher>> matchers_;
};

// Go's filepath.Clean for '/' paths: "" -> ".", "a/./b/../c/" -> "a/c", "/../a" -> "/a".
std::string cleanPath(std::string_view path);

}  // namespace vic::build
