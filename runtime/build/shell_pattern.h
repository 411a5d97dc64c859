// The shell patterns of ${VAR#glob}, ${VAR%glob} and ${VAR/glob/text} as docker reads them:
// '*' any run of characters, '?' one character (neither crosses a newline, as in Go's regexp),
// '\' escapes '*', '?' and '\' (and is dropped before '}' and '/'); no bracket expressions.
// Matching is a linear-time state-set simulation with a step budget. Internal to runtime/build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vic::build::detail {

struct GlobToken {
  enum Kind : uint8_t { kLit, kAny, kStar };
  Kind kind = kLit;
  char32_t c = 0;
};

// The pattern's tokens, or "invalid escape '\x'".
Result<std::vector<GlobToken>> compileShellPattern(std::string_view pattern);

// ${VAR#glob} (suffix false) and ${VAR%glob} (suffix true): `value` without its shortest (greedy:
// longest) matching prefix or suffix. `steps` is the budget left, shared by one word's patterns.
Result<std::string> trimShellPattern(std::string_view value, std::string_view pattern, bool suffix,
                                     bool greedy, size_t& steps);

// ${VAR/glob/text} and ${VAR//glob/text} (all): the leftmost longest match (every
// non-overlapping one, as Go's ReplaceAllString) replaced by `replacement`.
Result<std::string> replaceShellPattern(std::string_view value, std::string_view pattern,
                                        std::string_view replacement, bool all, size_t& steps);

}  // namespace vic::build::detail
