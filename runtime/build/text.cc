#include "runtime/build/text.h"

#include <algorithm>
#include <cstdio>

namespace vic::build::detail {

std::string_view trimLeftSpace(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && isSpace(s[i])) ++i;
  return s.substr(i);
}

std::string_view trimSpace(std::string_view s) {
  s = trimLeftSpace(s);
  size_t n = s.size();
  while (n > 0 && isSpace(s[n - 1])) --n;
  return s.substr(0, n);
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string toUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool equalsFold(std::string_view a, std::string_view b) {
  return a.size() == b.size() && toLower(a) == toLower(b);
}

size_t utf8SeqLen(std::string_view s, size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
  if (n <= 1 || i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  // overlong three- and four-byte forms, surrogates and code points past U+10FFFF
  auto b1 = static_cast<unsigned char>(s[i + 1]);
  if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 >= 0xA0) || (b == 0xF0 && b1 < 0x90) ||
      (b == 0xF4 && b1 >= 0x90)) {
    return 1;
  }
  return n;
}

std::vector<Rune> decodeUtf8(std::string_view s) {
  std::vector<Rune> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8SeqLen(s, i);
    auto b = static_cast<unsigned char>(s[i]);
    char32_t c = b;
    if (n == 1 && b >= 0x80) {
      c = 0xFFFD;
    } else if (n > 1) {
      c = b & (0x7F >> n);
      for (size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    out.push_back({c, i});
    i += n;
  }
  return out;
}

std::string goQuote(std::string_view s, size_t max) {
  bool cut = s.size() > max;
  if (cut) s = s.substr(0, max);
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n = utf8SeqLen(s, i);
    if (b >= 0x80 && n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    switch (b) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (b < 0x20 || b >= 0x7F) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", b);
          out += hex;
        } else {
          out += static_cast<char>(b);
        }
    }
    ++i;
  }
  if (cut) out += "...";
  return out + "\"";
}

namespace {

size_t levenshtein(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string matchCase(std::string_view match, std::string_view orig) {
  if (orig == toLower(orig)) return toLower(match);
  if (orig == toUpper(orig)) return toUpper(match);
  return std::string(match);
}

}  // namespace

std::optional<std::string> suggest(std::string_view value, std::span<const std::string_view> options,
                                   bool caseSensitive) {
  std::string val = caseSensitive ? std::string(value) : toLower(value);
  std::optional<std::string> match;
  size_t best = 3;
  for (std::string_view o : options) {
    std::string opt = caseSensitive ? std::string(o) : toLower(o);
    if (val == opt) return std::nullopt;
    // a distance below 3 needs lengths within 2 of each other: skip the rest (a 64 KiB keyword)
    if (val.size() > opt.size() + 2 || opt.size() > val.size() + 2) continue;
    size_t d = levenshtein(val, opt);
    if (d < best) {
      best = d;
      match = caseSensitive ? opt : matchCase(opt, value);
    }
  }
  return match;
}

namespace {

constexpr uint64_t kMaxDuration = uint64_t{1} << 63;

Error invalidDuration(std::string_view orig) {
  return Error(Errc::kInvalidArgument, "time: invalid duration " + goQuote(orig));
}

// Go's leadingInt: the digits at the front of s, or nullopt on overflow.
std::optional<uint64_t> leadingInt(std::string_view& s) {
  uint64_t x = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (x > kMaxDuration / 10) return std::nullopt;
    x = x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (x > kMaxDuration) return std::nullopt;
  }
  s.remove_prefix(i);
  return x;
}

// Go's leadingFraction: digits after the point, keeping what fits without overflow.
uint64_t leadingFraction(std::string_view& s, double& scale) {
  uint64_t x = 0;
  scale = 1;
  bool overflow = false;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (overflow) continue;
    if (x > (kMaxDuration - 1) / 10) {
      overflow = true;
      continue;
    }
    uint64_t y = x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (y > kMaxDuration) {
      overflow = true;
      continue;
    }
    x = y;
    scale *= 10;
  }
  s.remove_prefix(i);
  return x;
}

std::optional<uint64_t> unitNs(std::string_view u) {
  if (u == "ns") return 1;
  if (u == "us" || u == "\xC2\xB5s" || u == "\xCE\xBCs") return 1'000;
  if (u == "ms") return 1'000'000;
  if (u == "s") return 1'000'000'000;
  if (u == "m") return 60'000'000'000;
  if (u == "h") return 3'600'000'000'000;
  return std::nullopt;
}

}  // namespace

Result<int64_t> parseGoDuration(std::string_view orig) {
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return invalidDuration(orig);
  uint64_t d = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return invalidDuration(orig);
    size_t before = s.size();
    auto v = leadingInt(s);
    if (!v) return invalidDuration(orig);
    bool pre = before != s.size();
    bool post = false;
    uint64_t f = 0;
    double scale = 1;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t at = s.size();
      f = leadingFraction(s, scale);
      post = at != s.size();
    }
    if (!pre && !post) return invalidDuration(orig);
    size_t i = 0;
    while (i < s.size() && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9')) ++i;
    if (i == 0) return Error(Errc::kInvalidArgument, "time: missing unit in duration " + goQuote(orig));
    std::string_view u = s.substr(0, i);
    s.remove_prefix(i);
    auto unit = unitNs(u);
    if (!unit) {
      return Error(Errc::kInvalidArgument,
                   "time: unknown unit " + goQuote(u) + " in duration " + goQuote(orig));
    }
    if (*v > kMaxDuration / *unit) return invalidDuration(orig);
    uint64_t part = *v * *unit;
    if (f > 0) {
      part += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(*unit) / scale));
      if (part > kMaxDuration) return invalidDuration(orig);
    }
    d += part;
    if (d > kMaxDuration) return invalidDuration(orig);
  }
  if (neg) return static_cast<int64_t>(0 - d);
  if (d > kMaxDuration - 1) return invalidDuration(orig);
  return static_cast<int64_t>(d);
}

}  // namespace vic::build::detail
