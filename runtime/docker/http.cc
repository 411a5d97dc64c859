#include "runtime/docker/http.h"

#include <boost/beast/http.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace vic::docker {
namespace http = boost::beast::http;

namespace {

template <class S>
class SocketStream : public Stream {
 public:
  explicit SocketStream(S s) : s_(std::move(s)) {}
  asio::awaitable<size_t> readSome(asio::mutable_buffer buf) override {
    auto [ec, n] = co_await s_.async_read_some(buf, asio::as_tuple(asio::use_awaitable));
    co_return ec ? 0 : n;
  }
  asio::awaitable<bool> writeAll(std::string_view data) override {
    auto [ec, n] = co_await asio::async_write(s_, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
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
  return v == "1" || v == "true" || v == "True" || v == "TRUE";
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

size_t bodyLimitFor(const std::string& target, const Limits& limits) {
  std::string path = target.substr(0, target.find('?'));
  auto endsWith = [&](const std::string& tail) {
    return path.size() >= tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0;
  };
  bool upload = endsWith("/images/load") || endsWith("/archive") || endsWith("/build") || endsWith("/images/create");
  return upload ? limits.uploadBytes : limits.bodyBytes;
}

asio::awaitable<Result<std::optional<Request>>> readRequest(Stream& s, std::string& leftover, const Limits& limits) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(limits.headerBytes));
  parser.body_limit(limits.uploadBytes);
  boost::system::error_code ec;
  std::vector<char> buf(64 * 1024);
  bool any = !leftover.empty(), needMore = leftover.empty(), limited = false;
  while (!parser.is_done()) {
    if (needMore) {
      size_t n = co_await s.readSome(asio::buffer(buf));
      if (n == 0) {
        if (!any) co_return std::optional<Request>();
        co_return Error(Errc::kInvalidArgument, "connection closed mid-request");
      }
      any = true;
      leftover.append(buf.data(), n);
    }
    size_t used = parser.put(asio::buffer(leftover), ec);
    leftover.erase(0, used);
    needMore = ec == http::error::need_more || leftover.empty();
    if (ec == http::error::need_more) ec = {};
    if (!ec && !limited && parser.is_header_done()) {  // put stops after the header: limit the body
      size_t limit = bodyLimitFor(std::string(parser.get().target()), limits);
      if (parser.content_length().value_or(0) > limit) co_return Error(Errc::kInvalidArgument, "request body too large");
      parser.body_limit(limit);  // chunked bodies are counted as they come
      limited = true;
      needMore = leftover.empty();
    }
    if (ec == http::error::header_limit) co_return Error(Errc::kInvalidArgument, "request header too large");
    if (ec == http::error::body_limit) co_return Error(Errc::kInvalidArgument, "request body too large");
    if (ec) co_return Error(Errc::kInvalidArgument, "malformed HTTP request: " + ec.message());
  }
  auto msg = parser.release();
  Request r;
  r.method = std::string(msg.method_string());
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    r.headers[name] = std::string(f.value());
  }
  r.keepAlive = msg.keep_alive();
  r.body = std::move(msg.body());
  if (auto st = splitVersion(std::string(msg.target()), r); !st) co_return std::move(st).error();
  co_return std::optional<Request>(std::move(r));
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
  return jsonResponse(status, nlohmann::json{{"message", e.message()}}.dump() + "\n");
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

std::string upgradeHeader(const std::string& contentType) {
  return "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + contentType + "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
}

}  // namespace vic::docker
