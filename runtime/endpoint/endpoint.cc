#include "runtime/endpoint/endpoint.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <filesystem>
#include <fstream>

#include "common/io_thread.h"
#include "common/log.h"
#include "common/net.h"
#include "hypervisor/libvirt_hypervisor.h"
#include "hypervisor/resource_pool.h"
#include "images/image_store.h"
#include "images/registry_policy.h"
#include "runtime/docker/accept.h"
#include "runtime/docker/api.h"
#include "runtime/docker/listen.h"
#include "runtime/portlayer/port_layer.h"
#include "runtime/portlayer/vsock_cid.h"
#include "runtime/vch/endpoint_record.h"
#include "vsock/transport.h"

namespace vic::endpoint {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

asio::awaitable<void> serveTls(asio::ip::tcp::socket s, asio::ssl::context& ctx, docker::DockerApi& api,
                               std::shared_ptr<docker::ConnectionLimiter::Slot> slot) {
  asio::ssl::stream<asio::ip::tcp::socket> tls(std::move(s), ctx);
  auto closeSocket = [&tls] {
    boost::system::error_code ec;
    tls.next_layer().close(ec);
  };
  slot->setClose(closeSocket);  // a client still in its handshake may be closed for room
  docker::Deadline deadline(co_await asio::this_coro::executor);
  deadline.arm(kHandshakeTimeout, closeSocket);
  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
  deadline.disarm();
  slot->setClose(nullptr);
  if (ec) co_return;
  co_await api.serve(docker::tlsStream(std::move(tls)), std::move(slot));
}

// Each TCP connection takes a slot first: over the cap, the oldest idle one makes room or
// the new one is closed at once.
void onTcpSocket(asio::ip::tcp::socket s, asio::ssl::context* tls, docker::DockerApi& api,
                 docker::ConnectionLimiter& limiter) {
  auto slot = limiter.admit(nullptr);
  if (!slot) {
    static auto lastLog = std::chrono::steady_clock::time_point();
    if (std::chrono::steady_clock::now() - lastLog > std::chrono::seconds(10)) {
      lastLog = std::chrono::steady_clock::now();
      log::warn("endpoint", "refusing connections: " + std::to_string(limiter.open()) + " are open and all busy");
    }
    return;  // the socket closes as it goes
  }
  auto ex = s.get_executor();
  if (tls) asio::co_spawn(ex, serveTls(std::move(s), *tls, api, std::move(slot)), asio::detached);
  else asio::co_spawn(ex, api.serve(docker::tcpStream(std::move(s)), std::move(slot)), asio::detached);
}

// Descriptors are what silent connections exhaust first: take all the hard limit allows, and
// serve at most about half of them as connections (the rest are VMs' channels, disks, libvirt).
size_t raiseFdLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised{rl.rlim_max, rl.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    else log::warn("endpoint", std::string("raising the descriptor limit: ") + std::strerror(errno));
  }
  return static_cast<size_t>(rl.rlim_cur);
}

size_t connectionCap(size_t fdLimit) {
  constexpr size_t kMax = 1024, kMin = 64;
  size_t half = fdLimit > 256 ? (fdLimit - 256) / 2 : 0;
  return std::clamp(half, kMin, kMax);
}

// The API's TLS: clients must present a certificate of the VCH's CA unless --no-tlsverify.
Result<std::unique_ptr<asio::ssl::context>> tlsContext(const vch::TlsConfig& t) {
  auto ctx = docker::serverTlsContext(t.cert, t.key);
  if (!ctx || !t.verifyClient) return ctx;
  boost::system::error_code ec;
  (*ctx)->load_verify_file(t.ca, ec);
  if (!ec) (*ctx)->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return Error(Errc::kInvalidArgument, "TLS client CA (" + t.ca + "): " + ec.message());
  return ctx;
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

// The VCH's insecure registries and, with --registry-ca, a CA bundle made at each start from
// curl's default CAs (as the host has them now) and the VCH's registry CAs.
Result<images::RegistryPolicy> registryPolicy(const vch::VchConfig& cfg) {
  images::RegistryPolicy p{cfg.insecureRegistries, ""};
  if (cfg.registryCa.empty()) return p;
  p.caFile = cfg.datastore + "/certs/registry-ca-bundle.pem";
  if (auto st = images::writeCaBundle(cfg.registryCa, p.caFile); !st) return std::move(st).error().wrap("the registry CA bundle");
  return p;
}

// A host reboot takes the resource pool's cgroup partition away and libvirt does not make it
// again: the endpoint does, with the limits in vch.json, before any container starts.
Status ensurePool(const vch::VchConfig& cfg) {
  if (cfg.pool.empty()) return ok();
  if (auto st = hv::ResourcePools().create(cfg.pool, vch::poolLimits(cfg)); !st) return std::move(st).error().wrap("the resource pool");
  return ok();
}

}  // namespace

