// COPY/ADD --chown=user[:group], as the classic builder reads it: numbers are ids as they are;
// names are looked up in the image's own /etc/passwd and /etc/group; without ":group" the group
// is looked up by the user's string (so "1000" is 1000:1000 and "bin" is bin's uid and the gid of
// the group named bin). Pure: the files' text comes from the caller.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "runtime/build/copy_tar.h"

namespace vic::build {

// Whether `spec` names a user or group (then the image's files are needed).
bool chownNeedsLookup(const std::string& spec);

// The owner, or docker's "unable to find user x: no matching entries in passwd file".
Result<Owner> resolveChown(const std::string& spec, std::string_view passwd, std::string_view group);

}  // namespace vic::build
