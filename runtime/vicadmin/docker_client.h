// A minimal HTTP/1.1 client for the endpoint's Docker API on its unix socket: one GET per
// connection, the whole exchange bounded by a deadline and a size limit, so a hung or dead
// endpoint costs a page at most the timeout.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace vic::vicadmin {

struct HttpAnswer {
  int status = 0;
  std::string body;  // de-chunked
};

// Parses a whole HTTP/1.1 response (Content-Length, chunked, or to the end). Pure.
Result<HttpAnswer> parseHttpResponse(std::string_view raw);

// GET `target` on the unix socket `socket`; the body of a 2xx answer, else an error naming
// the socket and what went wrong ("no endpoint listening", "no answer within 2 s", "status 500: ...").
Result<std::string> unixGet(const std::string& socket, const std::string& target,
                            std::chrono::milliseconds timeout = std::chrono::seconds(2), size_t limit = size_t{16} << 20);

}  // namespace vic::vicadmin
