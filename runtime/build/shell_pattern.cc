#include "runtime/build/shell_pattern.h"

#include <algorithm>

#include "runtime/build/shell_lex.h"
#include "runtime/build/text.h"

namespace vic::build::detail {
namespace {

using Tokens = std::vector<GlobToken>;

struct Span {
  long start = -1;
  long end = -1;
};

// A subject as code points, with the byte offset of each (and of the end).
struct Subject {
  std::vector<char32_t> runes;
  std::vector<size_t> offsets;
};

Subject subjectOf(std::string_view s) {
  Subject out;
  for (const Rune& r : decodeUtf8(s)) {
    out.runes.push_back(r.c);
    out.offsets.push_back(r.offset);
  }
  out.offsets.push_back(s.size());
  return out;
}

Error tooExpensive() {
  return Error(Errc::kInvalidArgument, "pattern substitution needs too many steps");
}

// Adds state i (and, across stars that match nothing, the states after it) with `start`,
// keeping the earliest start per state: the leftmost match wins.
void addState(const Tokens& pat, std::vector<long>& set, size_t i, long start) {
  for (;;) {
    if (set[i] != -1 && set[i] <= start) return;
    set[i] = start;
    if (i == pat.size() || pat[i].kind != GlobToken::kStar) return;
    ++i;
  }
}

// The leftmost match starting at or after `from` (only at `from` when anchored): the longest at
// that start, or (anchored only) the shortest. Every state visited costs one step.
Result<Span> search(const Tokens& pat, const std::vector<char32_t>& s, size_t from, bool anchored,
                    bool longest, size_t& steps) {
  const size_t m = pat.size();
  std::vector<long> cur(m + 1, -1);
  std::vector<long> nxt(m + 1, -1);
  Span best;
  for (size_t pos = from;; ++pos) {
    if (best.start < 0 && (!anchored || pos == from)) addState(pat, cur, 0, static_cast<long>(pos));
    if (cur[m] != -1 && (best.start < 0 || cur[m] < best.start || (cur[m] == best.start && longest))) {
      best = {cur[m], static_cast<long>(pos)};
      if (!longest) return best;
    }
    if (pos == s.size()) break;
    std::fill(nxt.begin(), nxt.end(), -1);
    bool alive = false;
    for (size_t i = 0; i < m; ++i) {
      long start = cur[i];
      if (start == -1 || (best.start >= 0 && start > best.start)) continue;
      if (steps == 0) return tooExpensive();
      --steps;
      const GlobToken& t = pat[i];
      char32_t c = s[pos];
      bool ok = t.kind == GlobToken::kLit ? c == t.c : c != U'\n';
      if (!ok) continue;
      addState(pat, nxt, t.kind == GlobToken::kStar ? i : i + 1, start);
      alive = true;
    }
    std::swap(cur, nxt);
    if (steps == 0) return tooExpensive();
    --steps;  // the position itself, so an empty pattern over a long value is charged too
    if (!alive && (anchored || best.start >= 0)) break;
  }
  return best;
}

Error invalidPattern(std::string_view pattern, const Error& why) {
  return Error(Errc::kInvalidArgument,
               "invalid pattern (" + std::string(pattern) + ") in substitution: " + why.message());
}

}  // namespace

Result<Tokens> compileShellPattern(std::string_view pattern) {
  Tokens out;
  std::vector<Rune> runes = decodeUtf8(pattern);
  for (size_t i = 0; i < runes.size(); ++i) {
    char32_t c = runes[i].c;
    if (c == U'*') {
      out.push_back({GlobToken::kStar});
    } else if (c == U'?') {
      out.push_back({GlobToken::kAny});
    } else if (c == U'\\') {
      // \} and \/ belong to the ${} syntax: the backslash is not part of the pattern
      if (i + 1 < runes.size() && (runes[i + 1].c == U'}' || runes[i + 1].c == U'/')) continue;
      if (i + 1 == runes.size()) return Error(Errc::kInvalidArgument, "invalid escape '\\'");
      char32_t e = runes[++i].c;
      if (e != U'*' && e != U'?' && e != U'\\') {
        size_t at = runes[i].offset;
        return Error(Errc::kInvalidArgument,
                     "invalid escape '\\" + std::string(pattern.substr(at, utf8SeqLen(pattern, at))) + "'");
      }
      out.push_back({GlobToken::kLit, e});
    } else {
      out.push_back({GlobToken::kLit, c});
    }
  }
  return out;
}

Result<std::string> trimShellPattern(std::string_view value, std::string_view pattern, bool suffix,
                                     bool greedy, size_t& steps) {
  auto pat = compileShellPattern(pattern);
  if (!pat) return invalidPattern(pattern, pat.error());
  Subject subj = subjectOf(value);
  if (suffix) {
    std::reverse(pat->begin(), pat->end());
    std::reverse(subj.runes.begin(), subj.runes.end());
  }
  auto span = search(*pat, subj.runes, 0, true, greedy, steps);
  if (!span) return std::move(span).error();
  if (span->start < 0) return std::string(value);
  size_t n = subj.runes.size();
  auto len = static_cast<size_t>(span->end);
  if (suffix) return std::string(value.substr(0, subj.offsets[n - len]));
  return std::string(value.substr(subj.offsets[len]));
}

Result<std::string> replaceShellPattern(std::string_view value, std::string_view pattern,
                                        std::string_view replacement, bool all, size_t& steps) {
  auto pat = compileShellPattern(pattern);
  if (!pat) return invalidPattern(pattern, pat.error());
  Subject subj = subjectOf(value);
  const size_t n = subj.runes.size();
  std::string out;
  size_t lastEnd = 0;
  for (size_t from = 0; from <= n;) {
    auto span = search(*pat, subj.runes, from, false, true, steps);
    if (!span) return std::move(span).error();
    if (span->start < 0) break;
    auto start = static_cast<size_t>(span->start);
    auto end = static_cast<size_t>(span->end);
    out.append(value.substr(subj.offsets[lastEnd], subj.offsets[start] - subj.offsets[lastEnd]));
    // Go skips an empty match right after the previous match
    if (end > lastEnd || start == 0) out.append(replacement);
    lastEnd = end;
    if (!all) break;
    from = from + 1 > end ? from + 1 : end;
    if (out.size() > kMaxExpandedBytes) {
      return Error(Errc::kInvalidArgument,
                   "expansion exceeds " + std::to_string(kMaxExpandedBytes) + " bytes");
    }
  }
  out.append(value.substr(subj.offsets[lastEnd]));
  return out;
}

}  // namespace vic::build::detail
