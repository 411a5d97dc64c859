#include "runtime/docker/api.h"

#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <mutex>

#include "common/json.h"
#include "common/log.h"
#include "images/image_loader.h"
#include "images/progress.h"
#include "images/reference.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/docker_json.h"
#include "runtime/docker/network_json.h"
#include "runtime/docker/filters.h"
#include "runtime/portlayer/output_log.h"

namespace vic::docker {

namespace {
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
bool versionAtLeast(const std::string& v, int minor) {
  int ma = 0, mi = 0;
  std::sscanf(v.c_str(), "%d.%d", &ma, &mi);
  return ma > 1 || (ma == 1 && mi >= minor);
}
}  // namespace


DockerApi::DockerApi(asio::io_context& io, pl::PortLayer& pl, images::ImageStore& images, ApiInfo info)
    : io_(io), pl_(pl), images_(images), info_(std::move(info)) {}

DockerApi::~DockerApi() { pullPool_.join(); }

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
    std::string crash, badJson;
    try {
      co_await dispatch(c);
    } catch (const nlohmann::json::exception& e) {  // a field of the wrong type in the client's JSON
      badJson = e.what();
    } catch (const std::exception& e) {
      crash = e.what();
    }
    if (!badJson.empty()) {
      if (!c.done) co_await c.fail(Error(Errc::kInvalidArgument, "json: cannot unmarshal the request body: " + badJson));
      break;
    }
    if (!crash.empty()) {  // a bug, not the client's fault: say so instead of dropping the connection
      log::error("api", c.req.method + " " + c.req.path + ": " + crash);
      if (!c.done) co_await c.fail(Error(Errc::kInternal, "internal error handling " + c.req.method + " " + c.req.path + ": " + crash));
      break;
    }
    if (!c.done) co_await c.fail(Error(Errc::kInternal, "no response"));
    if (c.closeAfter || !c.req.keepAlive) break;
    leftover = std::move(c.leftover);
  }
  if (slot) slot->setClose(nullptr);
  s->close();
}

// What inspect and ps show beyond the spec: networks, the ports a running container got, volume disks.
ContainerView DockerApi::containerView(const pl::ContainerInfo& c) {
  ContainerView v;
  for (const auto& ep : c.spec.networks) {
    if (const auto* s = pl_.networks().byId(ep.scope)) v.networks.push_back({*s, ep});
  }
  if (c.status.state == pl::RunState::kRunning) v.published = pl_.publishedPorts(c.spec.id);
  for (const auto& m : c.spec.volumes) {
    if (auto vol = pl_.volumes().find(m.name)) v.volumeDisks[m.name] = pl_.volumes().diskPath(*vol);
  }
  return v;
}

nlohmann::json DockerApi::info() {
  int running = 0, stopped = 0;
  auto all = pl_.list();
  for (const auto& c : all) (c.status.state == pl::RunState::kRunning ? running : stopped)++;
  utsname u{};
  ::uname(&u);
  return {{"ID", info_.id}, {"Containers", all.size()}, {"ContainersRunning", running}, {"ContainersPaused", 0},
          {"ContainersStopped", stopped}, {"Images", images_.list().size()}, {"Driver", "vic"},
          {"DriverStatus", nlohmann::json::array({nlohmann::json::array({"VCH", info_.name}),
                                                  nlohmann::json::array({"VCH CPU limit", std::to_string(info_.ncpu) + " CPUs"}),
                                                  nlohmann::json::array({"VCH memory limit", std::to_string(info_.memTotal >> 20) + " MiB"})})}, {"SystemStatus", nullptr},
          {"Plugins", {{"Volume", {"vsphere"}}, {"Network", {"bridge"}}, {"Log", {"json-file"}}}},
          {"MemoryLimit", true}, {"SwapLimit", false}, {"CpuCfsPeriod", true}, {"CpuCfsQuota", true},
          {"OomKillDisable", false}, {"IPv4Forwarding", true}, {"Debug", false}, {"NFd", 0}, {"NGoroutines", 0},
          {"SystemTime", rfc3339Nano(pl::nowNs())}, {"LoggingDriver", "json-file"}, {"CgroupDriver", "cgroupfs"},
          {"NEventsListener", 0}, {"KernelVersion", u.release}, {"OperatingSystem", "vic (containerVMs on KVM/QEMU)"},
          {"OSVersion", ""}, {"OSType", "linux"}, {"Architecture", u.machine}, {"IndexServerAddress", "https://index.docker.io/v1/"},
          {"RegistryConfig", {{"InsecureRegistryCIDRs", {"127.0.0.0/8"}}, {"IndexConfigs", nlohmann::json::object()}, {"Mirrors", nlohmann::json::array()}}},
          {"NCPU", info_.ncpu}, {"MemTotal", info_.memTotal}, {"DockerRootDir", ""}, {"Name", info_.name},
          {"Labels", nlohmann::json::array()}, {"ExperimentalBuild", false}, {"ServerVersion", "28.2.2-vic"},
          {"Runtimes", {{"vic", {{"path", "containerVM"}}}}}, {"DefaultRuntime", "vic"},
          {"Swarm", {{"NodeID", ""}, {"NodeAddr", ""}, {"LocalNodeState", "inactive"}, {"ControlAvailable", false}, {"Error", ""}, {"RemoteManagers", nullptr}}},
          {"LiveRestoreEnabled", true}, {"Isolation", ""}, {"InitBinary", ""}, {"SecurityOptions", nlohmann::json::array()},
          {"Warnings", nlohmann::json::array()}};
}

