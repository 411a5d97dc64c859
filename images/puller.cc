#include "images/puller.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "common/id.h"
#include "images/layer_apply.h"
#include "images/progress.h"
#include "images/untrusted.h"

namespace vic::images {
namespace fs = std::filesystem;

namespace {

using Progress = SerialProgress;  // lines from the download threads, one at a time

struct Resolved {
  Manifest manifest;
  std::string digest;  // what the tag points at (the index for multi-platform images)
};

Result<Resolved> resolve(RegistryClient& client, const Reference& ref, const Platform& want) {
  auto m = client.manifest(ref.digest.empty() ? ref.tag : ref.digest);
  if (!m) return std::move(m).error();
  Resolved out{{}, m->digest};
  auto parsed = parseManifest(m->body, m->contentType, ref.familiar());
  if (!parsed) return std::move(parsed).error();
  if (auto* idx = std::get_if<Index>(&*parsed)) {
    auto d = selectPlatform(*idx, want);
    if (!d) return std::move(d).error();
    auto inner = client.manifest(d->digest);
    if (!inner) return std::move(inner).error();
    parsed = parseManifest(inner->body, inner->contentType, ref.familiar());
    if (!parsed) return std::move(parsed).error();
    if (!std::holds_alternative<Manifest>(*parsed)) return Error(Errc::kProtocol, "index entry is not a manifest");
  }
  out.manifest = std::get<Manifest>(*parsed);
  if (out.manifest.layers.size() > kMaxLayers) {
    return Error(Errc::kInvalidArgument, "image " + ref.familiar() + " has " + std::to_string(out.manifest.layers.size()) +
                                             " layers, more than the " + std::to_string(kMaxLayers) + " allowed");
  }
  for (const auto& l : out.manifest.layers) {
    if (!knownLayerType(l.mediaType)) return Error(Errc::kInvalidArgument, "unsupported layer media type " + l.mediaType);
  }
  return out;
}

// Downloads layers on `parallel` threads; the applier waits for each in order.
class Downloads {
 public:
  Downloads(const Reference& ref, const PullOptions& opts, Progress& progress, std::vector<Descriptor> layers,
            std::vector<std::string> files)
      : ref_(ref), opts_(opts), progress_(progress), layers_(std::move(layers)), files_(std::move(files)),
        state_(layers_.size()) {}
  ~Downloads() { stop(); }

  void start(const std::vector<bool>& needed) {
    for (size_t i = 0; i < layers_.size(); ++i) {
      if (!needed[i]) state_[i].done = true;
      else queue_.push_back(i);
    }
    int n = std::max(1, std::min<int>(opts_.parallel, static_cast<int>(queue_.size())));
    for (size_t q = static_cast<size_t>(n); q < queue_.size(); ++q) {
      progress_.line(progressStatus("Waiting", shortId(layers_[queue_[q]].digest)));
    }
    for (int t = 0; t < n; ++t) threads_.emplace_back([this] { work(); });
  }
  // Blocks until layer i is downloaded; its error if it failed.
  Status wait(size_t i) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return state_[i].done; });
    return state_[i].error ? Status(*state_[i].error) : ok();
  }
  void stop() {
    cancelled_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  struct State {
    bool done = false;
    std::optional<Error> error;
  };
  void work() {
    RegistryClient client(ref_, opts_.registry);
    while (!cancelled_) {
      size_t i;
      {
        std::lock_guard lock(mu_);
        if (next_ >= queue_.size()) return;
        i = queue_[next_++];
      }
      Status st = fetchNoThrow(client, i);
      std::lock_guard lock(mu_);
      state_[i].done = true;
      if (!st) state_[i].error = std::move(st).error();
      cv_.notify_all();
    }
  }
  // A download thread must not end the process: anything thrown fails this layer.
  Status fetchNoThrow(RegistryClient& client, size_t i) {
    try {
      return fetch(client, i);
    } catch (const std::exception& e) {
      return Error(Errc::kInternal, "downloading layer " + layers_[i].digest + ": " + e.what());
    } catch (...) {
      return Error(Errc::kInternal, "downloading layer " + layers_[i].digest + ": unknown exception");
    }
  }
  Status fetch(RegistryClient& client, size_t i) {
    const auto& d = layers_[i];
    std::string id = shortId(d.digest);
    uint64_t reported = 0;
    auto onBytes = [&](uint64_t done, uint64_t total) {
      if (done - reported < (256u << 10) && done != total) return;
      reported = done;
      progress_.line(progressBytes("Downloading", id, done, total ? total : static_cast<uint64_t>(d.size)));
    };
    auto st = client.fetchBlob(d.digest, d.size, files_[i], onBytes);
    if (!st) return std::move(st).error();  // docker's own words (they name the digest)
    progress_.line(progressStatus("Verifying Checksum", id));
    progress_.line(progressStatus("Download complete", id));
    return ok();
  }

  const Reference& ref_;
  const PullOptions& opts_;
  Progress& progress_;
  std::vector<Descriptor> layers_;
  std::vector<std::string> files_;
  std::vector<State> state_;
  std::vector<size_t> queue_;
  size_t next_ = 0;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

}  // namespace

