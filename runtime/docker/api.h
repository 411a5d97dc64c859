// The Docker API personality: serves one connection at a time per coroutine, routes each
// request to a handler that parses it, runs one port-layer operation and maps the result or
// the error to docker's answer. Handlers live by resource: containers (container_api.cc,
// container_io_api.cc), exec (exec_api.cc), images (image_api.cc), networks, volumes, files
// (archive_api.cc), the registry routes (registry_api.cc: push, login) and the system routes
// (system_api.cc).
#pragma once

#include <boost/asio.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <string>

#include "images/image_store.h"
#include "runtime/docker/http.h"
#include "runtime/docker/network_json.h"
#include "runtime/portlayer/exec_sessions.h"
#include "runtime/portlayer/image_ops.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::docker {

struct ApiInfo {
  std::string name, id;      // the VCH
  int ncpu = 0;
  uint64_t memTotal = 0;
  std::vector<std::string> insecureRegistries;
  std::string tetherTransport;  // how the host reaches tether: "AF_VSOCK (...)" or "virtio-serial (...)"
  std::string accelerator;      // the containerVMs': "kvm" or "tcg"
};

class DockerApi {
 public:
  DockerApi(asio::io_context& io, pl::PortLayer& pl, images::ImageStore& images, ApiInfo info, pl::ExecSessions& execs,
            pl::ImageOps& imageOps);
  // Serves one connection until it ends. `slot` (from the endpoint's ConnectionLimiter) may
  // close it for room while it waits for or reads a request header.
  asio::awaitable<void> serve(std::unique_ptr<Stream> s, std::shared_ptr<ConnectionLimiter::Slot> slot = nullptr);

 private:
  struct Ctx;
  asio::awaitable<void> dispatch(Ctx& c);
  asio::awaitable<void> serveRequest(Ctx& c);
  // system (system_api.cc)
  asio::awaitable<void> ping(Ctx& c);
  asio::awaitable<void> version(Ctx& c);
  asio::awaitable<void> events(Ctx& c);
  nlohmann::json info();
  asio::awaitable<void> systemDf(Ctx& c);
  asio::awaitable<void> pruneBuildCache(Ctx& c);
  // containers (container_api.cc)
  asio::awaitable<void> containerRoute(Ctx& c, const std::string& id, const std::string& op);
  asio::awaitable<void> create(Ctx& c);
  asio::awaitable<void> stop(Ctx& c, const pl::ContainerInfo& found, bool restart);
  asio::awaitable<void> kill(Ctx& c, const std::string& ref, const std::string& id);
  asio::awaitable<void> resize(Ctx& c, const std::string& id);
  asio::awaitable<void> top(Ctx& c, const std::string& id);
  asio::awaitable<void> rename(Ctx& c, const std::string& id);
  asio::awaitable<void> remove(Ctx& c, const std::string& id);
  asio::awaitable<void> update(Ctx& c, const std::string& id);
  asio::awaitable<void> wait(Ctx& c, const std::string& id);
  asio::awaitable<void> listContainers(Ctx& c);
  asio::awaitable<void> pruneContainers(Ctx& c);
  asio::awaitable<void> listImages(Ctx& c);
  asio::awaitable<void> changes(Ctx& c, const std::string& id);
  ContainerView containerView(const pl::ContainerInfo& c);
  // attach, logs, stats (container_io_api.cc)
  asio::awaitable<void> attach(Ctx& c, const std::string& id);
  asio::awaitable<void> logs(Ctx& c, const std::string& id);
  asio::awaitable<void> stats(Ctx& c, const std::string& id);
  asio::awaitable<void> pump(Ctx& c, const pl::SessionStreams& s, bool tty, bool multiplexed);
  // exec (exec_api.cc)
  asio::awaitable<void> execCreate(Ctx& c, const std::string& containerId);
  asio::awaitable<void> execRoute(Ctx& c, const std::string& id, const std::string& op);
  asio::awaitable<void> execStart(Ctx& c, const std::string& id);
  // images (image_api.cc)
  asio::awaitable<void> imageRoute(Ctx& c);
  asio::awaitable<void> pull(Ctx& c);
  asio::awaitable<void> load(Ctx& c);
  asio::awaitable<void> commit(Ctx& c);
  asio::awaitable<void> history(Ctx& c, const std::string& ref);
  asio::awaitable<void> save(Ctx& c, std::vector<std::string> refs);
  asio::awaitable<void> tag(Ctx& c, const std::string& ref);
  asio::awaitable<void> removeImage(Ctx& c, const std::string& ref);
  asio::awaitable<void> pruneImages(Ctx& c);
  asio::awaitable<void> build(Ctx& c);  // build_api.cc
  // rmi and save, with the image events dockerd logs for them
  asio::awaitable<Result<std::vector<images::DeleteEntry>>> removeAndLog(std::string ref, bool force);
  asio::awaitable<Status> saveAndLog(std::vector<std::string> refs, const pl::PortLayer::ChunkSink& out);
  void publishPullEvent(const std::string& ref);
  // docker push and login (registry_api.cc)
  asio::awaitable<void> push(Ctx& c, const std::string& name);
  asio::awaitable<void> auth(Ctx& c);
  void publishPushEvent(const std::string& ref);
  nlohmann::json imageConfig(const std::string& id);
  // networks (network_api.cc), volumes (volume_api.cc)
  asio::awaitable<void> networkRoute(Ctx& c);
  asio::awaitable<void> networkConnect(Ctx& c, const pl::Scope& s, bool connect);
  asio::awaitable<void> volumeRoute(Ctx& c);
  // docker cp and export (archive_api.cc)
  asio::awaitable<void> archive(Ctx& c, const std::string& id);
  asio::awaitable<void> exportContainer(Ctx& c, const std::string& id);
  // A tar answer from `produce`, which hands its pieces to the sink it is given.
  using TarProducer = std::function<asio::awaitable<Status>(const pl::PortLayer::ChunkSink&)>;
  asio::awaitable<void> streamTar(Ctx& c, const std::string& header, const TarProducer& produce);

  asio::io_context& io_;
  pl::PortLayer& pl_;
  images::ImageStore& images_;
  ApiInfo info_;
  pl::ExecSessions& execs_;
  pl::ImageOps& imageOps_;
};

}  // namespace vic::docker