nlohmann::json DockerApi::imageConfig(const std::string& id) {
  auto text = images_.config(id);
  if (!text) return nlohmann::json::object();
  auto j = parseJson(*text);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

asio::awaitable<void> DockerApi::dispatch(Ctx& c) {
  const std::string& m = c.req.method;
  const std::string& p = c.req.path;
  if (p == "/_ping") {
    Response r{200, "text/plain; charset=utf-8", "OK",
               {{"Cache-Control", "no-cache, no-store, must-revalidate"}, {"Pragma", "no-cache"}, {"Swarm", "inactive"}}};
    co_return co_await c.reply(r);
  }
  if (p == "/version" && m == "GET") {
    utsname u{};
    ::uname(&u);
    nlohmann::json details = {{"ApiVersion", "1.50"}, {"MinAPIVersion", "1.24"}, {"Os", "linux"}, {"Arch", "amd64"},
                              {"KernelVersion", u.release}, {"GitCommit", "vic"}, {"GoVersion", "n/a (C++)"}, {"BuildTime", ""}};
    nlohmann::json v = details;
    v["Version"] = "28.2.2-vic";
    v["Platform"] = {{"Name", "vic " + info_.name}};
    v["Components"] = {{{"Name", "Engine"}, {"Version", "28.2.2-vic"}, {"Details", details}}};
    co_return co_await c.json(200, v);
  }
  if (p == "/info" && m == "GET") co_return co_await c.json(200, info());
  if (p == "/events" && m == "GET") co_return co_await events(c);
  if (p == "/containers/create" && m == "POST") co_return co_await create(c);
  if (p == "/containers/json" && m == "GET") co_return co_await listContainers(c);
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
  co_return co_await c.fail(notImplemented(m + " " + p));
}

asio::awaitable<void> DockerApi::create(Ctx& c) {
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  std::string imageRef = body->contains("Image") && (*body)["Image"].is_string() ? (*body)["Image"].get<std::string>() : "";
  if (imageRef.empty()) co_return co_await c.fail(Error(Errc::kInvalidArgument, "config cannot be empty in order to create a container"));
  auto image = images_.find(imageRef);
  if (!image) co_return co_await c.fail(image.error());
  auto spec = specFromCreate(*body, c.req.param("name"), *image, imageConfig(image->id), pl::nowNs());
  if (!spec) co_return co_await c.fail(spec.error());
  for (auto& ep : spec->networks) {  // the networks as the user named them -> scope ids
    auto scope = pl_.networks().find(ep.scope);
    if (!scope) co_return co_await c.fail(scope.error());
    ep.scope = scope->id;
  }
  auto made = pl_.create(*spec);
  if (!made) co_return co_await c.fail(made.error());
  nlohmann::json out = {{"Id", made->id}, {"Warnings", nlohmann::json::array()}};
  co_return co_await c.json(201, out);
}

namespace {

// docker's container events carry the name and image; exec events name the command too.
void publishContainerEvent(pl::EventBus& bus, const pl::ContainerSpec& spec, std::string action,
                           std::map<std::string, std::string> extra = {}) {
  extra["name"] = spec.name;
  extra["image"] = spec.imageRef;
  bus.publish({"container", std::move(action), spec.id, std::move(extra), pl::nowNs(), 0});
}

std::string joinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

asio::awaitable<void> DockerApi::containerRoute(Ctx& c, const std::string& ref, const std::string& op) {
  const std::string& m = c.req.method;
  auto found = pl_.find(ref);
  if (!found) co_return co_await c.fail(found.error());
  std::string id = found->spec.id;
  if (op == "json" && m == "GET") co_return co_await c.json(200, containerInspect(*found, pl_.logFile(id), containerView(*found)));
  if (op == "start" && m == "POST") {
    auto st = co_await pl_.start(id);
    co_return st ? co_await c.empty(204) : co_await c.fail(st.error());
  }
  if ((op == "stop" || op == "restart") && m == "POST") {
    std::optional<int> t;
    if (!c.req.param("t").empty()) t = std::atoi(c.req.param("t").c_str());
    auto st = co_await pl_.stop(id, t);
    if (op == "restart" && (st || st.error().code() == Errc::kNotModified)) {
      st = co_await pl_.start(id);
      if (st) publishContainerEvent(pl_.events(), found->spec, "restart");
    }
    co_return st ? co_await c.empty(204) : co_await c.fail(st.error());
  }
  if (op == "kill" && m == "POST") {
    int sig = signalNumber(c.req.param("signal", "KILL"));
    if (sig <= 0) co_return co_await c.fail(Error(Errc::kInvalidArgument, "Invalid signal: " + c.req.param("signal")));
    auto st = co_await pl_.kill(id, sig);
    co_return st ? co_await c.empty(204) : co_await c.fail(st.error());
  }
  if (op == "wait" && m == "POST") co_return co_await wait(c, id);
  if (op == "attach" && m == "POST") co_return co_await attach(c, id);
  if (op == "logs" && m == "GET") co_return co_await logs(c, id);
  if (op == "archive" && (m == "GET" || m == "HEAD" || m == "PUT")) co_return co_await archive(c, id);
  if (op == "export" && m == "GET") co_return co_await exportContainer(c, id);
  if (op == "changes" && m == "GET") co_return co_await changes(c, id);
  if (op == "stats" && m == "GET") co_return co_await stats(c, id);
  if (op == "resize" && m == "POST") {
    auto st = co_await pl_.resize(id, "main", static_cast<uint16_t>(std::atoi(c.req.param("h").c_str())),
                                  static_cast<uint16_t>(std::atoi(c.req.param("w").c_str())));
    co_return st ? co_await c.empty(200) : co_await c.fail(st.error());
  }
  if (op == "rename" && m == "POST") {
    std::string name = c.req.param("name");
    if (!pl::validName(name)) co_return co_await c.fail(Error(Errc::kInvalidArgument, "Invalid container name (" + name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
    auto st = pl_.rename(id, name);
    co_return st ? co_await c.empty(204) : co_await c.fail(st.error());
  }
  if (op == "exec" && m == "POST") {
    auto body = c.body();
    if (!body) co_return co_await c.fail(body.error());
    if (found->status.state != pl::RunState::kRunning) co_return co_await c.fail(Error(Errc::kConflict, "container " + id + " is not running"));
    auto e = std::make_shared<ExecRecord>();
    e->id = pl::newContainerId();
    e->container = id;
    auto session = execSession(*body, found->spec, e->id);
    if (!session) co_return co_await c.fail(session.error());
    e->session = std::move(*session);
    e->attachStdin = e->session.openStdin;
    execs_.forgetGone([this](const std::string& container) { return bool(pl_.find(container)); });
    execs_.add(e);
    publishContainerEvent(pl_.events(), found->spec, "exec_create: " + joinArgv(e->session.argv), {{"execID", e->id}});
    nlohmann::json out = {{"Id", e->id}};
    co_return co_await c.json(201, out);
  }
  if (op.empty() && m == "DELETE") {
    auto st = co_await pl_.remove(id, c.req.flag("force"), c.req.flag("v"));
    if (!st) co_return co_await c.fail(st.error());
    execs_.forgetContainer(id);
    co_return co_await c.empty(204);
  }
  co_return co_await c.fail(notImplemented(m + " /containers/{id}/" + op));
}

asio::awaitable<void> DockerApi::wait(Ctx& c, const std::string& id) {
  std::string cond = c.req.param("condition", "not-running");
  pl::WaitCondition wc = cond == "next-exit" ? pl::WaitCondition::kNextExit
                         : cond == "removed" ? pl::WaitCondition::kRemoved
                                             : pl::WaitCondition::kNotRunning;
  c.done = true;
  c.closeAfter = true;
  if (!co_await c.s.writeAll(chunkedHeader(200, "application/json"))) co_return;  // the CLI starts only after this
  auto st = co_await pl_.wait(id, wc);
  nlohmann::json out = st ? nlohmann::json{{"StatusCode", st->exitCode}, {"Error", nullptr}}
                          : nlohmann::json{{"StatusCode", -1}, {"Error", {{"Message", st.error().message()}}}};
  if (st && !st->error.empty()) out["Error"] = {{"Message", st->error}};
  co_await c.s.writeAll(chunk(dumpJson(out) + "\n"));
  co_await c.s.writeAll(kLastChunk);
}

// Copies a session's output to the client (framed unless TTY) and the client's input to the
// session, until the session's output ends; then the connection is closed (docker run waits
// for that).
asio::awaitable<void> DockerApi::pump(Ctx& c, const pl::SessionStreams& s, bool tty, bool multiplexed) {
  auto conn = s.conn;
  auto ex = co_await asio::this_coro::executor;
  auto outputs = std::make_shared<int>(0);
  auto finished = std::make_shared<vsock::Notifier>(ex);
  auto copyOut = [conn, &c, tty, multiplexed, outputs, finished](vsock::ChannelId ch, uint8_t stream) -> asio::awaitable<void> {
    std::vector<uint8_t> buf(32 * 1024);
    while (true) {
      auto n = co_await conn->read(ch, buf);
      if (!n || *n == 0) break;
      std::string data(reinterpret_cast<const char*>(buf.data()), *n);
      if (!tty && multiplexed) data = stdcopyHeader(stream, *n) + data;
      if (!co_await c.s.writeAll(data)) break;
    }
    --*outputs;
    finished->notify();
  };
  if (s.channels.stdoutCh) {
    ++*outputs;
    asio::co_spawn(ex, copyOut(s.channels.stdoutCh, 1), asio::detached);
  }
  if (s.channels.stderrCh) {
    ++*outputs;
    asio::co_spawn(ex, copyOut(s.channels.stderrCh, 2), asio::detached);
  }
  if (s.channels.stdinCh) {
    std::string first = std::move(c.leftover);
    auto in = s.channels.stdinCh;
    asio::co_spawn(ex, [conn, &c, in, first]() -> asio::awaitable<void> {
      if (!first.empty()) {
        std::span<const uint8_t> b(reinterpret_cast<const uint8_t*>(first.data()), first.size());
        if (!co_await conn->write(in, b)) co_return;
      }
      std::vector<char> buf(32 * 1024);
      while (true) {
        size_t n = co_await c.s.readSome(asio::buffer(buf));
        if (n == 0) break;  // the client half-closed: stdin EOF (output keeps flowing)
        std::span<const uint8_t> b(reinterpret_cast<const uint8_t*>(buf.data()), n);
        if (!co_await conn->write(in, b)) co_return;
      }
      conn->closeWrite(in);
    }, asio::detached);
  }
  while (*outputs > 0) co_await finished->wait();
}

asio::awaitable<void> DockerApi::attach(Ctx& c, const std::string& id) {
  auto found = pl_.find(id);
  if (!found) co_return co_await c.fail(found.error());
  bool tty = found->spec.config.main.tty;
  bool multiplexed = !tty && versionAtLeast(c.req.apiVersion, 42);
  // An exited container is attached to and then started (docker start -a); the CLI itself
  // refuses `docker attach` to a stopped one.
  std::string ct = tty || !versionAtLeast(c.req.apiVersion, 42) ? "application/vnd.docker.raw-stream"
                                                                 : "application/vnd.docker.multiplexed-stream";
  c.done = true;
  c.closeAfter = true;
  if (!co_await c.s.writeAll(upgradeHeader(ct))) co_return;
  publishContainerEvent(pl_.events(), found->spec, "attach");  // as docker: when asked, before a start
  auto streams = co_await pl_.attach(id, c.req.flag("stdin"), c.req.flag("stdout"), c.req.flag("stderr"));
  if (streams) co_await pump(c, *streams, tty, multiplexed);
  c.s.shutdownSend();
}

asio::awaitable<void> DockerApi::logs(Ctx& c, const std::string& id) {
  auto found = pl_.find(id);
  if (!found) co_return co_await c.fail(found.error());
  bool tty = found->spec.config.main.tty;
  bool wantOut = c.req.flag("stdout"), wantErr = c.req.flag("stderr"), follow = c.req.flag("follow");
  bool stamps = c.req.flag("timestamps");
  std::string tail = c.req.param("tail", "all");
  int64_t since = static_cast<int64_t>(std::atof(c.req.param("since", "0").c_str()) * 1e9);
  int64_t until = static_cast<int64_t>(std::atof(c.req.param("until", "0").c_str()) * 1e9);
  c.done = true;
  c.closeAfter = true;
  std::string ct = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  if (!co_await c.s.writeAll(chunkedHeader(200, ct))) co_return;
  std::string file = pl_.logFile(id);
  uint64_t offset = 0;
  auto emit = [&](const std::vector<vsock::LogRecord>& recs, size_t skip) -> asio::awaitable<bool> {
    for (size_t i = skip; i < recs.size(); ++i) {
      const auto& r = recs[i];
      if (r.kind != vsock::LogKind::kStdout && r.kind != vsock::LogKind::kStderr) continue;
      bool isErr = r.kind == vsock::LogKind::kStderr;
      if ((isErr && !wantErr) || (!isErr && !wantOut)) continue;
      if (r.timeNs < since || (until > 0 && r.timeNs > until)) continue;
      std::string data = stamps ? rfc3339Nano(r.timeNs) + " " + r.data : r.data;
      if (!tty) data = stdcopyHeader(isErr ? 2 : 1, data.size()) + data;
      if (!co_await c.s.writeAll(chunk(data))) co_return false;
    }
    co_return true;
  };
  auto recs = pl::readLogRecords(file, 0, &offset);
  std::vector<vsock::LogRecord> out;
  for (auto& r : recs) {
    if (r.kind == vsock::LogKind::kStdout || r.kind == vsock::LogKind::kStderr) out.push_back(std::move(r));
  }
  size_t skip = 0;
  if (tail != "all" && !tail.empty()) skip = out.size() - std::min(out.size(), static_cast<size_t>(std::atol(tail.c_str())));
  if (!co_await emit(out, skip)) co_return;
  while (follow) {
    auto st = pl_.find(id);
    bool running = st && st->status.state == pl::RunState::kRunning;
    asio::steady_timer t(io_, std::chrono::milliseconds(100));
    co_await t.async_wait(asio::use_awaitable);
    auto more = pl::readLogRecords(file, offset, &offset);
    if (!co_await emit(more, 0)) co_return;
    if (!running && more.empty()) break;
  }
  co_await c.s.writeAll(kLastChunk);
}

namespace {

// The host's CPU time over all CPUs since boot (docker's system_cpu_usage), from /proc/stat.
uint64_t systemCpuNs() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  uint64_t total = 0, v = 0;
  for (int i = 0; i < 8 && in >> v; ++i) total += v;
  return total * (1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)));
}

}  // namespace

asio::awaitable<void> DockerApi::stats(Ctx& c, const std::string& id) {
  std::string streamParam = c.req.param("stream", "1");
  bool stream = streamParam == "1" || streamParam == "true" || streamParam == "True";
  bool oneShot = c.req.flag("one-shot");
  auto spec = pl_.find(id);
  if (!spec) co_return co_await c.fail(spec.error());
  auto sample = [this, &id]() -> asio::awaitable<StatsSample> {
    StatsSample s{pl::nowNs(), systemCpuNs(), std::nullopt};
    auto vm = co_await pl_.stats(id);
    if (vm) s.vm = *vm;
    co_return s;
  };
  auto pause = [this]() -> asio::awaitable<void> {
    asio::steady_timer t(io_, std::chrono::seconds(1));
    co_await t.async_wait(asio::use_awaitable);
  };
  StatsSample prev{}, cur = co_await sample();
  if (!stream) {
    if (!oneShot && cur.vm) {
      prev = cur;
      co_await pause();
      cur = co_await sample();
    }
    co_return co_await c.json(200, statsJson(spec->spec, cur, prev, info_.ncpu));
  }
  c.done = true;
  c.closeAfter = true;
  if (!co_await c.s.writeAll(chunkedHeader(200, "application/json"))) co_return;
  while (true) {
    if (!co_await c.s.writeAll(chunk(dumpJson(statsJson(spec->spec, cur, prev, info_.ncpu)) + "\n"))) co_return;
    if (!cur.vm) break;  // the container stopped: the stream ends, as docker's does for a removed one
    co_await pause();
    prev = cur;
    cur = co_await sample();
  }
  co_await c.s.writeAll(kLastChunk);
}

asio::awaitable<void> DockerApi::listContainers(Ctx& c) {
  auto filters = parseFilters(c.req.param("filters"), kContainerFilters);
  if (!filters) co_return co_await c.fail(filters.error());
  bool all = c.req.flag("all") || filters->contains("status") || filters->contains("exited");
  auto ancestorOf = [&](const std::string& ref, const std::string& imageId) {
    auto img = images_.find(ref);
    return img && img->id == imageId;
  };
  auto list = pl_.list();
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.spec.createdNs > b.spec.createdNs; });
  int limit = std::atoi(c.req.param("limit", "-1").c_str());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& ci : list) {
    if (limit >= 0 && static_cast<int>(out.size()) >= limit) break;
    if (!all && ci.status.state != pl::RunState::kRunning) continue;
    if (containerMatches(ci, *filters, ancestorOf)) out.push_back(containerSummary(ci, pl::nowNs(), containerView(ci)));
  }
  co_return co_await c.json(200, out);
}

