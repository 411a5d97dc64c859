#include "runtime/portlayer/image_ops.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "common/log.h"
#include "images/image_loader.h"
#include "images/image_saver.h"
#include "images/manifest.h"
#include "images/progress.h"

namespace vic::pl {

namespace {

// Lines a worker produces, handed to a coroutine on the caller's executor.
class LineQueue : public std::enable_shared_from_this<LineQueue> {
 public:
  explicit LineQueue(const asio::any_io_executor& ex) : ex_(ex), wake_(ex) {}
  void push(const std::string& line) { add([&] { lines_.push_back(line); }); }  // any thread
  void close() { add([&] { finished_ = true; }); }                             // any thread
  // Hands every line to `out` until close.
  asio::awaitable<void> drain(const ImageOps::LineSink& out) {
    bool clientGone = false;
    while (true) {
      auto [lines, finished] = take();
      for (const auto& l : lines) {
        if (!clientGone && !co_await out(l)) clientGone = true;
      }
      if (finished) co_return;
      if (!pending()) co_await wake_.wait();  // a notify while writing was lost: Notifier wakes only waiters
    }
  }

 private:
  template <class F>
  void add(F f) {
    {
      std::lock_guard lock(mu_);
      f();
    }
    asio::post(ex_, [self = shared_from_this()] { self->wake_.notify(); });
  }
  std::pair<std::vector<std::string>, bool> take() {
    std::lock_guard lock(mu_);
    return {std::exchange(lines_, {}), finished_};
  }
  bool pending() {
    std::lock_guard lock(mu_);
    return !lines_.empty() || finished_;
  }

