// Small text helpers the Dockerfile front end shares: Go's %q quoting, ASCII classes, docker's
// "did you mean" suggestions, Go's time.ParseDuration and UTF-8 decoding. Internal to
// runtime/build (not part of its API).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vic::build::detail {

// unicode.IsSpace for ASCII: \t \n \v \f \r and space.
inline bool isSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
// The separators of docker's reWhitespace ([\t\v\f\r ]).
inline bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view trimSpace(std::string_view s);
std::string_view trimLeftSpace(std::string_view s);
std::string toLower(std::string_view s);
std::string toUpper(std::string_view s);
bool equalsFold(std::string_view a, std::string_view b);  // ASCII case-insensitive

// Go's %q of a string (strconv.Quote): "a\"b\n". Strings longer than `max` bytes are cut and
// marked with "..." inside the quotes, so an error about a 1 MB word stays short.
std::string goQuote(std::string_view s, size_t max = 200);

// docker's suggest.Search: the option within edit distance 2 of `value` (the closest, the first
// on ties), cased like `value` when matching case-insensitively; nullopt on an exact match or
// when nothing is close.
std::optional<std::string> suggest(std::string_view value, std::span<const std::string_view> options,
                                   bool caseSensitive);

// Go's time.ParseDuration ("1m30s", "1.5h", "300ms", "-2us"), in nanoseconds, with Go's error
// texts ("time: invalid duration \"x\"", "time: missing unit in duration ...",
// "time: unknown unit ...").
Result<int64_t> parseGoDuration(std::string_view s);

// One decoded code point and where its bytes start. Invalid UTF-8 decodes, as in Go, to U+FFFD
// one byte at a time.
struct Rune {
  char32_t c;
  size_t offset;
};
std::vector<Rune> decodeUtf8(std::string_view s);
// The length of the UTF-8 sequence starting at s[i] (1 for ASCII or an invalid byte).
size_t utf8SeqLen(std::string_view s, size_t i);

}  // namespace vic::build::detail
