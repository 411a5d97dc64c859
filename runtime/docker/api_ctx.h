// The request context the API's handlers share (api.cc, *_api.cc): the connection, the
// parsed request, and how to answer it; and the few helpers more than one handler file uses.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/json.h"
#include "common/log.h"
#include "runtime/docker/api.h"
#include "runtime/docker/http.h"

namespace vic::docker {

Error notImplemented(const std::string& what);  // 501 "... is not yet supported by vic"
// docker build's step cache (runtime/build/build_cache.h), beside the image store's index.
std::string buildCacheFile(const images::ImageStore& images);
// The 8-byte header of docker's multiplexed stream (stdcopy): stream 1 stdout, 2 stderr.
std::string stdcopyHeader(uint8_t stream, size_t n);
bool versionAtLeast(const std::string& apiVersion, int minor);  // 1.<minor> or later

struct DockerApi::Ctx {
  Stream& s;
  Request req;
  std::string leftover;
  bool done = false;       // response written
  bool closeAfter = false;  // the connection was streamed or hijacked
  asio::awaitable<void> reply(const Response& r) {
    done = true;
    co_await s.writeAll(serialize(r, req.method == "HEAD", req.keepAlive && !closeAfter));
  }
  asio::awaitable<void> fail(const Error& e) {
    auto r = errorResponse(e);
    // Every refusal is in the endpoint log, so a failed docker command can be explained afterwards.
    auto line = req.method + " " + req.path + ": " + std::to_string(r.status) + " " + e.message();
    r.status >= 500 && r.status != 501 ? log::warn("api", line) : log::info("api", line);
    co_await reply(r);
  }
  asio::awaitable<void> json(int status, const nlohmann::json& j) { co_await reply(jsonResponse(status, dumpJson(j) + "\n")); }
  asio::awaitable<void> empty(int status) {
    Response r{status, "", "", {}};
    co_await reply(r);
  }
  // `ok` ? an empty `status` answer : the error's.
  asio::awaitable<void> status(const Status& st, int okStatus) {
    if (st) co_return co_await empty(okStatus);
    co_await fail(st.error());
  }
  // Takes over the connection for a streamed answer: nothing else is written after it.
  asio::awaitable<bool> streamHeader(std::string header) {
    done = true;
    closeAfter = true;
    co_return co_await s.writeAll(header);
  }
  Result<nlohmann::json> body() const {
    if (req.body.empty()) return nlohmann::json::object();
    auto j = parseJson(req.body);  // bounded nesting: a deep body is refused, not recursed into
    if (j.is_discarded()) {
      return Error(Errc::kInvalidArgument, "invalid JSON: the request body is not valid JSON or nests deeper than " +
                                               std::to_string(kMaxJsonDepth) + " levels");
    }
    return j;
  }
};

}  // namespace vic::docker