asio::awaitable<void> DockerApi::events(Ctx& c) {
  auto filters = parseFilters(c.req.param("filters"), kEventFilters);
  if (!filters) co_return co_await c.fail(filters.error());
  c.done = true;
  c.closeAfter = true;
  if (!co_await c.s.writeAll(chunkedHeader(200, "application/json"))) co_return;
  int64_t since = static_cast<int64_t>(std::atof(c.req.param("since", "0").c_str()) * 1e9);
  int64_t until = static_cast<int64_t>(std::atof(c.req.param("until", "0").c_str()) * 1e9);
  uint64_t seen = c.req.param("since").empty() ? pl_.events().lastSeq() : 0;
  while (true) {
    for (const auto& e : pl_.events().since(seen)) {
      seen = e.seq;
      if (e.timeNs < since || (until > 0 && e.timeNs > until) || !eventMatches(e, *filters)) continue;
      if (!co_await c.s.writeAll(chunk(dumpJson(eventJson(e)) + "\n"))) co_return;
    }
    if (until > 0 && pl::nowNs() > until) break;
    asio::steady_timer t(io_, std::chrono::milliseconds(500));
    co_await t.async_wait(asio::use_awaitable);  // also re-checks `until` and client liveness
  }
  co_await c.s.writeAll(kLastChunk);
}

