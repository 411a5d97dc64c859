// JSON from anyone we do not trust (API clients, registries, tether, files a guest could
// have written) is parsed here: nesting is bounded before nlohmann's parser sees it (its
// recursive destructor and serializer would run off the stack on ~100k levels), and what we
// print back never throws on invalid UTF-8.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace vic {

// Deeper than any document docker, a registry or tether sends (docker's own bodies nest ~6).
inline constexpr size_t kMaxJsonDepth = 128;

// The deepest nesting of arrays and objects in `text`, stopping early once past `limit`
// (brackets inside strings do not count).
size_t jsonDepth(std::string_view text, size_t limit = kMaxJsonDepth);

// The parsed document, or a discarded value (is_discarded()) when `text` is not JSON or nests
// deeper than `maxDepth`: the same contract as json::parse(text, nullptr, false).
nlohmann::json parseJson(std::string_view text, size_t maxDepth = kMaxJsonDepth);

// The opening of every decoder of a JSON record: `text` parsed as parseJson does, when it is an
// object; otherwise an error (with `code`) saying "<what> is not a JSON object".
Result<nlohmann::json> parseJsonObject(std::string_view text, std::string_view what, Errc code = Errc::kInvalidArgument);

// dump() that replaces invalid UTF-8 instead of throwing (registry headers, guest file names).
std::string dumpJson(const nlohmann::json& j, int indent = -1);

}  // namespace vic
