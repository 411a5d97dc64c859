#include "runtime/endpoint/endpoint.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <filesystem>
#include <fstream>

#include "common/log.h"
#include "common/net.h"
#include "hypervisor/libvirt_hypervisor.h"
#include "hypervisor/resource_pool.h"
#include "images/image_store.h"
#include "runtime/docker/api.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::endpoint {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

asio::awaitable<void> acceptUnix(asio::local::stream_protocol::acceptor& a, docker::DockerApi& api) {
  while (true) {
    auto [ec, s] = co_await a.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    asio::co_spawn(a.get_executor(), api.serve(docker::unixStream(std::move(s))), asio::detached);
  }
}

asio::awaitable<void> serveTls(asio::ip::tcp::socket s, asio::ssl::context& ctx, docker::DockerApi& api) {
  asio::ssl::stream<asio::ip::tcp::socket> tls(std::move(s), ctx);
  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
  if (ec) co_return;
  co_await api.serve(docker::tlsStream(std::move(tls)));
}

asio::awaitable<void> acceptTcp(asio::ip::tcp::acceptor& a, asio::ssl::context* tls, docker::DockerApi& api) {
  while (true) {
    auto [ec, s] = co_await a.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (tls) asio::co_spawn(a.get_executor(), serveTls(std::move(s), *tls, api), asio::detached);
    else asio::co_spawn(a.get_executor(), api.serve(docker::tcpStream(std::move(s))), asio::detached);
  }
}

Result<std::unique_ptr<asio::ssl::context>> tlsContext(const vch::TlsConfig& t) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                   asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1, ec);
  ctx->use_certificate_chain_file(t.cert, ec);
  if (!ec) ctx->use_private_key_file(t.key, asio::ssl::context::pem, ec);
  if (!ec && t.verifyClient) {
    ctx->load_verify_file(t.ca, ec);
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
  }
  if (ec) return Error(Errc::kInvalidArgument, "TLS setup (" + t.cert + "): " + ec.message());
  return ctx;
}

Result<asio::ip::tcp::endpoint> tcpEndpoint(const std::string& hostPort) {
  auto colon = hostPort.rfind(':');
  if (colon == std::string::npos) return Error(Errc::kInvalidArgument, "TCP address must be host:port: " + hostPort);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(hostPort.substr(0, colon), ec);
  if (ec) return Error(Errc::kInvalidArgument, "bad TCP address " + hostPort);
  return asio::ip::tcp::endpoint(addr, static_cast<uint16_t>(std::atoi(hostPort.substr(colon + 1).c_str())));
}

// The VCH's own networks: its bridge ("bridge" to docker), its container networks, then the
// ones users made.
Status addNetworks(pl::Networks& nets, const vch::VchConfig& cfg) {
  auto range = parseCidr(cfg.bridgeRange);
  if (!range) return std::move(range).error().wrap("the VCH's bridge range");
  pl::Scope bridge;
  bridge.name = "bridge";
  bridge.subnet = bridge.pool = *range;
  bridge.gateway = range->base + 1;
  bridge.portGroup = cfg.bridgeNetwork;
  bridge.bridge = vch::bridgeDevice(cfg.name);
  if (auto st = nets.addBuiltin(bridge); !st) return st;
  for (const auto& n : cfg.containerNetworks) {
    pl::Scope s;
    s.name = n.alias;
    s.kind = "external";
    auto gw = parseCidr(n.gateway);
    auto gwIp = parseIp(n.gateway.substr(0, n.gateway.find('/')));
    auto pool = parseCidr(n.ipRange.empty() ? n.gateway : n.ipRange);
    if (!gw || !gwIp || !pool) return Error(Errc::kInvalidArgument, "container network " + n.alias + ": bad gateway or ip range");
    s.subnet = *gw;
    s.gateway = *gwIp;
    s.pool = *pool;
    s.dns = n.dns;
    s.portGroup = cfg.name + "-cn-" + n.alias;
    s.bridge = n.bridge;
    if (auto st = nets.addBuiltin(s); !st) return st;
  }
  return nets.load();
}

}  // namespace

Status run(const vch::VchConfig& cfg) {
  auto hv = hv::LibvirtHypervisor::connect(cfg.target);
  if (!hv) return std::move(hv).error().wrap("connecting to " + cfg.target);
  auto ds = hv::Datastore::open(cfg.datastore);
  if (!ds) return std::move(ds).error();
  auto store = images::ImageStore::open(*ds);
  if (!store) return std::move(store).error();
  asio::io_context io;
  pl::PortLayerOptions opts{cfg.name, cfg.kernel, cfg.bootstrap, cfg.pool, std::chrono::seconds(90), vch::runDir(cfg.name)};
  pl::Networks nets(**hv, cfg.name, cfg.datastore + "/networks");
  if (auto st = addNetworks(nets, cfg); !st) return st;
  pl::Volumes vols(cfg.volumeStores);
  if (auto st = vols.load(); !st) return st;
  pl::PortLayer portLayer(io, **hv, *ds, **store, nets, vols, opts);
  if (auto st = portLayer.recover(); !st) return st;
  docker::ApiInfo info{cfg.name, cfg.name, cfg.cpus, cfg.memoryMiB << 20, cfg.insecureRegistries};
  auto host = (*hv)->hostInfo();
  if (info.ncpu == 0 && host) info.ncpu = host->cpus;
  if (info.memTotal == 0 && host) info.memTotal = host->memoryBytes;
  docker::DockerApi api(io, portLayer, **store, info);

  std::error_code fec;
  fs::remove(cfg.unixSocket, fec);
  asio::local::stream_protocol::acceptor unixAcceptor(io, asio::local::stream_protocol::endpoint(cfg.unixSocket));
  ::chmod(cfg.unixSocket.c_str(), 0660);
  asio::co_spawn(io, acceptUnix(unixAcceptor, api), asio::detached);
  std::unique_ptr<asio::ip::tcp::acceptor> tcpAcceptor;
  std::unique_ptr<asio::ssl::context> tls;
  if (!cfg.tcpAddress.empty()) {
    auto ep = tcpEndpoint(cfg.tcpAddress);
    if (!ep) return std::move(ep).error();
    if (cfg.tls.enabled) {
      auto ctx = tlsContext(cfg.tls);
      if (!ctx) return std::move(ctx).error();
      tls = std::move(*ctx);
    }
    tcpAcceptor = std::make_unique<asio::ip::tcp::acceptor>(io, *ep, true);
    asio::co_spawn(io, acceptTcp(*tcpAcceptor, tls.get(), api), asio::detached);
  }
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](auto, int) { io.stop(); });
  ::signal(SIGPIPE, SIG_IGN);
  log::info("endpoint", "VCH " + cfg.name + " serving on " + cfg.unixSocket +
                            (cfg.tcpAddress.empty() ? "" : " and " + cfg.tcpAddress));
  io.run();
  log::info("endpoint", "stopping");
  return ok();
}

}  // namespace vic::endpoint
