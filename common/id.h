// Identifiers as docker shows them.
#pragma once

#include <string>
#include <string_view>

namespace vic {

// The short form of a container, image or layer id: its first 12 characters, after any
// "<algorithm>:" prefix of a digest ("sha256:6602617241c3..." -> "6602617241c3").
inline std::string shortId(std::string_view id) {
  auto colon = id.find(':');
  if (colon != std::string_view::npos) id.remove_prefix(colon + 1);
  return std::string(id.substr(0, 12));
}

}  // namespace vic
