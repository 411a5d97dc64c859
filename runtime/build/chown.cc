#include "runtime/build/chown.h"

#include <charconv>

namespace vic::build {
namespace {

bool numeric(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::pair<std::string, std::string> split(const std::string& spec) {
  auto colon = spec.find(':');
  if (colon == std::string::npos) return {spec, spec};
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

// The id in field 2 of the first line whose field 0 is `name` (passwd and group alike).
bool lookup(std::string_view file, std::string_view name, uint32_t& id) {
  size_t at = 0;
  while (at < file.size()) {
    size_t end = file.find('\n', at);
    if (end == std::string_view::npos) end = file.size();
    std::string_view line = file.substr(at, end - at);
    at = end + 1;
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos || line.substr(0, c1) != name) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    size_t c3 = line.find(':', c2 + 1);
    std::string_view field = line.substr(c2 + 1, c3 == std::string_view::npos ? std::string_view::npos : c3 - c2 - 1);
    if (numeric(field, id)) return true;
  }
  return false;
}

}  // namespace

bool chownNeedsLookup(const std::string& spec) {
  auto [user, group] = split(spec);
  uint32_t ignored = 0;
  return !numeric(user, ignored) || !numeric(group, ignored);
}

Result<Owner> resolveChown(const std::string& spec, std::string_view passwd, std::string_view group) {
  auto [userName, groupName] = split(spec);
  Owner o;
  if (!numeric(userName, o.uid) && !lookup(passwd, userName, o.uid)) {
    return Error(Errc::kInvalidArgument, "unable to convert uid/gid chown string to host mapping: can't find uid for user " +
                                             userName + ": no such user: " + userName);
  }
  if (!numeric(groupName, o.gid) && !lookup(group, groupName, o.gid)) {
    return Error(Errc::kInvalidArgument, "unable to convert uid/gid chown string to host mapping: can't find gid for group " +
                                             groupName + ": no such group: " + groupName);
  }
  return o;
}

}  // namespace vic::build
