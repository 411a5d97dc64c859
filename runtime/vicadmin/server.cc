#include "runtime/vicadmin/server.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime/vicadmin/bundle.h"
#include "runtime/vicadmin/model.h"
#include "runtime/vicadmin/pages.h"
#include "runtime/vicadmin/static_files.h"
#include "runtime/vicadmin/status.h"

namespace vic::vicadmin {

namespace {

constexpr size_t kMaxTailLines = 5000;
constexpr auto kLoginWaitCap = std::chrono::seconds(10);
constexpr int kKeepalivePolls = 30;
constexpr const char* kAuthRequired = "authentication required: log in at /login or present the VCH's client certificate";

std::string messageJson(const std::string& m) { return dumpJson(json{{"message", m}}) + "\n"; }

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Error" : "Internal Server Error";
  }
}

docker::Response answer(int status, std::string contentType, std::string body) {
  return {status, std::move(contentType), std::move(body), {}};
}
docker::Response json200(const json& j) { return answer(200, "application/json", dumpJson(j, 2) + "\n"); }
docker::Response html(int status, std::string body) { return {status, "text/html; charset=utf-8", std::move(body), {}}; }
docker::Response redirect(const std::string& to) { return {303, "text/plain; charset=utf-8", "see " + to + "\n", {{"Location", to}}}; }

// A browser's Origin of a form post must be this server (none: not a browser, or an old one).
bool sameOrigin(const std::string& origin, const std::string& host) {
  if (origin.empty()) return true;
  auto scheme = origin.find("://");
  return scheme != std::string::npos && origin.substr(scheme + 3) == host;
}

bool isApi(const std::string& path) { return path.rfind("/api/", 0) == 0; }

std::string sseData(std::string line) {
  for (auto& ch : line) {
    if (ch == '\r') ch = ' ';  // a CR would end the field: a log line must not forge events
  }
  return "data: " + line + "\n\n";
}

// The containers the endpoint lists (ids and names), or nullopt when it is down.
std::optional<std::vector<ContainerName>> containerNames(Probe& p) {
  auto body = p.docker("/containers/json?all=1");
  if (!body) return std::nullopt;
  auto items = containersModel(parseJson(*body), {});
  std::vector<ContainerName> out;
  for (const auto& c : items) out.push_back({c["id"].get<std::string>(), c["name"].get<std::string>()});
  return out;
}

struct LogChoice {
  std::optional<std::vector<ContainerName>> containers;
  std::vector<std::string> dirNames;
};

LogChoice logChoice(Probe& p, const std::string& containersDir) {
  LogChoice c{containerNames(p), {}};
  if (!c.containers) c.dirNames = dirEntries(containersDir);
  return c;
}

const char* dockerTarget(const std::string& what) {
  if (what == "containers") return "/containers/json?all=1";
  if (what == "images") return "/images/json";
  if (what == "volumes") return "/volumes";
  return "/networks";
}

}  // namespace

docker::Limits ServerOptions::adminLimits() {
  docker::Limits l;
  l.headerBytes = 16 * 1024;
  l.bodyBytes = 16 * 1024;
  l.uploadBytes = 16 * 1024;
  l.idle = std::chrono::seconds(60);
  l.header = std::chrono::seconds(10);
  l.bodyStall = std::chrono::seconds(10);
  return l;
}

std::string securityHeaders() {
  return "Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'\r\n"
         "X-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\n"
         "Cache-Control: no-store\r\nServer: vic-admin\r\n";
}

std::string serializeAnswer(const docker::Response& r, bool head, bool keepAlive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reasonPhrase(r.status) + "\r\n" + securityHeaders();
  if (!r.contentType.empty()) out += "Content-Type: " + r.contentType + "\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (!keepAlive) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head) out += r.body;
  return out;
}

struct AdminServer::Conn {
  docker::Stream& s;
  docker::Request req;
  bool tls = false, clientCert = false;
  bool close = false;
  std::string session;  // the request's session cookie
  std::string peer;     // the client's address (login slowing), "" when unknown

  asio::awaitable<void> send(docker::Response r) {
    bool keep = !close && req.keepAlive;
    if (!co_await s.writeAll(serializeAnswer(r, req.method == "HEAD", keep)) || !keep) close = true;
  }
};

