#include "runtime/docker/listen.h"

#include <cstdlib>

namespace vic::docker {
namespace asio = boost::asio;

Result<asio::ip::tcp::endpoint> parseTcpEndpoint(const std::string& hostPort, const std::string& what) {
  auto colon = hostPort.rfind(':');
  if (colon == std::string::npos) return Error(Errc::kInvalidArgument, what + " must be host:port: " + hostPort);
  std::string host = hostPort.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  int port = std::atoi(hostPort.substr(colon + 1).c_str());
  if (ec || port <= 0 || port > 65535) return Error(Errc::kInvalidArgument, "bad " + what + " " + hostPort);
  return asio::ip::tcp::endpoint(addr, static_cast<uint16_t>(port));
}

Result<std::unique_ptr<asio::ssl::context>> serverTlsContext(const std::string& cert, const std::string& key) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                       asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) ctx->use_certificate_chain_file(cert, ec);
  if (!ec) ctx->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec) return Error(Errc::kInvalidArgument, "TLS setup (" + cert + "): " + ec.message());
  return ctx;
}

}  // namespace vic::docker
