// Query parameters as docker's API server reads them (moby's api/server/httputils/form.go and
// the routers' strconv calls): pure, unit-tested. Junk is refused in Go's words
// (`strconv.Atoi: parsing "x": invalid syntax`) as kInvalidArgument (400), never read as 0.
// Booleans are Request::flag (moby's BoolValue), which has no junk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "runtime/docker/http.h"

namespace vic::docker {

// Go's strconv.ParseInt(s, 10, 64): an optional sign, then decimal digits. `fn` names the Go
// function in the error ("strconv.Atoi", "strconv.ParseInt").
Result<int64_t> parseGoInt(std::string_view s, std::string_view fn = "strconv.Atoi");

// An integer parameter; `fallback` when absent or empty (moby's Int64ValueOrDefault).
Result<int> intParam(const Request& r, const std::string& name, int fallback);
// Present (non-empty) or not, for parameters whose absence means something (stop's t).
Result<std::optional<int>> optionalIntParam(const Request& r, const std::string& name);
// A boolean that defaults to `fallback` only when absent (moby's BoolValueOrDefault).
bool boolParam(const Request& r, const std::string& name, bool fallback);
// "seconds[.fraction]" (what the CLI sends for --since/--until) in nanoseconds; 0 when absent
// or empty (moby's timetypes.ParseTimestamps).
Result<int64_t> timestampParam(const Request& r, const std::string& name);
Result<int64_t> parseTimestamp(const std::string& value);  // the same, of a value
// A console height or width (resize's h and w): required, 0..65535.
Result<uint16_t> dimensionParam(const Request& r, const std::string& name);
// logs' tail: "all", or a number of lines; junk and negatives mean all, as in moby's daemon.
std::optional<size_t> tailParam(const Request& r);

}  // namespace vic::docker