AdminServer::AdminServer(asio::io_context& io, const vch::VchConfig& cfg, Probe& probe, BlockingPool& pool, ServerOptions opts,
                         Auth::Now now)
    : io_(io), cfg_(cfg), probe_(probe), pool_(pool), opts_(std::move(opts)), auth_(cfg.adminTokenFile, opts_.sessionTtl, std::move(now)) {}

LogFiles AdminServer::logFiles() const { return {cfg_.logFile, cfg_.adminLogFile, cfg_.datastore + "/containers"}; }

void AdminServer::stop() {
  stopped_ = true;
  if (sampleTimer_) sampleTimer_->cancel();
}

asio::awaitable<void> AdminServer::serve(std::unique_ptr<docker::Stream> s, bool tls, bool clientCert, std::string peer) {
  std::string leftover;
  while (!stopped_) {
    auto r = co_await docker::readRequest(*s, leftover, opts_.limits);
    if (!r) {
      if (r.error().code() == Errc::kTimeout) break;
      Conn bad{*s, {}, tls, clientCert, true, "", peer};
      bad.req.keepAlive = false;
      co_await bad.send(html(400, errorPage(cfg_.name, 400, r.error().message())));
      co_await docker::lingerClose(*s);
      break;
    }
    if (!*r) break;
    Conn c{*s, std::move(**r), tls, clientCert, false, "", peer};
    co_await handle(c);
    if (c.close) break;
  }
  s->close();
}

asio::awaitable<void> AdminServer::handle(Conn& c) {
  const std::string path = c.req.path;
  const bool api = isApi(path);
  if (c.req.header("host").empty()) co_return co_await fail(c, api, Error(Errc::kInvalidArgument, "a request needs a Host header"));
  const bool get = c.req.method == "GET" || c.req.method == "HEAD";
  if (auto f = staticFile(path); f && get) co_return co_await c.send(answer(200, std::string(f->contentType), std::string(f->body)));
  if (path == "/login" && get) co_return co_await c.send(html(200, loginPage(cfg_.name, "")));
  if (path == "/login" && c.req.method == "POST") co_return co_await login(c);
  c.session = cookieValue(c.req.header("cookie"), kSessionCookie);
  if (path == "/logout" && c.req.method == "POST") {
    auth_.logout(c.session);
    auto r = redirect("/login");
    r.headers["Set-Cookie"] = std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict";
    co_return co_await c.send(std::move(r));
  }
  if (!c.clientCert && !auth_.valid(c.session)) {
    if (api) co_return co_await c.send(answer(401, "application/json", messageJson(kAuthRequired)));
    co_return co_await c.send(redirect("/login"));
  }
  if (!get) co_return co_await fail(c, api, Error(Errc::kInvalidArgument, c.req.method.substr(0, 16) + " is not allowed here"));
  co_await route(c);
}

asio::awaitable<void> AdminServer::route(Conn& c) {
  const std::string& p = c.req.path;
  const bool api = isApi(p);
  const std::string page = api ? p.substr(4) : p;
  if (page == "/" || page == "/status") co_return co_await status(c, api);
  for (const char* what : {"containers", "images", "volumes", "networks"}) {
    if (page == std::string("/") + what) co_return co_await listing(c, what, api);
  }
  if (page == "/logs") co_return co_await logs(c, api);
  if (p == "/logs/view" || p == "/api/logs/tail") co_return co_await logTail(c, api);
  if (p == "/api/logs/follow") co_return co_await follow(c);
  if (p == "/bundle") co_return co_await bundle(c);
  co_await fail(c, api, Error(Errc::kNotFound, "no page " + p.substr(0, 200)));
}

asio::awaitable<void> AdminServer::fail(Conn& c, bool api, const Error& e) {
  int st = e.code() == Errc::kForbidden ? 401 : docker::httpStatus(e.code());
  if (st == 304) st = 400;
  if (api) co_return co_await c.send(answer(st, "application/json", messageJson(e.message())));
  co_await c.send(html(st, errorPage(cfg_.name, st, e.message())));
}

