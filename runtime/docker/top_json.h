// docker top: a container's processes (as its guest lists them) in the columns ps would print for
// the ps_args the user gave. Pure: golden-tested.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "vsock/messages.h"

namespace vic::docker {

// {"Titles": [...], "Processes": [[...], ...]} for "" or -ef (docker's default: UID PID PPID C
// STIME TTY TIME CMD), aux (USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND) and
// -o/-eo FIELD,... ; other options are refused with the list of what works.
Result<nlohmann::json> topJson(const vsock::ProcessList& list, const std::string& psArgs);

}  // namespace vic::docker
