// Users, groups, environment and executable lookup for a session, resolved against the
// container's own files (the image's libc is not ours, so no getpwnam). Pure functions.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "vsock/messages.h"

namespace vic::tether {

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
  std::string home = "/";
};

// Docker's user forms: "", "name", "uid", "name:group", "uid:gid", plus extra groups (names
// or ids). `passwd` and `group` are the container's /etc/passwd and /etc/group contents.
Result<Identity> resolveUser(std::string_view user, const std::vector<std::string>& extraGroups,
                             std::string_view passwd, std::string_view group);

inline constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The process environment as docker builds it: PATH, HOSTNAME, HOME (and TERM with a TTY)
// added when the spec does not set them.
std::vector<std::string> buildEnv(const vsock::SessionSpec& spec, const Identity& id,
                                  std::string_view hostname);

// Where argv[0] runs from, with docker's errors: 127 for "executable file not found in
// $PATH" or a missing path, 126 when it is not executable. Looks under `root` (tests).
Result<std::string> lookPath(std::string_view name, std::string_view path, std::string_view root = "");
int exitCodeFor(const Error& lookupError);

std::string envValue(const std::vector<std::string>& env, std::string_view key);

}  // namespace vic::tether
