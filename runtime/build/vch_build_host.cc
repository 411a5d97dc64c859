#include "runtime/build/vch_build_host.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "images/manifest.h"
#include "runtime/build/builder.h"
#include "runtime/portlayer/output_log.h"

namespace vic::build {

asio::awaitable<Result<ImageState>> VchBuildHost::image(std::string ref, bool pull, Output out) {
  auto have = images_.find(ref);
  if (!have || pull) {
    images::PullOptions opts;
    opts.registry = registry_;
    std::string failed;
    pl::ImageOps::LineSink progress = [&out, &failed](const std::string& line) -> asio::awaitable<bool> {
      auto j = parseJson(line);
      if (!j.is_object()) co_return true;
      if (j.contains("error")) failed = j.value("error", std::string("pull failed"));
      if (!j.contains("status") || j.contains("progressDetail")) co_return true;  // no progress bars in a build
      std::string id = j.value("id", "");
      std::string text = j.value("status", "") + "\n";
      if (!id.empty()) text = id + ": " + text;
      co_return co_await out(std::move(text));
    };
    co_await ops_.pull(ref, opts, progress);
    if (!failed.empty()) co_return Error(Errc::kNotFound, failed);
    have = images_.find(ref);
    if (!have) co_return std::move(have).error();
  }
  auto config = images_.config(have->id);
  if (!config) co_return std::move(config).error();
  auto parsed = parseJson(*config);
  if (!parsed.is_object()) co_return Error(Errc::kInternal, "image " + ref + " has no readable config");
  co_return ImageState{parsed, have->topLayer()};
}

asio::awaitable<Result<std::string>> VchBuildHost::container(const ImageState& from, const RunStep& step) {
  pl::ContainerSpec s;
  s.id = pl::newContainerId();
  s.imageRef = "(build)";
  s.topLayer = from.topLayer;
  s.config.hostname = s.id.substr(0, 12);
  s.config.main.argv = step.argv;
  if (s.config.main.argv.empty()) s.config.main.argv.push_back("true");
  s.config.main.env = step.env;
  s.config.main.user = step.user;
  s.config.main.workdir = step.workdir;
  s.networks.push_back({pl_.networks().defaultScope(), "", "", {}});
  s.networkMode = "default";
  auto made = co_await pl_.create(s);
  if (!made) co_return std::move(made).error().wrap("creating the step's container");
  co_return made->id;
}

asio::awaitable<void> VchBuildHost::removeContainer(std::string id) {
  if (auto st = co_await pl_.remove(id, true, true); !st) log::warn("build", "removing step container " + id + ": " + st.error().message());
}

asio::awaitable<Result<NewLayer>> VchBuildHost::commit(const std::string& id) {
  auto layer = co_await pl_.commitLayer(id, false);
  if (!layer) co_return std::move(layer).error();
  co_return NewLayer{layer->diffId, layer->chainId};
}

// The container's new output since `offset`, as text; false: the client has gone.
asio::awaitable<bool> VchBuildHost::streamOutput(const std::string& id, uint64_t& offset, const Output& out) {
  uint64_t next = offset;
  auto records = pl::readLogRecords(pl_.logFile(id), offset, &next);
  offset = next;
  std::string text;
  for (const auto& r : records) {
    if (r.kind == vsock::LogKind::kStdout || r.kind == vsock::LogKind::kStderr) text += r.data;
  }
  if (text.empty()) co_return true;
  co_return co_await out(std::move(text));
}

asio::awaitable<Result<RunResult>> VchBuildHost::run(ImageState from, RunStep step, Output out) {
  auto id = co_await container(from, step);
  if (!id) co_return std::move(id).error();
  Result<RunResult> result = RunResult{};
  bool alive = co_await out(" ---> Running in " + id->substr(0, 12) + "\n");
  Status started = Builder::gone();
  if (alive) started = co_await pl_.start(*id);
  uint64_t offset = 0;
  while (started && alive) {
    auto info = pl_.find(*id);
    bool ended = !info || info->status.state != pl::RunState::kRunning;
    alive = co_await streamOutput(*id, offset, out);
    if (ended) break;
    asio::steady_timer tick(co_await asio::this_coro::executor, std::chrono::milliseconds(200));
    co_await tick.async_wait(asio::use_awaitable);
  }
  if (!started) result = std::move(started).error();
  if (started && !alive) result = Builder::gone();
  if (result) {
    auto st = co_await pl_.wait(*id, pl::WaitCondition::kNotRunning);
    if (!st) result = std::move(st).error();
    else result->exitCode = static_cast<int>(st->exitCode);
  }
  if (result && result->exitCode == 0) {
    auto layer = co_await commit(*id);
    if (layer) result->layer = *layer;
    else result = std::move(layer).error().wrap("committing the step");
  }
  if (alive) (void)co_await out(" ---> Removed intermediate container " + id->substr(0, 12) + "\n");
  co_await removeContainer(*id);
  co_return result;
}

asio::awaitable<Result<NewLayer>> VchBuildHost::copy(ImageState from, std::string dest, TarMaker makeTar) {
  RunStep none;
  auto id = co_await container(from, none);
  if (!id) co_return std::move(id).error();
  Result<NewLayer> result = Error(Errc::kInternal, "no layer");
  auto stat = co_await pl_.statPath(*id, dest);
  bool destIsDir = stat && S_ISDIR(stat->mode);
  auto makeIt = [&makeTar, destIsDir] { return makeTar(destIsDir); };
  auto tar = co_await ops_.blocking().run(makeIt);
  if (!tar) {
    result = std::move(tar).error();
  } else {
    vsock::SinkOptions so;
    so.keepOwner = true;  // --chown (or 0:0) is in the tar
    Status written = co_await pl_.writeArchive(*id, "/", *tar, so);
    if (written) result = co_await commit(*id);
    else result = std::move(written).error();
  }
  co_await removeContainer(*id);
  co_return result;
}

asio::awaitable<Status> VchBuildHost::readFiles(ImageState from, std::string path, std::string tarFile) {
  RunStep none;
  auto id = co_await container(from, none);
  if (!id) co_return std::move(id).error();
  UniqueFd fd(::open(tarFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  Status st = ok();
  if (!fd) st = Error::fromErrno("creating " + tarFile);
  if (st) {
    pl::PortLayer::ChunkSink sink = [&fd](std::span<const uint8_t> bytes) -> asio::awaitable<bool> {
      co_return ::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
    };
    vsock::SourceOptions so;
    st = co_await pl_.readArchive(*id, path, so, sink);
  }
  co_await removeContainer(*id);
  co_return st;
}

asio::awaitable<Result<std::string>> VchBuildHost::record(ImageState img, std::vector<std::string> tags) {
  std::string configBytes = dumpJson(img.config);
  images::ImageRecord r;
  r.id = images::sha256Digest(configBytes);
  for (const auto& d : img.config["rootfs"].value("diff_ids", nlohmann::json::array())) {
    if (d.is_string()) r.diffIds.push_back(d.get<std::string>());
  }
  r.created = images::parseRfc3339(img.config.value("created", ""));
  for (const auto& chain : images::chainIds(r.diffIds)) {
    if (auto rec = images_.layers().record(chain)) r.size += rec->size;
  }
  auto write = [this, r, configBytes, tags]() -> Status {  // the store's files: off the I/O thread
    std::string first;
    if (!tags.empty()) first = tags[0];
    if (auto st = images_.commit(r, configBytes, first, ""); !st) return std::move(st).error().wrap("recording the image");
    for (size_t i = 1; i < tags.size(); ++i) {
      if (auto st = images_.tag(r.id, tags[i]); !st) return st;
    }
    return ok();
  };
  if (auto st = co_await ops_.blocking().run(write); !st) co_return std::move(st).error();
  co_return r.id;
}

}  // namespace vic::build
