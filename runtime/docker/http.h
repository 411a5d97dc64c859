// The HTTP edge of the Docker API personality: one connection's byte stream (unix, TCP or
// TLS behind one interface), request parsing with Beast under explicit limits, and the three
// ways a handler answers: a whole response, a chunked stream, or a hijacked (101) stream.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

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

// Runs `onExpire` (which closes a stream, so its pending read returns 0) once a deadline
// passes. Re-arming replaces the deadline; after destruction nothing runs.
class Deadline {
 public:
  explicit Deadline(asio::any_io_executor ex) : timer_(std::move(ex)) {}
  ~Deadline() { disarm(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  void arm(std::chrono::steady_clock::duration after, std::function<void()> onExpire);
  void disarm();
  bool expired() const { return state_->expired; }

 private:
  struct State {
    std::function<void()> onExpire;
    uint64_t generation = 0;
    bool expired = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

struct Limits {
  size_t headerBytes = 64 * 1024;
  size_t bodyBytes = 1 << 20;           // JSON bodies
  size_t uploadBytes = size_t{512} << 20;  // image loads and archives
  // Deadlines while a request is read (never while it is answered: streams and hijacked
  // connections have none). A kept-alive connection may wait `idle` for its next request;
  // from a request's first byte its header must be in within `header`; its body may pause
  // at most `bodyStall` between reads.
  std::chrono::milliseconds idle{std::chrono::seconds(120)};
  std::chrono::milliseconds header{std::chrono::seconds(30)};
  std::chrono::milliseconds bodyStall{std::chrono::seconds(60)};
  // Upload bodies (image loads, archives) are written here as they arrive instead of being
  // held in memory; empty keeps them in Request::body (unit tests).
  std::string spoolDir;
};

// An upload body on disk: created O_EXCL|O_NOFOLLOW, mode 0600, in a directory only root
// writes; removed when its last owner lets go.
class SpoolFile {
 public:
  static Result<std::shared_ptr<SpoolFile>> create(const std::string& dir);
  ~SpoolFile();
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;
  Status append(const char* data, size_t n);
  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

 private:
  SpoolFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
  uint64_t size_ = 0;
};

struct Request {
  std::string method;
  std::string path;   // without the version prefix and the query
  std::string apiVersion = "1.50";
  std::map<std::string, std::string> query;
  std::map<std::string, std::vector<std::string>> repeated;  // every value of each query name
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::shared_ptr<SpoolFile> bodyFile;  // an upload's body when Limits::spoolDir is set
  bool keepAlive = true;
  bool wantsUpgrade() const;
  std::string header(const std::string& lower) const;
  std::string param(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> params(const std::string& name) const;  // changes=..&changes=.., names=..
  // docker's query booleans (moby's httputils.BoolValue): false when absent or, after trimming
  // and lower-casing, "", "0", "no", "false" or "none"; any other value is true.
  bool flag(const std::string& name) const;
};

// Reads one request; nullopt at a clean end of the connection (or an idle one timed out).
// `leftover` holds bytes read past the request (pipelining or a hijacked stream's first
// bytes). `headerDone` runs once the header is in. A passed deadline closes the stream and
// gives kTimeout.
asio::awaitable<Result<std::optional<Request>>> readRequest(Stream& s, std::string& leftover, const Limits& limits,
                                                            const std::function<void()>& headerDone = {});

// After an answer to a request that was not read whole (a header or body over its limit):
// reads and drops what the client still sends (at most `limit` bytes, for at most `linger`)
// before closing, as Go's server does. Closing with unread bytes resets the connection, and
// the client never sees the answer.
asio::awaitable<void> lingerClose(Stream& s, std::chrono::milliseconds linger = std::chrono::seconds(2),
                                  size_t limit = size_t{4} << 20);

// "/v1.45/containers/json" -> version 1.45, path /containers/json; error above 1.50.
Status splitVersion(std::string target, Request& r);
// The request's upload body as a file: the one it was spooled to, or a new one in `dir`
// holding Request::body (read without a spool directory).
Result<std::shared_ptr<SpoolFile>> uploadFile(Request& r, const std::string& dir);

// Uploads (image loads, archives, builds, imports) as against JSON bodies.
bool isUploadTarget(std::string_view target);
// The body limit for a request target: uploads get uploadBytes, everything else (JSON) bodyBytes.
size_t bodyLimitFor(const std::string& target, const Limits& limits);
std::string percentDecode(std::string_view s);

// Routing by plain string parsing (no std::regex: libstdc++'s recurses once per character of
// a hostile path). "/containers/abc/start" after "/containers/" -> {"abc", "start"}; `rest`
// is empty when nothing follows the id, and may hold further slashes. nullopt when `path`
// does not start with `prefix` or the id is empty.
struct Route {
  std::string id;
  std::optional<std::string> rest;
};
std::optional<Route> routeAfter(std::string_view path, std::string_view prefix);
bool isLowerWord(std::string_view s);  // [a-z]*

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

// Caps the connections an endpoint serves. A connection over the cap makes room by closing
// the oldest one that is idle or still sending its header (cheap for an honest client to
// redo, the whole of a slowloris); connections answering a request, streaming or hijacked
// are never closed for room.
class ConnectionLimiter {
 public:
  class Slot;
  explicit ConnectionLimiter(size_t max);
  // nullptr when the cap is reached and no connection can be closed to make room.
  std::shared_ptr<Slot> admit(std::function<void()> close);
  size_t open() const;  // admitted and not closed for room

 private:
  struct State;
  std::shared_ptr<State> state_;
};

class ConnectionLimiter::Slot {
 public:
  Slot(std::shared_ptr<State> state, std::function<void()> close);
  ~Slot();
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  void setClose(std::function<void()> close) { close_ = std::move(close); }
  void setBusy(bool busy) { busy_ = busy; }

 private:
  friend class ConnectionLimiter;
  std::shared_ptr<State> state_;
  std::function<void()> close_;
  bool busy_ = false, evicted_ = false;
};

}  // namespace vic::docker