asio::awaitable<void> DockerApi::execRoute(Ctx& c, const std::string& id, const std::string& op) {
  auto e = execs_.find(id);
  if (!e) co_return co_await c.fail(Error(Errc::kNotFound, "No such exec instance: " + id));
  if (op == "json" && c.req.method == "GET") {
    nlohmann::json out = {{"ID", e->id}, {"ContainerID", e->container}, {"Running", e->running},
                                    {"ExitCode", e->started && !e->running ? nlohmann::json(e->exitCode) : nlohmann::json(nullptr)},
                                    {"OpenStdin", e->session.openStdin}, {"OpenStdout", true}, {"OpenStderr", true},
                                    {"ProcessConfig", {{"tty", e->session.tty}, {"entrypoint", e->session.argv.empty() ? "" : e->session.argv[0]},
                                                       {"arguments", e->session.argv.size() > 1 ? std::vector<std::string>(e->session.argv.begin() + 1, e->session.argv.end()) : std::vector<std::string>{}}}},
                                    {"Pid", 0}};
    co_return co_await c.json(200, out);
  }
  if (op == "resize" && c.req.method == "POST") {
    auto st = co_await pl_.resize(e->container, e->id, static_cast<uint16_t>(std::atoi(c.req.param("h").c_str())),
                                  static_cast<uint16_t>(std::atoi(c.req.param("w").c_str())));
    co_return st ? co_await c.empty(200) : co_await c.fail(st.error());
  }
  if (op == "start" && c.req.method == "POST") co_return co_await execStart(c, id);
  co_return co_await c.fail(notImplemented(c.req.method + " /exec/{id}/" + op));
}

