// What a docker build step needs from the VCH: base images, a step's process in a containerVM,
// files put into or read out of an image, and the built image's record. VchBuildHost is the real
// one (runtime/build/vch_build_host.h, containerVMs of this VCH); the builder's unit tests use a
// fake. Nothing here runs on the host's own filesystem but the build context.
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::build {

namespace asio = boost::asio;

// An image as a step sees it: docker's image config (architecture, os, config, rootfs, history)
// and its top layer. Between steps nothing is recorded: only the build's result becomes an image.
struct ImageState {
  nlohmann::json config = nlohmann::json::object();
  std::string topLayer;  // chain id of the last layer ("" for scratch)
};

// A RUN step's process.
struct RunStep {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // K=V: the image's, then the build args in scope
  std::string user, workdir;
};

struct NewLayer {
  std::string diffId;   // sha256:... of the layer's tar
  std::string chainId;  // the new top layer
};

struct RunResult {
  int exitCode = 0;
  NewLayer layer;  // when exitCode is 0
};

// Text for the client ("stream" lines); false: the client has gone.
using Output = std::function<asio::awaitable<bool>(std::string text)>;

class BuildHost {
 public:
  virtual ~BuildHost() = default;
  // FROM and COPY --from=<image>: an image by reference or id, pulled when missing (always,
  // with `pull`); pull progress goes to `out`.
  virtual asio::awaitable<Result<ImageState>> image(std::string ref, bool pull, Output out) = 0;
  // RUN: the process in a containerVM of `from`; its stdout and stderr to `out`.
  virtual asio::awaitable<Result<RunResult>> run(ImageState from, RunStep step, Output out) = 0;
  // COPY/ADD: `makeTar(destIsDir)` writes the tar (names from /) once the host knows whether
  // `dest` is a directory in `from`; its entries are put into the image: the layer they make.
  using TarMaker = std::function<Result<std::string>(bool destIsDir)>;
  virtual asio::awaitable<Result<NewLayer>> copy(ImageState from, std::string dest, TarMaker makeTar) = 0;
  // COPY --from: `path` of `from` as docker cp gives it (its last name at the top) into `tarFile`.
  virtual asio::awaitable<Status> readFiles(ImageState from, std::string path, std::string tarFile) = 0;
  // Whether a layer (a cached step's) is still in the store.
  virtual bool hasLayer(const std::string& chainId) = 0;
  // The built image recorded under `tags` (normalised references): its id.
  virtual asio::awaitable<Result<std::string>> record(ImageState img, std::vector<std::string> tags) = 0;
};

}  // namespace vic::build
