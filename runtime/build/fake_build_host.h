// FakeBuildHost: a BuildHost in memory for the builder's unit tests. Images are a config and a
// fake top layer by reference; RUN records its step and exits with the code the test chose;
// COPY reads the tar the builder wrote and keeps its entries; COPY --from gets the entries the
// test gave for a path; record() keeps the result. Layers are "sha256:<n>"-style fakes.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/build/build_host.h"

namespace vic::build {

// One tar entry: what COPY's tar held, or what readFiles() writes.
struct TarEntry {
  std::string name;
  std::string data;      // a regular file's bytes; a symlink's target
  mode_t mode = 0100644;  // type and permission bits
  uint32_t uid = 0, gid = 0;
};

class FakeBuildHost : public BuildHost {
 public:
  // An image FROM can name; its config is docker's image JSON.
  void addImage(const std::string& ref, nlohmann::json config, std::string topLayer = "") {
    images_[ref] = ImageState{std::move(config), std::move(topLayer)};
  }
  // A RUN whose last argument is `command` exits with `code` (0 otherwise).
  void exitCode(const std::string& command, int code) { exitCodes_[command] = code; }
  // copy(): `path` is a directory in every image.
  void directory(const std::string& path) { dirs_.insert(path); }
  // readFiles(path): the tar holds `entries`.
  void filesAt(const std::string& path, std::vector<TarEntry> entries) { files_[path] = std::move(entries); }
  // The store has lost this layer (a cached step that made it is a miss).
  void dropLayer(const std::string& chainId) { dropped_.insert(chainId); }

  // What happened.
  std::vector<std::string> pulled;        // image() references
  std::vector<RunStep> runs;
  struct Copy {
    std::string topLayer, dest;  // the image copied into, and where
    std::vector<TarEntry> entries;
  };
  std::vector<Copy> copies;
  std::vector<std::pair<std::string, std::string>> reads;  // readFiles(): {top layer, path}
  std::optional<ImageState> recorded;
  std::vector<std::string> tags;

  asio::awaitable<Result<ImageState>> image(std::string ref, bool pull, Output out) override;
  asio::awaitable<Result<RunResult>> run(ImageState from, RunStep step, Output out) override;
  asio::awaitable<Result<NewLayer>> copy(ImageState from, std::string dest, TarMaker makeTar) override;
  asio::awaitable<Status> readFiles(ImageState from, std::string path, std::string tarFile) override;
  bool hasLayer(const std::string& chainId) override { return !dropped_.count(chainId); }
  asio::awaitable<Result<std::string>> record(ImageState img, std::vector<std::string> tags) override;

 private:
  NewLayer newLayer();

  std::map<std::string, ImageState> images_;
  std::map<std::string, int> exitCodes_;
  std::set<std::string> dirs_, dropped_;
  std::map<std::string, std::vector<TarEntry>> files_;
  int layers_ = 0;
};

// A tar file's entries (libarchive), or why not.
Result<std::vector<TarEntry>> readTar(const std::string& file);
Status writeTar(const std::string& file, const std::vector<TarEntry>& entries);

}  // namespace vic::build