Status run(const vch::VchConfig& cfg) {
  size_t fdLimit = raiseFdLimit();
  if (auto st = ensurePool(cfg); !st) return st;
  auto hv = hv::LibvirtHypervisor::connect(cfg.target);
  if (!hv) return std::move(hv).error().wrap("connecting to " + cfg.target);
  auto ds = hv::Datastore::open(cfg.datastore);
  if (!ds) return std::move(ds).error();
  auto store = images::ImageStore::open(*ds);
  if (!store) return std::move(store).error();
  asio::io_context io;
  pl::PortLayerOptions opts{cfg.name, cfg.kernel, cfg.bootstrap, cfg.pool, std::chrono::seconds(90), vch::runDir(cfg.name)};
  opts.instantClone = cfg.instantClone;
  // The tether transport, once for the endpoint's life: AF_VSOCK when this host has vhost-vsock.
  const char* forced = std::getenv(pl::kTransportEnv);
  auto transport = pl::chooseTetherTransport(vsock::hostHasVsock(), forced ? forced : "");
  if (!transport) return std::move(transport).error();
  opts.vsock = transport->vsock;
  log::info("endpoint", "tether transport: " + transport->description);
  pl::Networks nets(**hv, cfg.name, cfg.datastore + "/networks");
  if (auto st = addNetworks(nets, cfg); !st) return st;
  pl::Volumes vols(cfg.volumeStores);
  if (auto st = vols.load(); !st) return st;
  pl::IptablesFirewall firewall(cfg.name);
  pl::PortLayer portLayer(io, **hv, *ds, **store, nets, vols, firewall, opts);
  if (auto st = portLayer.recover(); !st) return st;
  auto host = (*hv)->hostInfo();
  docker::ApiInfo info{cfg.name, cfg.name, cfg.cpus, cfg.memoryMiB << 20, cfg.insecureRegistries,
                       transport->description, host ? host->accelerator : ""};
  if (info.ncpu == 0 && host) info.ncpu = host->cpus;
  if (info.memTotal == 0 && host) info.memTotal = host->memoryBytes;
  if (auto st = vch::writeEndpointRecord(cfg.name, {info.tetherTransport, info.accelerator}); !st) {  // for vic-machine inspect
    log::warn("endpoint", st.error().message());
  }
  BlockingPool blocking;  // image pulls, loads, saves and commits run here, off the I/O thread
  pl::ExecSessions execs(portLayer);
  auto registries = registryPolicy(cfg);
  if (!registries) return std::move(registries).error();
  pl::ImageOps imageOps(portLayer, **store, blocking, *registries);
  docker::DockerApi api(io, portLayer, **store, info, execs, imageOps);
  docker::ConnectionLimiter limiter(connectionCap(fdLimit));

  std::error_code fec;
  fs::remove(cfg.unixSocket, fec);
  asio::local::stream_protocol::acceptor unixAcceptor(io, asio::local::stream_protocol::endpoint(cfg.unixSocket));
  ::chmod(cfg.unixSocket.c_str(), 0660);
  auto onUnix = [&api](asio::local::stream_protocol::socket sock) {
    auto ex = sock.get_executor();
    asio::co_spawn(ex, api.serve(docker::unixStream(std::move(sock))), asio::detached);
  };
  asio::co_spawn(io, docker::acceptLoop(unixAcceptor, onUnix), asio::detached);
  std::unique_ptr<asio::ip::tcp::acceptor> tcpAcceptor;
  std::unique_ptr<asio::ssl::context> tls;
  if (!cfg.tcpAddress.empty()) {
    auto ep = docker::parseTcpEndpoint(cfg.tcpAddress, "TCP address");
    if (!ep) return std::move(ep).error();
    if (cfg.tls.enabled) {
      auto ctx = tlsContext(cfg.tls);
      if (!ctx) return std::move(ctx).error();
      tls = std::move(*ctx);
    }
    tcpAcceptor = std::make_unique<asio::ip::tcp::acceptor>(io, *ep, true);
    auto onTcp = [&api, &limiter, ctx = tls.get()](asio::ip::tcp::socket sock) { onTcpSocket(std::move(sock), ctx, api, limiter); };
    asio::co_spawn(io, docker::acceptLoop(*tcpAcceptor, onTcp), asio::detached);
    if (!ep->address().is_loopback() && !(cfg.tls.enabled && cfg.tls.verifyClient)) {
      log::warn("endpoint", "the Docker API on " + cfg.tcpAddress + " does not verify its clients: anyone who reaches it controls this VCH");
    }
  }
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](auto, int) { io.stop(); });
  ::signal(SIGPIPE, SIG_IGN);
  log::info("endpoint", "VCH " + cfg.name + " serving on " + cfg.unixSocket +
                            (cfg.tcpAddress.empty() ? "" : " and " + cfg.tcpAddress) + " (descriptor limit " +
                            std::to_string(fdLimit) + ", at most " + std::to_string(connectionCap(fdLimit)) + " TCP connections)");
  {
    IoThreadScope ioThread;  // the hypervisor and other blocking code refuse to run here
    io.run();
  }
  log::info("endpoint", "stopping");
  return ok();
}

}  // namespace vic::endpoint
