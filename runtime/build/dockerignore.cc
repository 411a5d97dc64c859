#include "runtime/build/dockerignore.h"

#include <algorithm>
#include <optional>

#include "runtime/build/text.h"

namespace vic::build {

namespace detail {

// docker turns each pattern into a regexp, or, when it has no wildcard, into an exact, prefix
// ("a**", "a/**") or suffix ("**/a") comparison. The regexp's pieces are these tokens, matched
// by a state-set simulation (linear in path length x pattern length, no backtracking).
struct IgnoreToken {
  enum Kind : uint8_t {
    kLit,    // one character
    kOne,    // ?   [^/]
    kStar,   // *   [^/]*
    kClass,  // [...]
    kDirs,   // **/ (.*/)?
    kAll,    // ** at the end: .*
  };
  Kind kind = kLit;
  char32_t c = 0;
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges = {};

  bool inClass(char32_t r) const {
    bool in = std::any_of(ranges.begin(), ranges.end(), [r](const auto& lh) { return lh.first <= r && r <= lh.second; });
    return in != negated;
  }
};

struct IgnoreMatcher {
  enum Type : uint8_t { kExact, kPrefix, kSuffix, kRegexp };
  Type type = kExact;
  std::vector<IgnoreToken> tokens;
};

}  // namespace detail

namespace {

using detail::IgnoreMatcher;
using detail::IgnoreToken;
using detail::Rune;

constexpr size_t kMaxIgnoreLine = 65535;  // bufio.Scanner's limit

Error badPattern() { return Error(Errc::kInvalidArgument, "syntax error in pattern"); }

// One class member for filepath.Match: a character other than '-' and ']', or '\' and any.
Result<char32_t> classChar(const std::vector<Rune>& r, size_t& i) {
  if (i >= r.size() || r[i].c == U'-' || r[i].c == U']') return badPattern();
  if (r[i].c == U'\\') ++i;
  if (i >= r.size() || r[i].c == 0xFFFD) return badPattern();
  return r[i++].c;
}

// "[...]" at r[i] (filepath.Match's syntax), leaving i after the ']'.
Result<IgnoreToken> parseClass(const std::vector<Rune>& r, size_t& i) {
  IgnoreToken t{IgnoreToken::kClass};
  ++i;
  if (i < r.size() && r[i].c == U'^') {
    t.negated = true;
    ++i;
  }
  for (;;) {
    if (i < r.size() && r[i].c == U']' && !t.ranges.empty()) {
      ++i;
      return t;
    }
    auto lo = classChar(r, i);
    if (!lo) return std::move(lo).error();
    char32_t hi = *lo;
    if (i < r.size() && r[i].c == U'-') {
      ++i;
      auto h = classChar(r, i);
      if (!h) return std::move(h).error();
      hi = *h;
    }
    if (i >= r.size()) return badPattern();  // no closing ']'
    if (hi < *lo) return badPattern();       // Go's regexp refuses [z-a]
    t.ranges.emplace_back(*lo, hi);
  }
}

// docker's Pattern.compile, with filepath.Match's syntax check.
Result<IgnoreMatcher> compilePattern(std::string_view pattern) {
  IgnoreMatcher m;
  std::vector<Rune> r = detail::decodeUtf8(pattern);
  auto regexp = [&](IgnoreToken t) {
    m.tokens.push_back(std::move(t));
    m.type = IgnoreMatcher::kRegexp;
  };
  for (size_t i = 0; i < r.size();) {
    size_t at = i;
    char32_t c = r[i++].c;
    if (c == U'*' && i < r.size() && r[i].c == U'*') {
      ++i;
      if (i < r.size() && r[i].c == U'/') ++i;
      if (i < r.size()) {
        regexp({IgnoreToken::kDirs});
      } else if (m.type == IgnoreMatcher::kExact) {
        m.type = IgnoreMatcher::kPrefix;
      } else {
        regexp({IgnoreToken::kAll});
      }
      if (at == 0) m.type = IgnoreMatcher::kSuffix;
    } else if (c == U'*') {
      regexp({IgnoreToken::kStar});
    } else if (c == U'?') {
      regexp({IgnoreToken::kOne});
    } else if (c == U'\\') {
      if (i == r.size()) return badPattern();
      regexp({IgnoreToken::kLit, r[i++].c});
    } else if (c == U'[') {
      i = at;
      auto t = parseClass(r, i);
      if (!t) return std::move(t).error();
      regexp(std::move(*t));
    } else if (c == U']') {
      regexp({IgnoreToken::kLit, c});
    } else {
      m.tokens.push_back({IgnoreToken::kLit, c});
    }
  }
  return m;
}

// Whether the tokens match the whole path or one of its parent directories (a prefix ending
// before a '/'): one pass, as every candidate starts at the beginning. State i: before token i;
// a kDirs token has a second state, "inside its .*/".
bool regexpMatchOrParent(const std::vector<IgnoreToken>& tokens, std::string_view path) {
  const size_t m = tokens.size();
  std::vector<char> at(m + 1, 0), in(m, 0), nextAt(m + 1, 0), nextIn(m, 0);
  auto closure = [&](std::vector<char>& a) {
    for (size_t i = 0; i < m; ++i) {
      auto k = tokens[i].kind;
      if (a[i] && (k == IgnoreToken::kStar || k == IgnoreToken::kDirs || k == IgnoreToken::kAll)) a[i + 1] = 1;
    }
  };
  at[0] = 1;
  closure(at);
  for (const Rune& rune : detail::decodeUtf8(path)) {
    char32_t c = rune.c;
    if (c == U'/' && at[m]) return true;  // a parent directory matches
    std::fill(nextAt.begin(), nextAt.end(), 0);
    std::fill(nextIn.begin(), nextIn.end(), 0);
    for (size_t i = 0; i < m; ++i) {
      const IgnoreToken& t = tokens[i];
      if (in[i] || (at[i] && t.kind == IgnoreToken::kDirs)) {  // .* then '/'
        if (c == U'/') nextAt[i + 1] = 1;
        if (c != U'\n') nextIn[i] = 1;
      }
      if (!at[i]) continue;
      switch (t.kind) {
        case IgnoreToken::kLit: nextAt[i + 1] |= c == t.c; break;
        case IgnoreToken::kOne: nextAt[i + 1] |= c != U'/'; break;
        case IgnoreToken::kStar: nextAt[i] |= c != U'/'; break;
        case IgnoreToken::kClass: nextAt[i + 1] |= t.inClass(c); break;
        case IgnoreToken::kAll: nextAt[i] |= c != U'\n'; break;
        case IgnoreToken::kDirs: break;
      }
    }
    closure(nextAt);
    std::swap(at, nextAt);
    std::swap(in, nextIn);
    bool alive = std::find(at.begin(), at.end(), 1) != at.end() || std::find(in.begin(), in.end(), 1) != in.end();
    if (!alive) return false;
  }
  return at[m] != 0;
}

std::string_view trimRightCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::string cleanPath(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = std::min(path.find('/', i), path.size());
    std::string_view seg = path.substr(i, slash - i);
    i = slash + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg != "..") {
      parts.push_back(seg);
    } else if (!parts.empty() && parts.back() != "..") {
      parts.pop_back();
    } else if (!rooted) {
      parts.push_back(seg);
    }
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  return out.empty() ? "." : out;
}

Result<DockerIgnore> DockerIgnore::parse(std::string_view text) {
  std::vector<IgnorePattern> patterns;
  int lineNo = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = std::min(text.find('\n', pos), text.size());
    if (nl - pos > kMaxIgnoreLine) {
      return Error(Errc::kInvalidArgument, "error reading .dockerignore: bufio.Scanner: token too long");
    }
    std::string_view line = trimRightCr(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (++lineNo == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (line.starts_with('#')) continue;
    line = detail::trimSpace(line);
    if (line.empty()) continue;
    bool exclusion = line[0] == '!';
    if (exclusion) line = detail::trimSpace(line.substr(1));
    std::string p;
    if (!line.empty()) {
      p = cleanPath(line);
      if (p.size() > 1 && p[0] == '/') p.erase(0, 1);
    }
    // patternmatcher.New cleans the whole line again, '!' included: "!/" becomes "!"
    std::string whole = cleanPath((exclusion ? "!" : "") + p);
    if (whole == "!") {
      return Error(Errc::kInvalidArgument, ".dockerignore line " + std::to_string(lineNo) + ": illegal exclusion pattern: \"!\"");
    }
    patterns.push_back({exclusion ? whole.substr(1) : whole, exclusion, lineNo});
  }
  return compile(std::move(patterns));
}

Result<DockerIgnore> DockerIgnore::fromPatterns(const std::vector<std::string>& list) {
  std::vector<IgnorePattern> patterns;
  for (const std::string& raw : list) {
    std::string_view p = detail::trimSpace(raw);
    if (p.empty()) continue;
    std::string clean = cleanPath(p);
    if (clean == "!") return Error(Errc::kInvalidArgument, "illegal exclusion pattern: \"!\"");
    bool exclusion = clean[0] == '!';
    patterns.push_back({exclusion ? clean.substr(1) : clean, exclusion, 0});
  }
  return compile(std::move(patterns));
}

Result<DockerIgnore> DockerIgnore::compile(std::vector<IgnorePattern> patterns) {
  auto matchers = std::make_shared<std::vector<IgnoreMatcher>>();
  for (const IgnorePattern& p : patterns) {
    auto m = compilePattern(p.pattern);
    if (!m) {
      std::string where = p.line > 0 ? ".dockerignore line " + std::to_string(p.line) + ": " : "";
      return Error(Errc::kInvalidArgument, where + m.error().message() + ": " + detail::goQuote(p.pattern));
    }
    matchers->push_back(std::move(*m));
  }
  DockerIgnore out;
  out.patterns_ = std::move(patterns);
  out.matchers_ = std::move(matchers);
  return out;
}

bool DockerIgnore::hasExclusions() const {
  return std::any_of(patterns_.begin(), patterns_.end(), [](const IgnorePattern& p) { return p.exclusion; });
}

// Pattern i against the path or any of its parent directories.
bool DockerIgnore::matchesOrParent(size_t i, std::string_view path) const {
  const IgnoreMatcher& m = (*matchers_)[i];
  std::string_view p = patterns_[i].pattern;
  switch (m.type) {
    case IgnoreMatcher::kExact:
      return path.starts_with(p) && (path.size() == p.size() || path[p.size()] == '/');
    case IgnoreMatcher::kPrefix:  // a parent has the prefix only if the path has
      return path.starts_with(p.substr(0, p.size() - 2));
    case IgnoreMatcher::kSuffix: {
      std::string_view suffix = p.substr(2);
      for (size_t end = path.size(); end != std::string_view::npos;) {
        std::string_view sub = path.substr(0, end);
        if (sub.ends_with(suffix) || (suffix[0] == '/' && sub == suffix.substr(1))) return true;
        end = end == 0 ? std::string_view::npos : path.rfind('/', end - 1);
      }
      return false;
    }
    case IgnoreMatcher::kRegexp:
      return regexpMatchOrParent(m.tokens, path);
  }
  return false;
}

// docker's MatchesOrParentMatches.
bool DockerIgnore::ignored(std::string_view path) const {
  std::string p = cleanPath(path);
  while (p.size() > 1 && p[0] == '/') p.erase(0, 1);
  if (p == "." || p == "/") return false;
  bool matched = false;
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (patterns_[i].exclusion != matched) continue;  // cannot change the answer
    if (matchesOrParent(i, p)) matched = !patterns_[i].exclusion;
  }
  return matched;
}

bool DockerIgnore::skipsSubtree(std::string_view dir) const {
  std::string d = cleanPath(dir);
  while (d.size() > 1 && d[0] == '/') d.erase(0, 1);
  if (!ignored(d)) return false;
  std::string dirSlash = d + "/";
  return std::none_of(patterns_.begin(), patterns_.end(), [&](const IgnorePattern& p) {
    return p.exclusion && (p.pattern + "/").starts_with(dirSlash);
  });
}

}  // namespace vic::build
