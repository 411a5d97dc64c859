// The HTTP edge of the Docker API personality: one connection's byte stream (unix, TCP or
// TLS behind one interface), request parsing with Beast under explicit limits, and the three
// ways a handler answers: a whole response, a chunked stream, or a hijacked (101) stream.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vic::docker {

namespace asio = boost::asio;

// A connection's byte stream. Reads return 0 at end of stream.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual asio::awaitable<size_t> readSome(asio::mutable_buffer buf) = 0;
  virtual asio::awaitable<bool> writeAll(std::string_view data) = 0;  // false: peer gone
  virtual void shutdownSend() = 0;
  virtual void close() = 0;
};

std::unique_ptr<Stream> unixStream(asio::local::stream_protocol::socket s);
std::unique_ptr<Stream> tcpStream(asio::ip::tcp::socket s);
std::unique_ptr<Stream> tlsStream(asio::ssl::stream<asio::ip::tcp::socket> s);

struct Limits {
  size_t headerBytes = 64 * 1024;
  size_t bodyBytes = 1 << 20;           // JSON bodies
  size_t uploadBytes = size_t{512} << 20;  // image loads and archives
};

struct Request {
  std::string method;
  std::string path;   // without the version prefix and the query
  std::string apiVersion = "1.50";
  std::map<std::string, std::string> query;
  std::map<std::string, std::vector<std::string>> repeated;  // every value of each query name
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool keepAlive = true;
  bool wantsUpgrade() const;
  std::string header(const std::string& lower) const;
  std::string param(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> params(const std::string& name) const;  // changes=..&changes=.., names=..
  bool flag(const std::string& name) const;  // docker's query booleans: 1/true/True
};

// Reads one request; nullopt at a clean end of the connection. `leftover` holds bytes read
// past the request (pipelining or a hijacked stream's first bytes).
asio::awaitable<Result<std::optional<Request>>> readRequest(Stream& s, std::string& leftover, const Limits& limits);

// "/v1.45/containers/json" -> version 1.45, path /containers/json; error above 1.50.
Status splitVersion(std::string target, Request& r);
// The body limit for a request target: uploads (image loads, archives, builds) get
// uploadBytes, everything else (JSON) bodyBytes.
size_t bodyLimitFor(const std::string& target, const Limits& limits);
std::string percentDecode(std::string_view s);

struct Response {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};
Response jsonResponse(int status, const std::string& body);
Response errorResponse(const Error& e);   // {"message": ...} with docker's status for the kind
int httpStatus(Errc code);

// Serialises a response with the headers every answer carries (Server, Api-Version, Ostype).
std::string serialize(const Response& r, bool head, bool keepAlive);
// A streamed answer (pull progress, logs, events, stats). It ends the connection, and says so:
// without "Connection: close" the Go client pools the connection and its next request (often a
// POST, which it does not retry) meets a reset.
std::string chunkedHeader(int status, const std::string& contentType,
                          const std::map<std::string, std::string>& extra = {});
std::string chunk(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
std::string upgradeHeader(const std::string& contentType);  // moby's 101 UPGRADED, byte for byte

}  // namespace vic::docker