asio::awaitable<void> DockerApi::execStart(Ctx& c, const std::string& id) {
  auto e = execs_.find(id);
  if (!e) co_return co_await c.fail(Error(Errc::kNotFound, "No such exec instance: " + id));
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  if (e->started) co_return co_await c.fail(Error(Errc::kConflict, "Error: Exec command " + id + " has already run"));
  bool detach = body->contains("Detach") && (*body)["Detach"].is_boolean() && (*body)["Detach"].get<bool>();
  auto streams = co_await pl_.exec(e->container, e->session);
  if (!streams) co_return co_await c.fail(streams.error());
  e->started = e->running = true;
  auto spec = pl_.find(e->container);
  if (spec) publishContainerEvent(pl_.events(), spec->spec, "exec_start: " + joinArgv(e->session.argv), {{"execID", e->id}});
  auto finish = [this, e]() -> asio::awaitable<std::string> {  // the launch error, if any
    auto st = co_await pl_.waitSession(e->container, e->id);
    e->exitCode = st ? st->exitCode : 126;
    e->running = false;
    if (auto ci = pl_.find(e->container)) {
      publishContainerEvent(pl_.events(), ci->spec, "exec_die", {{"execID", e->id}, {"exitCode", std::to_string(e->exitCode)}});
    }
    co_return st ? st->error : st.error().message();
  };
  if (detach) {
    asio::co_spawn(io_, [finish]() -> asio::awaitable<void> { co_await finish(); }, asio::detached);
    co_return co_await c.empty(200);
  }
  bool tty = e->session.tty;
  std::string ct = tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream";
  c.done = true;
  c.closeAfter = true;
  if (c.req.wantsUpgrade()) {
    if (!co_await c.s.writeAll(upgradeHeader(ct))) co_return;
  } else if (!co_await c.s.writeAll("HTTP/1.1 200 OK\r\nContent-Type: " + ct + "\r\n\r\n")) {
    co_return;
  }
  co_await pump(c, *streams, tty, !tty);
  // The exit code is set before the client sees the end of the stream: it inspects the exec next.
  std::string failed = co_await finish();
  if (!failed.empty()) {  // as docker, the launch error goes to the client's output
    std::string text = "OCI runtime exec failed: exec failed: unable to start container process: " + failed + ": unknown\r\n";
    if (!tty) text = stdcopyHeader(1, text.size()) + text;  // no ?: inside co_await: GCC 12 frees its temporary twice
    co_await c.s.writeAll(text);
  }
  c.s.shutdownSend();
}

