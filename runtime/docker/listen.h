// What an HTTPS listener of a VCH (the Docker API, vicadmin) is made from: its TCP address and
// its server TLS context. Each caller adds its own client-certificate rule.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <string>

#include "common/result.h"

namespace vic::docker {

// "host:port" ("[v6]:port" too) -> an endpoint; a bad address or a port outside 1-65535 fails,
// naming `what` (e.g. "the API address").
Result<boost::asio::ip::tcp::endpoint> parseTcpEndpoint(const std::string& hostPort, const std::string& what);

// A TLS server context: TLS 1.2 and later, the certificate chain and key from PEM files.
Result<std::unique_ptr<boost::asio::ssl::context>> serverTlsContext(const std::string& cert, const std::string& key);

}  // namespace vic::docker
