// The Docker API personality: serves one connection at a time per coroutine, routes each
// request to a handler that parses, calls the port layer / image store, and maps errors.
#pragma once

#include <boost/asio.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <string>

#include "images/image_store.h"
#include "images/puller.h"
#include "runtime/docker/exec_registry.h"
#include "runtime/docker/http.h"
#include "runtime/docker/network_json.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::docker {

struct ApiInfo {
  std::string name, id;      // the VCH
  int ncpu = 0;
  uint64_t memTotal = 0;
  std::vector<std::string> insecureRegistries;
};

class DockerApi {
 public:
  DockerApi(asio::io_context& io, pl::PortLayer& pl, images::ImageStore& images, ApiInfo info);
  ~DockerApi();
  // Serves one connection until it ends. `slot` (from the endpoint's ConnectionLimiter) may
  // close it for room while it waits for or reads a request header.
  asio::awaitable<void> serve(std::unique_ptr<Stream> s, std::shared_ptr<ConnectionLimiter::Slot> slot = nullptr);

 private:
  struct Ctx;
  asio::awaitable<void> dispatch(Ctx& c);
  asio::awaitable<void> containerRoute(Ctx& c, const std::string& id, const std::string& op);
  asio::awaitable<void> imageRoute(Ctx& c);
  asio::awaitable<void> execRoute(Ctx& c, const std::string& id, const std::string& op);
  asio::awaitable<void> create(Ctx& c);
  asio::awaitable<void> pull(Ctx& c);
  asio::awaitable<void> load(Ctx& c);
  asio::awaitable<void> attach(Ctx& c, const std::string& id);
  asio::awaitable<void> wait(Ctx& c, const std::string& id);
  asio::awaitable<void> logs(Ctx& c, const std::string& id);
  asio::awaitable<void> events(Ctx& c);
  asio::awaitable<void> listContainers(Ctx& c);
  asio::awaitable<void> stats(Ctx& c, const std::string& id);
  asio::awaitable<void> execStart(Ctx& c, const std::string& id);
  // networks (network_api.cc)
  asio::awaitable<void> networkRoute(Ctx& c);
  asio::awaitable<void> volumeRoute(Ctx& c);  // volume_api.cc
  // docker diff, commit and save (image_api.cc)
  asio::awaitable<void> changes(Ctx& c, const std::string& id);
  asio::awaitable<void> commit(Ctx& c);
  asio::awaitable<void> history(Ctx& c, const std::string& ref);
  asio::awaitable<void> save(Ctx& c, const std::vector<std::string>& refs);
  // docker cp and export (archive_api.cc)
  asio::awaitable<void> archive(Ctx& c, const std::string& id);
  asio::awaitable<void> exportContainer(Ctx& c, const std::string& id);
  asio::awaitable<void> stream(Ctx& c, const std::string& header, const std::string& id, const std::string& path,
                               const vsock::SourceOptions& opts);
  asio::awaitable<void> networkConnect(Ctx& c, const pl::Scope& s, bool connect);
  ContainerView containerView(const pl::ContainerInfo& c);
  asio::awaitable<void> pump(Ctx& c, const pl::SessionStreams& s, bool tty, bool multiplexed);
  nlohmann::json info();
  nlohmann::json imageConfig(const std::string& id);

  asio::io_context& io_;
  pl::PortLayer& pl_;
  images::ImageStore& images_;
  ApiInfo info_;
  asio::thread_pool pullPool_{2};
  ExecRegistry execs_;
};

}  // namespace vic::docker
