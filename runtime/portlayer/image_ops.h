// The image operations behind docker pull, push, login, load, save, commit, tag and rmi: the work that
// blocks (registry downloads, tarballs, layer and record writes) runs on a BlockingPool and
// the caller resumes on its own executor; deciding whether a container uses an image is here.
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/blocking.h"
#include "common/result.h"
#include "images/image_store.h"
#include "images/puller.h"
#include "images/pusher.h"
#include "images/registry_policy.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::pl {

// docker commit: the container, the tag the image gets ("" for none) and the comment its event carries.
struct CommitSpec {
  std::string container, tag, comment;
  bool pause = true;  // a running container's VM is paused while its disk is read (docker commit --pause)
};

// The committed image's config bytes, from the container, its image's config and the new layer
// (the format is the personality's: docker writes its Config and history into it).
using ImageConfigMaker = std::function<Result<std::string>(const ContainerInfo& c, const std::string& baseConfig,
                                                           const images::LayerRecord& layer)>;

// The record of an image made of `base` plus `layer`, whose config is `configBytes`.
images::ImageRecord commitRecord(const images::ImageRecord& base, const images::LayerRecord& layer,
                                 const std::string& configBytes, int64_t nowNs);

// Per image id, the container that holds it: a running one over any stopped one.
std::map<std::string, images::ImageStore::User> imageUsers(const std::vector<ContainerInfo>& containers);

class ImageOps {
 public:
  // `registries`: which registries are insecure and the CA bundle for the others (the VCH's
  // --insecure-registry and --registry-ca). Every pull, push and login (docker build's FROM
  // pulls come through pull) takes its transport from images::registryOptionsFor with it.
  ImageOps(PortLayer& pl, images::ImageStore& images, BlockingPool& pool, images::RegistryPolicy registries = {})
      : pl_(pl), images_(images), pool_(pool), registries_(std::move(registries)) {}

  // One progress line at a time, on the caller's executor; false: the client is gone (the pull goes on).
  using LineSink = std::function<asio::awaitable<bool>(const std::string& line)>;
  // docker pull: JSON progress lines; a failure ends them with an error line.
  asio::awaitable<void> pull(std::string ref, images::PullOptions opts, LineSink out);
  // docker push of `name` (with a tag: that tag; without: every tag of the repository): JSON
  // progress lines; a failure ends them with an error line and is returned too.
  asio::awaitable<Status> push(std::string name, images::PushOptions opts, LineSink out);
  // docker login (POST /auth): are `creds` good at the registry `server`? kForbidden: refused.
  asio::awaitable<Status> login(std::string server, images::Credentials creds, images::RegistryOptions opts);
  // docker load of a tarball on the host's disk: the progress lines.
  asio::awaitable<Result<std::string>> load(std::string tarFile);
  // docker save: the tarball of `refs`, in pieces. An error before the first piece is returned
  // with nothing sent; after it, the output just ends.
  asio::awaitable<Status> save(std::vector<std::string> refs, const PortLayer::ChunkSink& out);
  // docker commit: the new image's id.
  asio::awaitable<Result<std::string>> commit(CommitSpec spec, ImageConfigMaker makeConfig);
  asio::awaitable<Status> tag(std::string ref, std::string newRef);
  // docker rmi: refused while a container uses the image (a stopped one unless forced).
  asio::awaitable<Result<std::vector<images::DeleteEntry>>> remove(std::string ref, bool force);
  // The pool image work runs on (docker build reads its context there too).
  BlockingPool& blocking() { return pool_; }

 private:
  asio::awaitable<Status> sendFile(const std::string& path, const PortLayer::ChunkSink& out);

  PortLayer& pl_;
  images::ImageStore& images_;
  BlockingPool& pool_;
  const images::RegistryPolicy registries_;
};

}  // namespace vic::pl