asio::awaitable<void> DockerApi::imageRoute(Ctx& c) {
  const std::string& m = c.req.method;
  std::string p = c.req.path.substr(std::string("/images/").size());
  if (p == "create" && m == "POST") co_return co_await pull(c);
  if (p == "load" && m == "POST") co_return co_await load(c);
  if (p == "get" && m == "GET") {
    std::vector<std::string> names = c.req.params("names");
    co_return co_await save(c, names);
  }
  if (p == "json" && m == "GET") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : images_.list()) out.push_back(imageSummary(r, imageConfig(r.id)));
    co_return co_await c.json(200, out);
  }
  auto suffix = [&](const std::string& s) { return p.size() > s.size() && p.compare(p.size() - s.size(), s.size(), s) == 0; };
  if (suffix("/json") && m == "GET") {
    auto r = images_.find(p.substr(0, p.size() - 5));
    if (!r) co_return co_await c.fail(r.error());
    co_return co_await c.json(200, imageInspect(*r, imageConfig(r->id)));
  }
  if (suffix("/history") && m == "GET") co_return co_await history(c, p.substr(0, p.size() - 8));
  if (suffix("/get") && m == "GET") {
    std::vector<std::string> names{p.substr(0, p.size() - 4)};
    co_return co_await save(c, names);
  }
  if (suffix("/tag") && m == "POST") {
    std::string ref = c.req.param("repo") + (c.req.param("tag").empty() ? "" : ":" + c.req.param("tag"));
    auto st = images_.tag(p.substr(0, p.size() - 4), ref);
    co_return st ? co_await c.empty(201) : co_await c.fail(st.error());
  }
  if (m == "DELETE") {
    auto userOf = [this](const std::string& imageId) -> std::optional<images::ImageStore::User> {
      std::optional<images::ImageStore::User> user;
      for (const auto& ci : pl_.list()) {
        if (ci.spec.imageId != imageId) continue;
        bool running = ci.status.state == pl::RunState::kRunning;
        if (!user || running) user = images::ImageStore::User{ci.spec.id, running};
      }
      return user;
    };
    auto r = images_.remove(p, c.req.flag("force"), userOf);
    if (!r) co_return co_await c.fail(r.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *r) out.push_back(e.untagged.empty() ? nlohmann::json{{"Deleted", e.deleted}} : nlohmann::json{{"Untagged", e.untagged}});
    co_return co_await c.json(200, out);
  }
  co_return co_await c.fail(notImplemented(m + " /images/" + p));
}

