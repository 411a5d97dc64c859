// The connection loop and the router: which handler a request goes to.
#include "runtime/docker/api.h"

#include <chrono>
#include <cstdio>

#include "common/json.h"
#include "common/log.h"
#include "runtime/docker/api_ctx.h"

namespace vic::docker {

Error notImplemented(const std::string& what) {
  return Error(Errc::kNotImplemented, what + " is not yet supported by vic");
}

std::string stdcopyHeader(uint8_t stream, size_t n) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  h[4] = static_cast<char>((n >> 24) & 0xff);
  h[5] = static_cast<char>((n >> 16) & 0xff);
  h[6] = static_cast<char>((n >> 8) & 0xff);
  h[7] = static_cast<char>(n & 0xff);
  return h;
}

bool versionAtLeast(const std::string& apiVersion, int minor) {
  int ma = 0, mi = 0;
  std::sscanf(apiVersion.c_str(), "%d.%d", &ma, &mi);
  return ma > 1 || (ma == 1 && mi >= minor);
}

DockerApi::DockerApi(asio::io_context& io, pl::PortLayer& pl, images::ImageStore& images, ApiInfo info,
                     pl::ExecSessions& execs, pl::ImageOps& imageOps)
    : io_(io), pl_(pl), images_(images), info_(std::move(info)), execs_(execs), imageOps_(imageOps) {}

asio::awaitable<void> DockerApi::serve(std::unique_ptr<Stream> s, std::shared_ptr<ConnectionLimiter::Slot> slot) {
  std::string leftover;
  Limits limits;
  limits.spoolDir = images_.downloadDir();
  if (slot) slot->setClose([stream = s.get()] { stream->close(); });
  auto busy = [&slot] {
    if (slot) slot->setBusy(true);
  };
  while (true) {
    if (slot) slot->setBusy(false);
    auto r = co_await readRequest(*s, leftover, limits, busy);
    if (!r) {
      if (r.error().code() == Errc::kTimeout) {  // the stream is closed already; nothing to answer
        log::info("api", "closing a connection: " + r.error().message());
        break;
      }
      Ctx c{*s, {}, {}, false, true};
      c.req.keepAlive = false;
      c.req.method = "HTTP";
      c.req.path = "request";
      co_await c.fail(r.error());
      co_await lingerClose(*s);  // so the client reads the answer instead of a reset
      break;
    }
    if (!*r) break;
    busy();
    Ctx c{*s, std::move(**r), std::move(leftover)};
    co_await serveRequest(c);
    if (c.closeAfter || !c.req.keepAlive) break;
    leftover = std::move(c.leftover);
  }
  if (slot) slot->setClose(nullptr);
  s->close();
}

// One request: a handler that throws is answered (and the connection closed) instead of dropped.
asio::awaitable<void> DockerApi::serveRequest(Ctx& c) {
  std::string crash, badJson;
  struct Timed {  // one debug line per request, however it ends
    Ctx& c;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~Timed() {
      if (!log::enabled(log::Level::kDebug)) return;
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
      log::debug("api", log::cat(c.req.method, " ", c.req.path, " ", ms, " ms"));
    }
  } timed{c};
  try {
    co_await dispatch(c);
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong type in the client's JSON
    badJson = e.what();
  } catch (const std::exception& e) {
    crash = e.what();
  }
  if (!badJson.empty()) {
    c.closeAfter = true;
    if (!c.done) co_await c.fail(Error(Errc::kInvalidArgument, "json: cannot unmarshal the request body: " + badJson));
    co_return;
  }
  if (!crash.empty()) {  // a bug, not the client's fault: say so instead of dropping the connection
    c.closeAfter = true;
    log::error("api", c.req.method + " " + c.req.path + ": " + crash);
    if (!c.done) co_await c.fail(Error(Errc::kInternal, "internal error handling " + c.req.method + " " + c.req.path + ": " + crash));
    co_return;
  }
  if (!c.done) co_await c.fail(Error(Errc::kInternal, "no response"));
}

namespace {
// The Engine API's other top-level routes: dockerd has them, vic does not (yet): 501, not 404.
bool isDockerRoute(std::string_view path) {
  static constexpr std::string_view kRoutes[] = {"/build", "/auth", "/system", "/session", "/swarm", "/nodes", "/services",
                                                 "/tasks", "/secrets", "/configs", "/plugins", "/distribution", "/grpc",
                                                 "/containers", "/images", "/exec", "/commit"};
  for (auto r : kRoutes) {
    if (path == r || (path.starts_with(r) && path[r.size()] == '/')) return true;
  }
  return false;
}
}  // namespace

asio::awaitable<void> DockerApi::dispatch(Ctx& c) {
  const std::string& m = c.req.method;
  const std::string& p = c.req.path;
  if (p == "/_ping") co_return co_await ping(c);
  if (p == "/version" && m == "GET") co_return co_await version(c);
  if (p == "/info" && m == "GET") co_return co_await c.json(200, info());
  if (p == "/events" && m == "GET") co_return co_await events(c);
  if (p == "/system/df" && m == "GET") co_return co_await systemDf(c);
  if (p == "/build/prune" && m == "POST") co_return co_await pruneBuildCache(c);
  if (p == "/build" && m == "POST") co_return co_await build(c);
  if (p == "/auth" && m == "POST") co_return co_await auth(c);
  if (p == "/containers/create" && m == "POST") co_return co_await create(c);
  if (p == "/containers/json" && m == "GET") co_return co_await listContainers(c);
  if (p == "/containers/prune" && m == "POST") co_return co_await pruneContainers(c);
  if (p == "/commit" && m == "POST") co_return co_await commit(c);
  if (auto r = routeAfter(p, "/containers/"); r && isLowerWord(r->rest.value_or(""))) {
    co_return co_await containerRoute(c, r->id, r->rest.value_or(""));
  }
  const std::string_view prefix = "/containers/", jsonTail = "/json";  // docker inspect of an image named a/b
  if (m == "GET" && p.starts_with(prefix) && p.ends_with(jsonTail) && p.size() > prefix.size() + jsonTail.size()) {
    std::string name = p.substr(prefix.size(), p.size() - prefix.size() - jsonTail.size());
    co_return co_await c.fail(Error(Errc::kNotFound, "No such container: " + name));
  }
  if (auto r = routeAfter(p, "/exec/"); r && r->rest && !r->rest->empty() && isLowerWord(*r->rest)) {
    co_return co_await execRoute(c, r->id, *r->rest);
  }
  if (p.rfind("/images/", 0) == 0) co_return co_await imageRoute(c);
  if (p == "/networks" || p.rfind("/networks/", 0) == 0) co_return co_await networkRoute(c);
  if (p == "/volumes" || p.rfind("/volumes/", 0) == 0) co_return co_await volumeRoute(c);
  // no plugins: `docker inspect x` falls through to its "No such object" as against dockerd
  if (auto r = routeAfter(p, "/plugins/"); m == "GET" && r && r->rest.value_or("json") == "json") {
    co_return co_await c.fail(Error(Errc::kNotFound, "plugin \"" + r->id + "\" not found"));
  }
  if (!isDockerRoute(p)) co_return co_await c.fail(Error(Errc::kNotFound, "page not found"));  // dockerd's words
  co_return co_await c.fail(notImplemented(m + " " + p));
}

}  // namespace vic::docker
