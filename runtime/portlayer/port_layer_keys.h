// The port layer's keys in a containerVM's metadata and the small helpers its files share.
#pragma once

#include <string>

#include "common/id.h"
#include "common/result.h"

namespace vic::pl {

inline constexpr const char* kSpecKey = "vic.spec";        // the ContainerSpec, JSON
inline constexpr const char* kVchKey = "vic.vch";          // the VCH that owns the VM
inline constexpr const char* kStartedKey = "vic.started";  // last start, ns since the epoch
inline constexpr const char* kStoppedKey = "vic.stopped";  // "1": stopped by hand (docker stop, kill): no restart
inline constexpr const char* kRestartsKey = "vic.restarts";  // restarts by the policy since the last start by hand

using vic::shortId;
inline Error noSuch(const std::string& ref) { return Error(Errc::kNotFound, "No such container: " + ref); }

}  // namespace vic::pl