// What a pull has added so far, for undoing it on any failure (an Error or a throw).
struct Puller::Undo {
  std::vector<std::string> layers;  // chain ids, oldest first
  std::vector<std::string> files;   // downloads in flight
  void run(LayerStore& store) {
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) (void)store.remove(*it);
    std::error_code ec;
    for (const auto& f : files) fs::remove(f, ec), fs::remove(f + ".partial", ec);
    layers.clear();
    files.clear();
  }
};

Result<ImageRecord> Puller::pull(const std::string& text, const PullOptions& opts, const ProgressSink& sink) {
  // The boundary of every pull (the endpoint's pull worker, vic-imagec): nothing a registry
  // sends may throw past it, and a failed pull leaves nothing behind.
  Undo undo;
  std::string why;
  try {
    auto r = pullOrThrow(text, opts, sink, undo);
    if (!r) undo.run(store_.layers());
    return r;
  } catch (const std::exception& e) {
    why = e.what();
  } catch (...) {
    why = "unknown exception";
  }
  try {
    undo.run(store_.layers());
  } catch (...) {
  }
  return Error(Errc::kInternal, "pulling " + printable(text) + " failed: " + printable(why));
}

Result<ImageRecord> Puller::pullOrThrow(const std::string& text, const PullOptions& opts, const ProgressSink& sink,
                                        Undo& undo) {
  auto ref = parseReference(text);
  if (!ref) return std::move(ref).error();
  Progress progress(sink);
  RegistryClient client(*ref, opts.registry);
  auto resolved = resolve(client, *ref, opts.platform);
  if (!resolved) return std::move(resolved).error();
  const Manifest& man = resolved->manifest;
  progress.line(progressStatus("Pulling from " + ref->path, ref->digest.empty() ? ref->tag : ref->digest));

  auto configBytes = client.fetchBlobBytes(man.config.digest, static_cast<size_t>(std::min<int64_t>(man.config.size, kMaxConfigBytes)));
  if (!configBytes) return std::move(configBytes).error().wrap("fetching the image config");
  auto config = parseImageConfig(*configBytes);
  if (!config) return std::move(config).error();
  if (config->diffIds.size() != man.layers.size()) {
    return Error(Errc::kInvalidArgument, "layers from manifest don't match image configuration");
  }
  auto chains = chainIds(config->diffIds);
  std::vector<bool> needed(man.layers.size());
  std::vector<std::string>& files = undo.files;
  std::error_code ec;
  fs::create_directories(workDir_, ec);
  static std::atomic<int> seq{0};
  std::string prefix = workDir_ + "/" + std::to_string(::getpid()) + "-" + std::to_string(seq++) + "-";
  for (size_t i = 0; i < man.layers.size(); ++i) {
    needed[i] = !store_.layers().has(chains[i]);
    files.push_back(prefix + std::to_string(i));
    progress.line(progressStatus(needed[i] ? "Pulling fs layer" : "Already exists", shortId(man.layers[i].digest)));
  }
  PullOptions downloadOptions = opts;
  downloadOptions.registry.transport = client.transport();  // an insecure registry's settled transport
  Downloads downloads(*ref, downloadOptions, progress, man.layers, files);
  downloads.start(needed);
  std::vector<std::string>& added = undo.layers;
  auto fail = [&](Error e) {
    downloads.stop();  // before the caller removes the files they write
    return e;
  };
  for (size_t i = 0; i < man.layers.size(); ++i) {
    if (!needed[i]) continue;
    if (auto st = downloads.wait(i); !st) return fail(std::move(st).error());
    std::string id = shortId(man.layers[i].digest);
    auto diff = layerDiffId(files[i], store_.layers().maxLayerBytes());  // a tar bomb stops here
    if (!diff) return fail(std::move(diff).error());
    if (*diff != config->diffIds[i]) {
      return fail(Error(Errc::kInvalidArgument, "layers from manifest don't match image configuration"));
    }
    uint64_t size = fs::file_size(files[i], ec);
    progress.line(progressBytes("Extracting", id, size, size));
    auto rec = store_.layers().add(i == 0 ? "" : chains[i - 1], *diff, files[i]);
    if (!rec) return fail(std::move(rec).error());
    added.push_back(rec->chainId);
    fs::remove(files[i], ec);
    progress.line(progressStatus("Pull complete", id));
  }
  downloads.stop();

  ImageRecord image;
  image.id = sha256Digest(*configBytes);
  bool existed = store_.find(image.id).hasValue();
  image.diffIds = config->diffIds;
  image.created = config->created;
  for (const auto& c : chains) image.size += store_.layers().record(c).valueOr(LayerRecord{}).size;
  std::string tag = ref->digest.empty() ? ref->name() + ":" + ref->tag : "";
  std::string repoDigest = ref->name() + "@" + resolved->digest;
  if (auto st = store_.commit(image, *configBytes, tag, repoDigest); !st) return fail(std::move(st).error());
  progress.line(progressStatus("Digest: " + resolved->digest));
  progress.line(progressStatus((existed && added.empty() ? "Status: Image is up to date for " : "Status: Downloaded newer image for ") +
                               ref->familiar()));
  return store_.find(image.id);
}

}  // namespace vic::images
