// docker exec: POST /containers/{id}/exec, and /exec/{id}/json, /resize, /start, over the
// port layer's ExecSessions.
#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/docker_json.h"
#include "runtime/docker/query.h"

namespace vic::docker {

asio::awaitable<void> DockerApi::execCreate(Ctx& c, const std::string& containerId) {
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  auto spec = execSpecFromCreate(*body);
  if (!spec) co_return co_await c.fail(spec.error());
  auto id = execs_.create(containerId, std::move(*spec));
  if (!id) co_return co_await c.fail(id.error());
  nlohmann::json out = {{"Id", *id}};
  co_await c.json(201, out);
}

asio::awaitable<void> DockerApi::execRoute(Ctx& c, const std::string& id, const std::string& op) {
  const std::string& m = c.req.method;
  if (op == "json" && m == "GET") {
    auto e = execs_.inspect(id);
    co_return e ? co_await c.json(200, execInspect(*e)) : co_await c.fail(e.error());
  }
  if (op == "resize" && m == "POST") {
    auto h = dimensionParam(c.req, "h");
    if (!h) co_return co_await c.fail(h.error());
    auto w = dimensionParam(c.req, "w");
    if (!w) co_return co_await c.fail(w.error());
    co_return co_await c.status(co_await execs_.resize(id, *h, *w), 200);
  }
  if (op == "start" && m == "POST") co_return co_await execStart(c, id);
  co_return co_await c.fail(notImplemented(m + " /exec/{id}/" + op));
}

// Detached: answered once it runs. Else the connection carries its stdio (hijacked when the
// client asks for an upgrade) until its output ends.
asio::awaitable<void> DockerApi::execStart(Ctx& c, const std::string& id) {
  auto e = execs_.inspect(id);
  if (!e) co_return co_await c.fail(e.error());
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  bool detach = body->contains("Detach") && (*body)["Detach"].is_boolean() && (*body)["Detach"].get<bool>();
  if (detach) co_return co_await c.status(co_await execs_.startDetached(id), 200);
  auto streams = co_await execs_.start(id);
  if (!streams) co_return co_await c.fail(streams.error());
  bool tty = e->spec.tty;
  std::string ct = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  std::string header = c.req.wantsUpgrade() ? upgradeHeader(ct) : "HTTP/1.1 200 OK\r\nContent-Type: " + ct + "\r\n\r\n";
  if (co_await c.streamHeader(header)) co_await pump(c, *streams, tty, !tty);
  // The exit code is set before the client sees the end of the stream: it inspects the exec next.
  std::string failed = co_await execs_.finish(id);
  if (!failed.empty()) {  // as docker, the launch error goes to the client's output
    std::string text = "OCI runtime exec failed: exec failed: unable to start container process: " + failed + ": unknown\r\n";
    if (!tty) text = stdcopyHeader(1, text.size()) + text;  // no ?: inside co_await: GCC 12 frees its temporary twice
    co_await c.s.writeAll(text);
  }
  c.s.shutdownSend();
}

}  // namespace vic::docker