// POST /login: failures are slowed per client address (Auth::failed) and an attempt waiting
// more than kLoginWaitCap is refused at once with 429.
asio::awaitable<void> AdminServer::login(Conn& c) {
  auto wait = auth_.loginWait(c.peer);
  if (wait > kLoginWaitCap) {
    co_return co_await c.send(html(429, loginPage(cfg_.name, "too many failed logins: try again in a few seconds")));
  }
  if (wait > Auth::Clock::duration::zero()) {
    asio::steady_timer t(io_, wait);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (!sameOrigin(c.req.header("origin"), c.req.header("host"))) {
    co_return co_await c.send(html(403, loginPage(cfg_.name, "login from another site refused")));
  }
  auto session = auth_.login(formValue(c.req.body, "token"));
  if (!session) {
    auth_.failed(c.peer);
    log::warn("vicadmin", "failed login from " + (c.peer.empty() ? "a local socket" : c.peer) + ": " + session.error().message());
    asio::steady_timer t(io_, Auth::kFailureDelay);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    int st = session.error().code() == Errc::kForbidden ? 401 : 503;
    co_return co_await c.send(html(st, loginPage(cfg_.name, session.error().message())));
  }
  log::info("vicadmin", "login with the admin token");
  auto r = redirect("/");
  r.headers["Set-Cookie"] = sessionCookie(*session, c.tls, opts_.sessionTtl);
  co_await c.send(std::move(r));
}

asio::awaitable<void> AdminServer::status(Conn& c, bool api) {
  auto gather = [this] { return gatherStatus(cfg_, probe_); };
  json s = co_await pool_.run(gather);
  if (api) co_return co_await c.send(json200(s));
  co_await c.send(html(200, statusPage(cfg_.name, s)));
}

asio::awaitable<void> AdminServer::listing(Conn& c, const std::string& what, bool api) {
  std::string target = dockerTarget(what);
  auto get = [this, target] { return probe_.docker(target); };
  Result<std::string> body = co_await pool_.run(get);
  Result<json> items = Error(Errc::kUnavailable, "");
  if (body) {
    json parsed = parseJson(*body);
    if (what == "containers") items = containersModel(parsed, sampler_.samples());
    else if (what == "images") items = imagesModel(parsed);
    else if (what == "volumes") items = volumesModel(parsed);
    else items = networksModel(parsed);
  } else {
    items = body.error();
  }
  json page = listPage(items);
  if (api) co_return co_await c.send(json200(page));
  std::string text;
  if (what == "containers") text = containersPage(cfg_.name, page);
  else if (what == "images") text = imagesPage(cfg_.name, page);
  else if (what == "volumes") text = volumesPage(cfg_.name, page);
  else text = networksPage(cfg_.name, page);
  co_await c.send(html(200, std::move(text)));
}

asio::awaitable<void> AdminServer::logs(Conn& c, bool api) {
  std::string dir = logFiles().containersDir;
  auto choose = [this, dir] { return logChoice(probe_, dir); };
  LogChoice choice = co_await pool_.run(choose);
  Status endpoint = ok();
  if (!choice.containers) endpoint = Error(Errc::kUnavailable, "its container list did not come; container logs are listed from the datastore");
  json model = logsModel(availableLogs(choice.containers, choice.dirNames), endpoint);
  if (api) co_return co_await c.send(json200(model));
  co_await c.send(html(200, logsPage(cfg_.name, model)));
}

asio::awaitable<Result<LogRef>> AdminServer::findLog(const std::string& name) {
  std::string dir = logFiles().containersDir;
  auto choose = [this, dir] { return logChoice(probe_, dir); };
  LogChoice choice = co_await pool_.run(choose);
  co_return resolveLog(name, choice.containers, choice.dirNames);
}

asio::awaitable<void> AdminServer::logTail(Conn& c, bool api) {
  std::string linesParam = c.req.param("lines", "200");
  size_t n = 0;
  bool digits = !linesParam.empty() && linesParam.size() <= 6 && linesParam.find_first_not_of("0123456789") == std::string::npos;
  if (digits) n = std::stoul(linesParam);
  if (!digits || n == 0 || n > kMaxTailLines) co_return co_await fail(c, api, Error(Errc::kInvalidArgument, "lines must be 1 to 5000"));
  auto ref = co_await findLog(c.req.param("log"));
  if (!ref) co_return co_await fail(c, api, ref.error());
  LogFiles files = logFiles();
  LogRef log = *ref;
  auto read = [files, log, n]() -> Result<std::vector<std::string>> {
    auto fd = openLog(log, files);
    if (!fd) return std::move(fd).error();
    return log.output ? outputTail(fd->get(), n, nullptr) : tailLines(fd->get(), n, nullptr);
  };
  auto lines = co_await pool_.run(read);
  if (!lines) co_return co_await fail(c, api, lines.error().wrap("log " + log.name));
  json model = {{"log", log.name}, {"title", log.title}, {"lines", *lines}};
  if (api) co_return co_await c.send(json200(model));
  co_await c.send(html(200, logViewPage(cfg_.name, model)));
}

// Server-sent events: each new line of the log is one event, until the client goes, the
// session ends (expired, logged out, token rotated) or the server stops.
asio::awaitable<void> AdminServer::follow(Conn& c) {
  auto ref = co_await findLog(c.req.param("log"));
  if (!ref) co_return co_await fail(c, true, ref.error());
  LogFiles files = logFiles();
  LogRef log = *ref;
  auto open = [files, log] { return openLog(log, files); };
  auto fd = co_await pool_.run(open);
  if (!fd) co_return co_await fail(c, true, fd.error().wrap("log " + log.name));
  struct stat st{};
  uint64_t offset = ::fstat(fd->get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  std::string partial;
  OutputCursor records;  // an output log: from its last whole record
  if (log.output) {
    int at = fd->get();
    auto start = [at, &records] { outputTail(at, 0, &records); };
    co_await pool_.run(start);
  }
  c.close = true;
  std::string head = "HTTP/1.1 200 OK\r\n" + securityHeaders() + "Content-Type: text/event-stream\r\nConnection: close\r\n\r\n";
  if (!co_await c.s.writeAll(head + ": following " + log.name + "\n\n")) co_return;
  int fd0 = fd->get();
  for (int polls = 1; !stopped_; ++polls) {
    asio::steady_timer t(io_, opts_.followPoll);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!c.clientCert && !auth_.valid(c.session)) {
      co_await c.s.writeAll("event: end\ndata: the session ended\n\n");
      co_return;
    }
    bool output = log.output;
    auto more = [fd0, output, &offset, &partial, &records] {
      return output ? newOutputLines(fd0, records) : newLines(fd0, offset, partial);
    };
    std::vector<std::string> lines = co_await pool_.run(more);
    std::string out;
    for (auto& l : lines) out += sseData(std::move(l));
    if (out.empty() && polls % kKeepalivePolls == 0) out = ": keepalive\n\n";  // finds a client that went away
    if (!out.empty() && !co_await c.s.writeAll(out)) co_return;
  }
}

// The bundle is written to an unnamed temporary file, then sent with its length.
asio::awaitable<void> AdminServer::bundle(Conn& c) {
  LogFiles files = logFiles();
  auto make = [this, files]() -> Result<std::pair<UniqueFd, int64_t>> {
    json status = gatherStatus(cfg_, probe_);
    LogChoice choice = logChoice(probe_, files.containersDir);
    auto members = bundleMembers(cfg_, probe_, files, status, availableLogs(choice.containers, choice.dirNames));
    UniqueFd fd(::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("making a temporary file for the bundle in /tmp");
    int64_t now = probe_.now();
    if (auto st = writeBundle(members, fd.get(), now); !st) return std::move(st).error();
    return std::make_pair(std::move(fd), now);
  };
  auto made = co_await pool_.run(make);
  if (!made) co_return co_await fail(c, false, made.error().wrap("making the log bundle"));
  int fd = made->first.get();
  struct stat st{};
  ::fstat(fd, &st);
  std::string head = "HTTP/1.1 200 OK\r\n" + securityHeaders() + "Content-Type: application/gzip\r\nContent-Disposition: attachment; filename=\"" +
                     bundleName(cfg_.name, made->second) + "\"\r\nContent-Length: " + std::to_string(st.st_size) +
                     (c.req.keepAlive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  c.close = !c.req.keepAlive;
  if (!co_await c.s.writeAll(head)) co_return;
  if (c.req.method == "HEAD") co_return;
  std::string buf(256 * 1024, '\0');
  for (off_t off = 0; off < st.st_size;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n <= 0) {
      c.close = true;
      co_return;
    }
    off += n;
    if (!co_await c.s.writeAll(std::string_view(buf.data(), static_cast<size_t>(n)))) {
      c.close = true;
      co_return;
    }
  }
}

asio::awaitable<void> AdminServer::sampleLoop() {
  sampleTimer_ = std::make_shared<asio::steady_timer>(io_);
  auto timer = sampleTimer_;
  while (!stopped_) {
    auto collect = [this] { return collectStats(probe_); };
    auto stats = co_await pool_.run(collect);
    auto now = [this] { return probe_.now(); };
    int64_t at = co_await pool_.run(now);
    if (stats) sampler_.record(at, *stats);
    timer->expires_after(opts_.sampleInterval);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace vic::vicadmin
