// docker's word processing for Dockerfile instructions other than the shell form of RUN, CMD
// and ENTRYPOINT (buildkit's frontend/dockerfile/shell lexer): quotes, the escape character and
// variable expansion, over a map of the variables in scope. Pure.
//
// Supported, as docker: $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word},
// ${VAR:?message}, ${VAR?message}, ${VAR#glob}, ${VAR##glob}, ${VAR%glob}, ${VAR%%glob},
// ${VAR/glob/text}, ${VAR//glob/text}; positional ($1) and special ($@ $* $# $? $- $$ $! $0)
// parameters, which are never set; '...' (literal), "..." ($ expands; the escape character
// escapes only " $ and itself); the escape character outside quotes escapes anything and is
// dropped at the end of the word. An unset variable expands to "".
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vic::build {

// The build variables in scope (ARG and ENV values): name -> value, case-sensitive.
using Vars = std::map<std::string, std::string, std::less<>>;

// Bounds docker does not have, so hostile words stay cheap: ${...} nested inside ${...}, the
// bytes one word expands to, and the steps one word's ${VAR#glob}-style patterns may take.
inline constexpr int kMaxExpansionDepth = 32;
inline constexpr size_t kMaxExpandedBytes = size_t{1} << 20;
inline constexpr size_t kMaxPatternSteps = size_t{1} << 24;

// docker's ProcessWord: `word` with quotes removed, escapes applied and variables expanded;
// whitespace is kept. Errors say `failed to process "<word>": <why>`, e.g.
// "syntax error: missing '}'", "syntax error: bad substitution",
// "unsupported modifier (:=) in substitution", "X: is not allowed to be unset",
// "unexpected end of statement while looking for matching double-quote".
Result<std::string> expandWord(std::string_view word, const Vars& vars, char escape = '\\');

// docker's ProcessWords (what EXPOSE uses): as expandWord, then split into words at whitespace
// that is neither quoted nor escaped; an unquoted $VAR's value is split too ("EXPOSE $PORTS"
// with PORTS="80 443" is two words). Empty quotes make no word.
Result<std::vector<std::string>> expandWords(std::string_view text, const Vars& vars,
                                             char escape = '\\');

}  // namespace vic::build
