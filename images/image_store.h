// ImageStore: images in the VCH's datastore. The image config blobs (images/configs/<id>.json)
// and one index (images/index.json: tags, repo digests, layer diff ids per image) written
// by temp + rename, with the layers in a LayerStore. Reopening removes anything a killed
// writer left half-done: configs no image lists, layers no image uses.
#pragma once

#include <functional>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "images/layer_store.h"

namespace vic::images {

struct ImageRecord {
  std::string id;                        // "sha256:<config digest>"
  std::vector<std::string> repoTags;     // normalised: docker.io/library/busybox:latest
  std::vector<std::string> repoDigests;  // docker.io/library/busybox@sha256:...
  std::vector<std::string> diffIds;
  int64_t created = 0;                   // unix seconds, from the config
  uint64_t size = 0;                     // sum of uncompressed layer sizes
  std::string topLayer() const;          // chain id of the last layer ("" for no layers)
};

// One entry of docker's image delete answer.
struct DeleteEntry {
  std::string untagged, deleted;
};

class ImageStore {
 public:
  static Result<std::unique_ptr<ImageStore>> open(hv::Datastore ds, LayerStoreOptions opts = {});

  LayerStore& layers() { return *layers_; }
  const LayerStore& layers() const { return *layers_; }
  std::string downloadDir() const { return dir() + "/downloads"; }  // emptied on open

  // docker's lookup: a reference (busybox, busybox:1, x@sha256:..), a full id, or an id prefix.
  Result<ImageRecord> find(const std::string& nameOrId) const;
  std::vector<ImageRecord> list() const;
  Result<std::string> config(const std::string& id) const;

  // Records an image whose layers are all in the store; `tag` and `digest` (normalised
  // references, may be empty) move to this image as in docker.
  Status commit(ImageRecord image, const std::string& configBytes, const std::string& tag, const std::string& repoDigest);
  Status tag(const std::string& nameOrId, const std::string& newRef);
  // docker push's digest reference: `repoDigest` (name@sha256:...) now names image `id`.
  Status addRepoDigest(const std::string& id, const std::string& repoDigest);
  // `userOf(id)`: a container that uses the image, if any (docker's conflicts: a stopped
  // user unless forced, a running one always).
  struct User {
    std::string container;
    bool running = false;
  };
  Result<std::vector<DeleteEntry>> remove(const std::string& nameOrId, bool force,
                                          const std::function<std::optional<User>(const std::string&)>& userOf);

 private:
  ImageStore(hv::Datastore ds, std::unique_ptr<LayerStore> layers) : ds_(std::move(ds)), layers_(std::move(layers)) {}
  Status load();
  Status save() const;  // the index, atomically
  void collectGarbage();
  Result<std::string> resolveId(const std::string& nameOrId) const;
  void dropReference(const std::string& ref);
  std::string dir() const { return ds_.root() + "/images"; }

  hv::Datastore ds_;
  std::unique_ptr<LayerStore> layers_;
  mutable std::mutex mu_;
  std::map<std::string, ImageRecord> images_;  // by id
};

// ImageRecord <-> the index JSON (pure; golden-tested).
std::string encodeIndex(const std::map<std::string, ImageRecord>& images);
Result<std::map<std::string, ImageRecord>> decodeIndex(const std::string& text);

}  // namespace vic::images
