// libFuzzer: readRequest over an in-memory stream fed the input in pieces (the first byte sets
// the piece size), for as many pipelined requests as it holds. Invariants: a request's body
// is within its limit, and every refusal is answered with a JSON error.
#include <cstdint>
#include <cstdlib>

#include "common/json.h"
#include "runtime/docker/http.h"
#include "runtime/docker/test_stream.h"

namespace {
using namespace vic::docker;

void check(bool ok) {
  if (!ok) std::abort();
}

asio::awaitable<void> readAll(Stream& s, const Limits& limits) {
  std::string leftover;
  for (int i = 0; i < 16; ++i) {
    auto r = co_await readRequest(s, leftover, limits);
    if (!r) {
      auto answer = errorResponse(r.error());
      check(!vic::parseJson(answer.body).is_discarded());
      co_return;
    }
    if (!r->has_value()) co_return;
    const Request& req = **r;
    check(req.body.size() <= (isUploadTarget(req.path) ? limits.uploadBytes : limits.bodyBytes));
    check(!req.bodyFile);  // no spool directory: nothing on disk
    std::string text = serialize(errorResponse(vic::Error(vic::Errc::kNotFound, "No such container: " + req.path)), false, true);
    check(text.rfind("HTTP/1.1 404 ", 0) == 0);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 64;
  std::vector<ScriptedStream::Piece> pieces;
  for (size_t pos = 1; pos < size; pos += piece) {
    pieces.push_back({std::string(reinterpret_cast<const char*>(data) + pos, std::min(piece, size - pos))});
  }
  Limits limits;
  limits.headerBytes = 4096;
  limits.bodyBytes = 8192;
  limits.uploadBytes = 16384;
  asio::io_context io;
  ScriptedStream s(io.get_executor(), std::move(pieces));
  asio::co_spawn(io, readAll(s, limits), [](std::exception_ptr e) { check(!e); });
  io.run();
  return 0;
}
