// The build host of a VCH: base images from its image store (pulled through ImageOps), each RUN
// in a containerVM of the VCH (an instant clone where a template fits) committed as a layer, COPY
// through a created (never started) container's disk, as docker cp into a stopped container does.
// Every container a step makes is removed when the step ends, whatever happened.
#pragma once

#include "images/image_store.h"
#include "runtime/build/build_host.h"
#include "runtime/portlayer/image_ops.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::build {

class VchBuildHost : public BuildHost {
 public:
  VchBuildHost(pl::PortLayer& pl, pl::ImageOps& ops, images::ImageStore& images, images::RegistryOptions registry)
      : pl_(pl), ops_(ops), images_(images), registry_(std::move(registry)) {}

  asio::awaitable<Result<ImageState>> image(std::string ref, bool pull, Output out) override;
  asio::awaitable<Result<RunResult>> run(ImageState from, RunStep step, Output out) override;
  asio::awaitable<Result<NewLayer>> copy(ImageState from, std::string dest, TarMaker makeTar) override;
  asio::awaitable<Status> readFiles(ImageState from, std::string path, std::string tarFile) override;
  bool hasLayer(const std::string& chainId) override { return images_.layers().has(chainId); }
  asio::awaitable<Result<std::string>> record(ImageState img, std::vector<std::string> tags) override;

 private:
  // A container of `from` running `argv` (never started for COPY): created, or why not.
  asio::awaitable<Result<std::string>> container(const ImageState& from, const RunStep& step);
  asio::awaitable<void> removeContainer(std::string id);
  asio::awaitable<Result<NewLayer>> commit(const std::string& id);
  asio::awaitable<bool> streamOutput(const std::string& id, uint64_t& offset, const Output& out);

  pl::PortLayer& pl_;
  pl::ImageOps& ops_;
  images::ImageStore& images_;
  images::RegistryOptions registry_;
};

}  // namespace vic::build