  asio::any_io_executor ex_;
  vsock::Notifier wake_;
  std::mutex mu_;
  std::vector<std::string> lines_;
  bool finished_ = false;
};

// Removes a file when it goes out of scope.
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

images::ImageRecord commitRecord(const images::ImageRecord& base, const images::LayerRecord& layer,
                                 const std::string& configBytes, int64_t nowNs) {
  images::ImageRecord rec;
  rec.id = images::sha256Digest(configBytes);
  rec.diffIds = base.diffIds;
  rec.diffIds.push_back(layer.diffId);
  rec.created = nowNs / 1000000000;
  rec.size = base.size + layer.size;
  return rec;
}

std::map<std::string, images::ImageStore::User> imageUsers(const std::vector<ContainerInfo>& containers) {
  std::map<std::string, images::ImageStore::User> out;
  for (const auto& ci : containers) {
    bool running = ci.status.state == RunState::kRunning;
    auto [it, fresh] = out.try_emplace(ci.spec.imageId, images::ImageStore::User{ci.spec.id, running});
    if (!fresh && running && !it->second.running) it->second = {ci.spec.id, true};
  }
  return out;
}

asio::awaitable<void> ImageOps::pull(std::string ref, images::PullOptions opts, LineSink out) {
  using namespace asio::experimental::awaitable_operators;
  auto queue = std::make_shared<LineQueue>(co_await asio::this_coro::executor);
  auto work = [this, queue, ref, opts] {
    images::PullOptions o = opts;  // the registry's transport and CAs: here, off the I/O thread (names may resolve)
    if (auto parsed = images::parseReference(ref)) o.registry = images::registryOptionsFor(registries_, parsed->domain, o.registry);
    images::Puller puller(images_, images_.downloadDir());
    auto r = puller.pull(ref, o, [&](const std::string& line) { queue->push(line); });
    if (!r) {
      log::warn("images", "pull " + ref + ": " + r.error().message());
      queue->push(images::progressError(r.error().message()));
    }
    queue->close();
  };
  co_await (pool_.run(std::move(work)) && queue->drain(out));
}

asio::awaitable<Status> ImageOps::push(std::string name, images::PushOptions opts, LineSink out) {
  using namespace asio::experimental::awaitable_operators;
  auto queue = std::make_shared<LineQueue>(co_await asio::this_coro::executor);
  auto result = std::make_shared<Status>();
  auto work = [this, queue, name, opts, result] {
    images::PushOptions o = opts;
    if (auto parsed = images::parseReference(name)) o.registry = images::registryOptionsFor(registries_, parsed->domain, o.registry);
    images::Pusher pusher(images_, images_.downloadDir());
    auto r = pusher.push(name, o, [&](const std::string& line) { queue->push(line); });
    if (!r) {
      log::warn("images", "push " + name + ": " + r.error().message());
      queue->push(images::progressError(r.error().message()));
      *result = r.error();
    }
    queue->close();
  };
  co_await (pool_.run(std::move(work)) && queue->drain(out));
  co_return *result;
}

asio::awaitable<Status> ImageOps::login(std::string server, images::Credentials creds, images::RegistryOptions opts) {
  auto work = [this, server, creds, opts] {
    return images::login(server, creds, images::registryOptionsFor(registries_, images::loginRegistryDomain(server), opts));
  };
  co_return co_await pool_.run(std::move(work));
}

asio::awaitable<Result<std::string>> ImageOps::load(std::string tarFile) {
  auto work = [this, tarFile]() -> Result<std::string> {
    std::string lines;
    auto r = images::loadImages(images_, tarFile, [&](const std::string& l) { lines += l; });
    if (!r) return std::move(r).error();
    return lines;
  };
  co_return co_await pool_.run(std::move(work));
}

asio::awaitable<Status> ImageOps::save(std::vector<std::string> refs, const PortLayer::ChunkSink& out) {
  if (refs.empty()) co_return Error(Errc::kInvalidArgument, "no image names given");
  RemoveOnExit file{images_.downloadDir() + "/save-" + newContainerId().substr(0, 12) + ".tar"};
  auto work = [this, refs, path = file.path] { return images::saveImages(images_, refs, path); };
  auto saved = co_await pool_.run(std::move(work));
  if (!saved) co_return saved;
  co_return co_await sendFile(file.path, out);
}

asio::awaitable<Status> ImageOps::sendFile(const std::string& path, const PortLayer::ChunkSink& out) {
  auto in = std::make_shared<std::ifstream>(path, std::ios::binary);
  if (!*in) co_return Error(Errc::kInternal, "opening " + path);
  while (true) {
    auto read = [in] {
      std::vector<uint8_t> buf(1 << 20);
      in->read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
      buf.resize(static_cast<size_t>(in->gcount()));
      return buf;
    };
    auto piece = co_await pool_.run(std::move(read));
    if (piece.empty() || !co_await out(piece)) co_return ok();
  }
}

asio::awaitable<Result<std::string>> ImageOps::commit(CommitSpec spec, ImageConfigMaker makeConfig) {
  auto found = pl_.find(spec.container);
  if (!found) co_return std::move(found).error();
  auto base = images_.find(found->spec.imageId);
  if (!base) co_return std::move(base).error();
  auto layer = co_await pl_.commitLayer(found->spec.id, spec.pause);
  if (!layer) co_return std::move(layer).error();
  auto bytes = makeConfig(*found, images_.config(base->id).valueOr("{}"), *layer);
  if (!bytes) co_return std::move(bytes).error();
  auto rec = commitRecord(*base, *layer, *bytes, nowNs());
  auto record = [this, rec, bytes = *bytes, tag = spec.tag] { return images_.commit(rec, bytes, tag, ""); };
  auto st = co_await pool_.run(std::move(record));
  if (!st) co_return std::move(st).error();
  pl_.events().publish({"container", "commit", found->spec.id, {{"name", found->spec.name}, {"comment", spec.comment}}, nowNs(), 0});
  co_return rec.id;
}

asio::awaitable<Status> ImageOps::tag(std::string ref, std::string newRef) {
  auto work = [this, ref, newRef] { return images_.tag(ref, newRef); };
  co_return co_await pool_.run(std::move(work));
}

asio::awaitable<Result<std::vector<images::DeleteEntry>>> ImageOps::remove(std::string ref, bool force) {
  auto users = imageUsers(pl_.list());  // the port layer is read here, on its own thread
  auto userOf = [users](const std::string& id) -> std::optional<images::ImageStore::User> {
    auto it = users.find(id);
    return it == users.end() ? std::nullopt : std::optional(it->second);
  };
  auto work = [this, ref, force, userOf] { return images_.remove(ref, force, userOf); };
  co_return co_await pool_.run(std::move(work));
}

}  // namespace vic::pl
