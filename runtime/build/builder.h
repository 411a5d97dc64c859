// docker build's executor, as the classic builder: each stage from its base image, each
// instruction a step ("Step N/M : ..."), RUN in a containerVM of this VCH and committed as a
// layer, COPY/ADD from the context as a layer, the rest changes the image config. Steps are
// cached by what decides them (build_cache.h). Only the build's result is recorded as an image:
// a failed build leaves none.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/blocking.h"
#include "common/guest_root.h"
#include "runtime/build/build_cache.h"
#include "runtime/build/build_host.h"
#include "runtime/build/copy_tar.h"
#include "runtime/build/dockerfile.h"
#include "runtime/build/dockerignore.h"
#include "runtime/build/shell_lex.h"

namespace vic::build {

struct BuildOptions {
  std::vector<std::string> tags;                                // normalised references
  std::map<std::string, std::optional<std::string>> buildArgs;  // --build-arg (no value: unset)
  std::map<std::string, std::string> labels;                    // --label
  std::string target;                                           // --target: the last stage built
  bool noCache = false, pull = false;
  std::string workDir;  // scratch space for COPY tars (removed by the caller)
};

// A failed step: docker's message, and the exit code the CLI ends with (a RUN's, else 1).
struct BuildFailure {
  std::string message;
  int code = 1;
};

class Builder {
 public:
  // `pool`: where the context's files are read and hashed (never the I/O thread).
  Builder(BuildHost& host, BuildCache& cache, const GuestRoot& context, DockerIgnore ignore, BuildOptions opts, Output out,
          BlockingPool& pool)
      : host_(host), cache_(cache), context_(context), ignore_(std::move(ignore)), opts_(std::move(opts)), out_(std::move(out)),
        pool_(pool) {}

  // The built image's id, or why not.
  asio::awaitable<Result<std::string>> build(const Dockerfile& file);
  const std::optional<BuildFailure>& failure() const { return failure_; }
  std::vector<std::string> unusedBuildArgs() const;  // given with --build-arg, never declared
  static Error gone() { return Error(Errc::kUnavailable, "the client has gone"); }

 private:
  struct Stage {
    ImageState img;
    std::string key;  // cache key of the state so far ("" once caching is off)
    Vars args;        // ARGs declared in this stage, with their values
    bool cmdSet = false;
  };
  asio::awaitable<Status> runStage(const build::Stage& stage, size_t index);
  asio::awaitable<Status> from(const build::Stage& stage, Stage& st);
  asio::awaitable<Status> step(const Instruction& in, Stage& st);      // "Step N/M", the step, its id
  asio::awaitable<Status> dispatch(const Instruction& in, Stage& st);  // the step alone (an ONBUILD trigger)
  asio::awaitable<Status> onBuild(Stage& st);
  asio::awaitable<Status> run(const Instruction& in, Stage& st);
  asio::awaitable<Status> copy(const Instruction& in, Stage& st);
  asio::awaitable<Result<Owner>> chownOf(const std::string& spec, const ImageState& img);
  Status config(const Instruction& in, Stage& st);
  Status arg(const Instruction& in, Stage& st);
  asio::awaitable<Result<ImageState>> stageOrImage(const std::string& name);
  // A cached result for `parts` after `st`, applied (" ---> Using cache"); false on a miss.
  asio::awaitable<bool> fromCache(Stage& st, const std::vector<std::string>& parts, std::string& key);
  void remember(Stage& st, const std::string& key);
  Vars vars(const Stage& st) const;  // ARGs, then ENV over them
  asio::awaitable<bool> say(std::string text);
  Error fail(std::string message, int code = 1);

  BuildHost& host_;
  BuildCache& cache_;
  const GuestRoot& context_;
  DockerIgnore ignore_;
  BuildOptions opts_;
  Output out_;
  BlockingPool& pool_;
  Vars metaArgs_;                   // ARGs before the first FROM
  std::map<std::string, ImageState> stages_;  // finished stages: by name and by index
  std::map<std::string, bool> usedArgs_;
  size_t stepNo_ = 0, steps_ = 0;
  char escape_ = '\\';
  int copies_ = 0;
  std::optional<BuildFailure> failure_;
};

// Pure config changes, golden-tested: docker's image config after an instruction.
namespace cfg {
nlohmann::json scratch();                            // FROM scratch
void setEnv(nlohmann::json& config, const std::string& key, const std::string& value);
std::string historyTime(int64_t ns);                 // RFC 3339, nanoseconds
void addHistory(nlohmann::json& image, const std::string& createdBy, bool emptyLayer, int64_t ns);
void addLayer(nlohmann::json& image, const std::string& diffId);
std::string imageId(const nlohmann::json& image);   // sha256 of its bytes as recorded
std::string shortId(const std::string& id);          // 12 hex digits
nlohmann::json& runConfig(ImageState& img);          // its "config" object (made when missing)
std::vector<std::string> shell(const nlohmann::json& runConfig);  // SHELL, or /bin/sh -c
}  // namespace cfg

}  // namespace vic::build
