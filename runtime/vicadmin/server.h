// vicadmin's HTTP(S) server: one coroutine per connection on the docker HTTP edge's reader
// (runtime/docker/http.h: its limits and deadlines), authentication (auth.h), the pages and
// their JSON twins, log following over server-sent events and the log bundle download.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "common/blocking.h"
#include "runtime/docker/http.h"
#include "runtime/vch/vch_config.h"
#include "runtime/vicadmin/auth.h"
#include "runtime/vicadmin/logs.h"
#include "runtime/vicadmin/probe.h"
#include "runtime/vicadmin/sampler.h"

namespace vic::vicadmin {

namespace asio = boost::asio;

struct ServerOptions {
  std::chrono::seconds sessionTtl{std::chrono::hours(8)};
  std::chrono::milliseconds sampleInterval{std::chrono::seconds(5)};
  std::chrono::milliseconds followPoll{std::chrono::milliseconds(500)};
  docker::Limits limits = adminLimits();
  // Small bodies (a login form), short header deadlines: vicadmin takes no uploads.
  static docker::Limits adminLimits();
};

// The headers every answer carries (CSP, framing, sniffing, referrer).
std::string securityHeaders();
// A whole answer with them (HEAD: no body).
std::string serializeAnswer(const docker::Response& r, bool head, bool keepAlive);

class AdminServer {
 public:
  AdminServer(asio::io_context& io, const vch::VchConfig& cfg, Probe& probe, BlockingPool& pool, ServerOptions opts,
              Auth::Now now = &Auth::Clock::now);
  // Serves one connection until it ends. `tls`: the stream is TLS (cookies are Secure);
  // `clientCert`: the peer presented a certificate the VCH's CA verified (no login needed).
  // `peer`: the client's address, which login slowing keys on.
  asio::awaitable<void> serve(std::unique_ptr<docker::Stream> s, bool tls, bool clientCert, std::string peer = "");
  // Samples the running containers' stats every sampleInterval until stop().
  asio::awaitable<void> sampleLoop();
  void stop();
  Auth& auth() { return auth_; }
  const Sampler& sampler() const { return sampler_; }
  LogFiles logFiles() const;

 private:
  struct Conn;
  asio::awaitable<void> handle(Conn& c);
  asio::awaitable<void> route(Conn& c);
  asio::awaitable<void> login(Conn& c);
  asio::awaitable<void> status(Conn& c, bool api);
  asio::awaitable<void> listing(Conn& c, const std::string& what, bool api);
  asio::awaitable<void> logs(Conn& c, bool api);
  asio::awaitable<void> logTail(Conn& c, bool api);
  asio::awaitable<void> follow(Conn& c);
  asio::awaitable<void> bundle(Conn& c);
  asio::awaitable<Result<LogRef>> findLog(const std::string& name);
  asio::awaitable<void> fail(Conn& c, bool api, const Error& e);

  asio::io_context& io_;
  vch::VchConfig cfg_;
  Probe& probe_;
  BlockingPool& pool_;
  ServerOptions opts_;
  Auth auth_;
  Sampler sampler_;
  bool stopped_ = false;
  std::shared_ptr<asio::steady_timer> sampleTimer_;
};

struct RunOptions {
  std::chrono::seconds sessionTtl{std::chrono::hours(8)};
  std::chrono::milliseconds sampleInterval{std::chrono::seconds(5)};
  std::string address;  // overrides cfg.adminAddress
};

// The daemon: listens on cfg.adminAddress (TLS with the VCH's server certificate unless
// --no-tls), runs until SIGTERM/SIGINT. Errors before serving are returned.
Status run(const vch::VchConfig& cfg, const RunOptions& opts);

}  // namespace vic::vicadmin
