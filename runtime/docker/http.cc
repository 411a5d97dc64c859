#include "runtime/docker/http.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json.h"

namespace vic::docker {
namespace http = boost::beast::http;

namespace {

template <class S>
class SocketStream : public Stream {
 public:
  explicit SocketStream(S s) : s_(std::move(s)), turn_(s_.get_executor(), asio::steady_timer::time_point::max()) {}
  asio::awaitable<size_t> readSome(asio::mutable_buffer buf) override {
    auto [ec, n] = co_await s_.async_read_some(buf, asio::as_tuple(asio::use_awaitable));
    co_return ec ? 0 : n;
  }
  // One write at a time: an attach copies stdout and stderr from two coroutines, and two
  // async_writes in flight on one stream interleave their bytes (and break a TLS stream).
  asio::awaitable<bool> writeAll(std::string_view data) override {
    while (writing_) co_await turn_.async_wait(asio::as_tuple(asio::use_awaitable));  // until cancel()
    writing_ = true;
    auto [ec, n] = co_await asio::async_write(s_, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
    writing_ = false;
    turn_.cancel();
    co_return !ec;
  }
  void shutdownSend() override {
    boost::system::error_code ec;
    lowest().shutdown(asio::socket_base::shutdown_send, ec);
  }
  void close() override {
    boost::system::error_code ec;
    lowest().close(ec);
  }

 private:
  auto& lowest() {
    if constexpr (requires { s_.next_layer(); }) return s_.next_layer();
    else return s_;
  }
  S s_;
  bool writing_ = false;
  asio::steady_timer turn_;  // never expires: cancel() wakes the writers waiting their turn
};

}  // namespace

std::unique_ptr<Stream> unixStream(asio::local::stream_protocol::socket s) {
  return std::make_unique<SocketStream<asio::local::stream_protocol::socket>>(std::move(s));
}
std::unique_ptr<Stream> tcpStream(asio::ip::tcp::socket s) {
  return std::make_unique<SocketStream<asio::ip::tcp::socket>>(std::move(s));
}
std::unique_ptr<Stream> tlsStream(asio::ssl::stream<asio::ip::tcp::socket> s) {
  return std::make_unique<SocketStream<asio::ssl::stream<asio::ip::tcp::socket>>>(std::move(s));
}

bool Request::wantsUpgrade() const {
  std::string c = header("connection"), u = header("upgrade");
  for (auto& ch : c) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return c.find("upgrade") != std::string::npos && (u == "tcp" || u == "TCP");
}

std::string Request::header(const std::string& lower) const {
  auto it = headers.find(lower);
  return it == headers.end() ? "" : it->second;
}

std::string Request::param(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

std::vector<std::string> Request::params(const std::string& name) const {
  auto it = repeated.find(name);
  return it == repeated.end() ? std::vector<std::string>{} : it->second;
}

bool Request::flag(const std::string& name) const {
  std::string v = param(name);
  auto space = [](unsigned char ch) { return std::isspace(ch) != 0; };
  v.erase(v.begin(), std::find_if_not(v.begin(), v.end(), space));
  v.erase(std::find_if_not(v.rbegin(), v.rend(), space).base(), v.end());
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return !(v.empty() || v == "0" || v == "no" || v == "false" || v == "none");
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (std::sscanf(std::string(s.substr(i + 1, 2)).c_str(), "%2x", &v) == 1) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

Status splitVersion(std::string target, Request& r) {
  auto q = target.find('?');
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  std::string path = target.substr(0, q);
  if (path.rfind("/v", 0) == 0 && path.size() > 2 && std::isdigit(static_cast<unsigned char>(path[2]))) {
    auto slash = path.find('/', 1);
    std::string v = path.substr(2, slash == std::string::npos ? std::string::npos : slash - 2);
    path = slash == std::string::npos ? "/" : path.substr(slash);
    int major = 0, minor = 0;
    if (std::sscanf(v.c_str(), "%d.%d", &major, &minor) != 2) return Error(Errc::kNotFound, "page not found");
    if (major > 1 || (major == 1 && minor > 50)) {
      return Error(Errc::kInvalidArgument, "client version " + v + " is too new. Maximum supported API version is 1.50");
    }
    r.apiVersion = v;
  }
  r.path = percentDecode(path);
  size_t pos = 0;
  while (pos < query.size()) {
    auto amp = query.find('&', pos);
    std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = kv.find('=');
    if (!kv.empty()) {
      std::string key = percentDecode(kv.substr(0, eq)), value = eq == std::string::npos ? "" : percentDecode(kv.substr(eq + 1));
      r.query[key] = value;  // the last one, as Go's Get would give the first: docker never repeats a scalar
      r.repeated[key].push_back(value);
    }
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return ok();
}

std::optional<Route> routeAfter(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return std::nullopt;
  std::string_view tail = path.substr(prefix.size());
  auto slash = tail.find('/');
  Route r{std::string(tail.substr(0, slash)), std::nullopt};
  if (r.id.empty()) return std::nullopt;
  if (slash != std::string_view::npos) r.rest = std::string(tail.substr(slash + 1));
  return r;
}

bool isLowerWord(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

bool isUploadTarget(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  for (std::string_view tail : {"/images/load", "/archive", "/build", "/images/create"}) {
    if (path.ends_with(tail)) return true;
  }
  return false;
}

size_t bodyLimitFor(const std::string& target, const Limits& limits) {
  return isUploadTarget(target) ? limits.uploadBytes : limits.bodyBytes;
}

void Deadline::arm(std::chrono::steady_clock::duration after, std::function<void()> onExpire) {
  state_->onExpire = std::move(onExpire);
  uint64_t generation = ++state_->generation;
  timer_.expires_after(after);
  timer_.async_wait([state = state_, generation](const boost::system::error_code& ec) {
    if (ec || state->generation != generation || !state->onExpire) return;  // re-armed, disarmed or destroyed
    state->expired = true;
    auto f = std::move(state->onExpire);
    state->onExpire = nullptr;
    f();
  });
}

void Deadline::disarm() {
  ++state_->generation;
  state_->onExpire = nullptr;
  timer_.cancel();
}

Result<std::shared_ptr<SpoolFile>> SpoolFile::create(const std::string& dir) {
  auto made = createUniqueFile(dir + "/upload-");
  if (!made) return std::move(made).error().wrap("spooling an upload body");
  return std::shared_ptr<SpoolFile>(new SpoolFile(std::move(made->second), std::move(made->first)));
}

SpoolFile::~SpoolFile() { ::unlink(path_.c_str()); }

Status SpoolFile::append(const char* data, size_t n) {
  if (auto st = writeAll(fd_.get(), data, n, "an upload body to " + path_); !st) return st;
  size_ += n;
  return ok();
}

Result<std::shared_ptr<SpoolFile>> uploadFile(Request& r, const std::string& dir) {
  if (r.bodyFile) return r.bodyFile;
  auto f = SpoolFile::create(dir);
  if (!f) return std::move(f).error();
  if (auto st = (*f)->append(r.body.data(), r.body.size()); !st) return std::move(st).error();
  r.body.clear();
  r.bodyFile = *f;
  return r.bodyFile;
}

namespace {

// A Beast body: JSON bodies are kept in memory, upload bodies go to a SpoolFile as they come
// when a spool directory is set.
struct SpoolBody {
  struct value_type {
    std::string text;
    std::shared_ptr<SpoolFile> file;
    std::string spoolDir;  // set before parsing
    std::string error;     // why the upload could not be written
  };

  class reader {
   public:
    // Beast makes the reader with the parser, before the header is in: init() looks at it.
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>& h, value_type& b) : target_([&h] { return std::string_view(h.target()); }), body_(b) {}

    void init(const boost::optional<std::uint64_t>&, boost::system::error_code& ec) {
      ec = {};
      if (!isUploadTarget(target_()) || body_.spoolDir.empty()) return;
      auto f = SpoolFile::create(body_.spoolDir);
      if (!f) return fail(f.error(), ec);
      body_.file = std::move(*f);
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
      ec = {};
      size_t n = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
        asio::const_buffer b = *it;
        const char* p = static_cast<const char*>(b.data());
        if (!body_.file) {
          body_.text.append(p, b.size());
        } else if (auto st = body_.file->append(p, b.size()); !st) {
          fail(st.error(), ec);
          return n;
        }
        n += b.size();
      }
      return n;
    }

    void finish(boost::system::error_code& ec) { ec = {}; }

   private:
    void fail(const Error& e, boost::system::error_code& ec) {
      body_.error = e.message();
      ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
    }
    std::function<std::string_view()> target_;
    value_type& body_;
  };
};

std::string mib(size_t bytes) {
  return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

}  // namespace

namespace {

Request toRequest(http::request<SpoolBody>&& msg) {
  Request r;
  r.method = std::string(msg.method_string());
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    r.headers[name] = std::string(f.value());
  }
  r.keepAlive = msg.keep_alive();
  r.body = std::move(msg.body().text);
  r.bodyFile = std::move(msg.body().file);
  return r;
}

Error parseError(const boost::system::error_code& ec, const SpoolBody::value_type& body, size_t limit) {
  if (ec == http::error::header_limit) return Error(Errc::kInvalidArgument, "request header too large");
  if (ec == http::error::body_limit) {
    return Error(Errc::kInvalidArgument, "http: request body too large (the limit is " + mib(limit) + ")");
  }
  if (!body.error.empty()) return Error(Errc::kIo, body.error);
  return Error(Errc::kInvalidArgument, "malformed HTTP request: " + ec.message());
}

Error timedOut(bool headerDone, const Limits& limits) {
  auto secs = [](std::chrono::milliseconds d) { return std::to_string(d.count() / 1000.0).substr(0, 4) + "s"; };
  return headerDone ? Error(Errc::kTimeout, "request body stalled for more than " + secs(limits.bodyStall))
                    : Error(Errc::kTimeout, "request header not complete within " + secs(limits.header));
}

}  // namespace

asio::awaitable<Result<std::optional<Request>>> readRequest(Stream& s, std::string& leftover, const Limits& limits,
                                                            const std::function<void()>& headerDone) {
  http::request_parser<SpoolBody> parser;
  parser.get().body().spoolDir = limits.spoolDir;
  parser.header_limit(static_cast<uint32_t>(limits.headerBytes));
  parser.body_limit(limits.uploadBytes);
  Deadline deadline(co_await asio::this_coro::executor);
  auto closeStream = [&s] { s.close(); };
  boost::system::error_code ec;
  std::vector<char> buf(64 * 1024);
  bool any = !leftover.empty(), needMore = leftover.empty(), limited = false;
  size_t limit = limits.uploadBytes;
  deadline.arm(any ? limits.header : limits.idle, closeStream);
  while (!parser.is_done()) {
    if (needMore) {
      size_t n = co_await s.readSome(asio::buffer(buf));
      if (n == 0) {
        if (!any) co_return std::optional<Request>();  // a clean end, or an idle connection timed out
        if (deadline.expired()) co_return timedOut(limited, limits);
        co_return Error(Errc::kInvalidArgument, "connection closed mid-request");
      }
      if (!any) deadline.arm(limits.header, closeStream);  // from the first byte, the whole header
      if (limited) deadline.arm(limits.bodyStall, closeStream);  // the body moved on
      any = true;
      leftover.append(buf.data(), n);
    }
    size_t used = parser.put(asio::buffer(leftover), ec);
    leftover.erase(0, used);
    needMore = ec == http::error::need_more || leftover.empty();
    if (ec == http::error::need_more) ec = {};
    if (!ec && !limited && parser.is_header_done()) {  // put stops after the header: limit the body
      limit = bodyLimitFor(std::string(parser.get().target()), limits);
      if (parser.content_length().value_or(0) > limit) {
        co_return Error(Errc::kInvalidArgument, "http: request body too large (the limit is " + mib(limit) + ")");
      }
      parser.body_limit(limit);  // chunked bodies are counted as they come
      limited = true;
      needMore = leftover.empty();
      deadline.arm(limits.bodyStall, closeStream);
      if (headerDone) headerDone();
    }
    if (ec) co_return parseError(ec, parser.get().body(), limit);
  }
  std::string target(parser.get().target());
  Request r = toRequest(parser.release());
  if (auto st = splitVersion(target, r); !st) co_return std::move(st).error();
  co_return std::optional<Request>(std::move(r));
}

asio::awaitable<void> lingerClose(Stream& s, std::chrono::milliseconds linger, size_t limit) {
  Deadline deadline(co_await asio::this_coro::executor);
  deadline.arm(linger, [&s] { s.close(); });
  std::vector<char> buf(64 * 1024);
  for (size_t dropped = 0; dropped < limit;) {
    size_t n = co_await s.readSome(asio::buffer(buf));
    if (n == 0) break;
    dropped += n;
  }
  s.close();
}

int httpStatus(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument: return 400;
    case Errc::kNotFound: return 404;
    case Errc::kConflict: return 409;
    case Errc::kNotModified: return 304;
    case Errc::kUnavailable: return 503;
    case Errc::kNotImplemented: return 501;
    case Errc::kForbidden: return 403;
    default: return 500;
  }
}

Response jsonResponse(int status, const std::string& body) { return {status, "application/json", body, {}}; }

Response errorResponse(const Error& e) {
  int status = httpStatus(e.code());
  if (status == 304) return {304, "", "", {}};
  nlohmann::json body = {{"message", e.message()}};
  return jsonResponse(status, dumpJson(body) + "\n");  // a message may quote invalid UTF-8 from the client
}

namespace {
const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}
std::string commonHeaders() { return "Api-Version: 1.50\r\nOstype: linux\r\nServer: Docker/28.2.2-vic (linux)\r\n"; }
}  // namespace

std::string serialize(const Response& r, bool head, bool keepAlive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n" + commonHeaders();
  if (!r.contentType.empty() && r.status != 204 && r.status != 304) out += "Content-Type: " + r.contentType + "\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  if (r.status != 204 && r.status != 304) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (!keepAlive) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head && r.status != 204 && r.status != 304) out += r.body;
  return out;
}

std::string chunkedHeader(int status, const std::string& contentType, const std::map<std::string, std::string>& extra) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n" + commonHeaders();
  for (const auto& [k, v] : extra) out += k + ": " + v + "\r\n";
  return out + "Content-Type: " + contentType + "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
}

std::string chunk(std::string_view data) {
  char len[32];
  std::snprintf(len, sizeof len, "%zx\r\n", data.size());
  return std::string(len) + std::string(data) + "\r\n";
}

struct ConnectionLimiter::State {
  size_t max;
  std::list<Slot*> slots;  // admission order, oldest first; evicted ones are gone
};

ConnectionLimiter::ConnectionLimiter(size_t max) : state_(std::make_shared<State>(State{max, {}})) {}

size_t ConnectionLimiter::open() const { return state_->slots.size(); }

std::shared_ptr<ConnectionLimiter::Slot> ConnectionLimiter::admit(std::function<void()> close) {
  if (state_->slots.size() >= state_->max) {
    auto victim = std::find_if(state_->slots.begin(), state_->slots.end(), [](Slot* s) { return !s->busy_; });
    if (victim == state_->slots.end()) return nullptr;
    Slot* v = *victim;
    state_->slots.erase(victim);
    v->evicted_ = true;
    if (auto f = std::move(v->close_)) f();
  }
  auto slot = std::make_shared<Slot>(state_, std::move(close));
  state_->slots.push_back(slot.get());
  return slot;
}

ConnectionLimiter::Slot::Slot(std::shared_ptr<State> state, std::function<void()> close)
    : state_(std::move(state)), close_(std::move(close)) {}

ConnectionLimiter::Slot::~Slot() {
  if (!evicted_) state_->slots.remove(this);
}

std::string upgradeHeader(const std::string& contentType) {
  return "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + contentType + "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
}

}  // namespace vic::docker
