// vic-admin's daemon: the listener (TLS with the VCH's server certificate, client
// certificates requested but optional), the sampler and the signals.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <boost/asio/ssl.hpp>
#include <csignal>

#include "common/io_thread.h"
#include "common/log.h"
#include "runtime/docker/accept.h"
#include "runtime/docker/listen.h"
#include "runtime/vicadmin/server.h"

namespace vic::vicadmin {

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr size_t kMaxConnections = 128;

// Server certificate and key; client certificates of the VCH's CA are asked for, not required.
Result<std::unique_ptr<asio::ssl::context>> tlsContext(const vch::TlsConfig& t) {
  auto made = docker::serverTlsContext(t.cert, t.key);
  if (!made) return made;
  auto ctx = std::move(*made);
  boost::system::error_code ec;
  struct stat st{};
  if (!t.ca.empty() && ::stat(t.ca.c_str(), &st) == 0) {
    ctx->load_verify_file(t.ca, ec);
    if (!ec) ctx->set_verify_mode(asio::ssl::verify_peer, ec);  // without fail_if_no_peer_cert: a token login remains
    if (ec) return Error(Errc::kInvalidArgument, "TLS client CA (" + t.ca + "): " + ec.message());
    SSL_CTX_set_purpose(ctx->native_handle(), X509_PURPOSE_SSL_CLIENT);  // a client certificate, not the server's
    static const unsigned char kSessionContext[] = "vicadmin";
    SSL_CTX_set_session_id_context(ctx->native_handle(), kSessionContext, sizeof kSessionContext - 1);
  }
  return ctx;
}

std::string peerAddress(const asio::ip::tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "" : ep.address().to_string();
}

bool verifiedClient(SSL* ssl) { return SSL_get0_peer_certificate(ssl) != nullptr && SSL_get_verify_result(ssl) == X509_V_OK; }

asio::awaitable<void> serveTls(asio::ip::tcp::socket s, asio::ssl::context& ctx, AdminServer& server,
                               std::shared_ptr<docker::ConnectionLimiter::Slot> slot) {
  std::string peer = peerAddress(s);
  asio::ssl::stream<asio::ip::tcp::socket> tls(std::move(s), ctx);
  auto closeSocket = [&tls] {
    boost::system::error_code ec;
    tls.next_layer().close(ec);
  };
  docker::Deadline deadline(co_await asio::this_coro::executor);
  deadline.arm(kHandshakeTimeout, closeSocket);
  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
  deadline.disarm();
  if (ec) co_return;
  bool cert = verifiedClient(tls.native_handle());
  co_await server.serve(docker::tlsStream(std::move(tls)), true, cert, std::move(peer));
  slot.reset();
}

asio::awaitable<void> serveTcp(asio::ip::tcp::socket s, AdminServer& server, std::shared_ptr<docker::ConnectionLimiter::Slot> slot) {
  auto held = std::move(slot);  // the connection counts until it ends
  std::string peer = peerAddress(s);
  co_await server.serve(docker::tcpStream(std::move(s)), false, false, std::move(peer));
}

}  // namespace

Status run(const vch::VchConfig& cfg, const RunOptions& opts) {
  std::string address = opts.address.empty() ? cfg.adminAddress : opts.address;
  if (address.empty()) return Error(Errc::kInvalidArgument, "no admin address: vch.json has no admin.address and --address was not given");
  auto ep = docker::parseTcpEndpoint(address, "admin address");
  if (!ep) return std::move(ep).error();
  std::unique_ptr<asio::ssl::context> tls;
  if (cfg.tls.enabled) {
    auto ctx = tlsContext(cfg.tls);
    if (!ctx) return std::move(ctx).error();
    tls = std::move(*ctx);
  }
  asio::io_context io;
  BlockingPool pool(4);
  auto probe = systemProbe(cfg, processRunner());
  ServerOptions sopts;
  sopts.sessionTtl = opts.sessionTtl;
  sopts.sampleInterval = opts.sampleInterval;
  AdminServer server(io, cfg, *probe, pool, sopts);
  boost::system::error_code ec;
  asio::ip::tcp::acceptor acceptor(io);
  acceptor.open(ep->protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(*ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error(Errc::kUnavailable, "listening on " + address + ": " + ec.message());
  docker::ConnectionLimiter limiter(kMaxConnections);
  auto onSocket = [&server, &limiter, ctx = tls.get()](asio::ip::tcp::socket sock) {
    auto slot = limiter.admit(nullptr);
    if (!slot) return;
    auto ex = sock.get_executor();
    if (ctx) asio::co_spawn(ex, serveTls(std::move(sock), *ctx, server, std::move(slot)), asio::detached);
    else asio::co_spawn(ex, serveTcp(std::move(sock), server, std::move(slot)), asio::detached);
  };
  asio::co_spawn(io, docker::acceptLoop(acceptor, onSocket), asio::detached);
  asio::co_spawn(io, server.sampleLoop(), asio::detached);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](auto, int) {
    server.stop();
    acceptor.close();
    io.stop();
  });
  ::signal(SIGPIPE, SIG_IGN);
  if (!tls) log::warn("vicadmin", "serving plain HTTP on " + address + " (--no-tls): the token travels in the clear");
  log::info("vicadmin", "VCH " + cfg.name + " admin on " + (tls ? "https://" : "http://") + address);
  {
    IoThreadScope ioThread;
    io.run();
  }
  log::info("vicadmin", "stopping");
  return ok();
}

}  // namespace vic::vicadmin