asio::awaitable<void> DockerApi::pull(Ctx& c) {
  std::string from = c.req.param("fromImage");
  if (from.empty()) co_return co_await c.fail(notImplemented("docker import"));
  std::string tag = c.req.param("tag");
  std::string ref = from + (tag.empty() ? "" : (tag.rfind("sha256:", 0) == 0 ? "@" : ":") + tag);
  if (auto parsed = images::parseReference(ref); !parsed) co_return co_await c.fail(parsed.error());
  images::PullOptions opts;
  if (!c.req.param("platform").empty()) {
    auto p = images::parsePlatform(c.req.param("platform"));
    if (!p) co_return co_await c.fail(p.error());
    opts.platform = *p;
  }
  if (!c.req.header("x-registry-auth").empty()) {
    auto creds = images::decodeRegistryAuth(c.req.header("x-registry-auth"));
    if (creds) opts.registry.creds = *creds;
  }
  c.done = true;
  c.closeAfter = true;
  if (!co_await c.s.writeAll(chunkedHeader(200, "application/json"))) co_return;
  // The pull runs on a worker; its lines come back to this coroutine through a queue.
  struct Shared {
    std::mutex mu;
    std::vector<std::string> lines;
    bool finished = false;
  };
  auto shared = std::make_shared<Shared>();
  auto wake = std::make_shared<vsock::Notifier>(io_.get_executor());
  auto& io = io_;
  asio::post(pullPool_, [this, shared, wake, ref, opts, &io] {
    images::Puller puller(images_, images_.downloadDir());
    auto push = [&](const std::string& line) {
      std::lock_guard lock(shared->mu);
      shared->lines.push_back(line);
      asio::post(io, [wake] { wake->notify(); });
    };
    auto r = puller.pull(ref, opts, push);
    if (!r) {
      log::warn("api", "pull " + ref + ": " + r.error().message());
      push(images::progressError(r.error().message()));
    }
    std::lock_guard lock(shared->mu);
    shared->finished = true;
    asio::post(io, [wake] { wake->notify(); });
  });
  bool clientGone = false;
  while (true) {
    std::vector<std::string> lines;
    bool finished;
    {
      std::lock_guard lock(shared->mu);
      lines.swap(shared->lines);
      finished = shared->finished;
    }
    for (const auto& l : lines) {
      if (!clientGone && !co_await c.s.writeAll(chunk(l))) clientGone = true;
    }
    if (finished) break;
    {
      // A notify while the lines were being written was lost (Notifier wakes only waiters).
      std::lock_guard lock(shared->mu);
      if (!shared->lines.empty() || shared->finished) continue;
    }
    co_await wake->wait();
  }
  if (!clientGone) co_await c.s.writeAll(kLastChunk);
}

asio::awaitable<void> DockerApi::load(Ctx& c) {
  auto file = uploadFile(c.req, images_.downloadDir());  // spooled as it came: never whole in memory
  if (!file) co_return co_await c.fail(file.error());
  std::string lines;
  auto r = images::loadImages(images_, (*file)->path(), [&](const std::string& l) { lines += l; });
  c.req.bodyFile.reset();
  if (!r) co_return co_await c.fail(r.error());
  Response resp{200, "application/json", lines, {}};
  co_return co_await c.reply(resp);
}

}  // namespace vic::docker
