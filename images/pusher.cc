#include "images/pusher.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "common/id.h"
#include "images/layer_gzip.h"
#include "images/progress.h"
#include "images/untrusted.h"

namespace vic::images {
namespace fs = std::filesystem;

namespace {

using Progress = SerialProgress;  // lines from the upload threads, one at a time

// Whether the text names a tag (parseReference gives every untagged name "latest").
bool namesTag(const std::string& text) {
  size_t slash = text.rfind('/'), colon = text.rfind(':');
  return text.find('@') == std::string::npos && colon != std::string::npos && (slash == std::string::npos || colon > slash);
}

std::string repoOf(Reference r) {
  r.tag.clear();
  r.digest.clear();
  return r.name();
}

std::string familiarRepo(Reference r) {
  r.tag.clear();
  r.digest.clear();
  return r.familiar();
}

std::string descriptorJson(const Descriptor& d, const std::string& indent) {
  std::string in = indent + "   ";
  return "{\n" + in + "\"mediaType\": \"" + d.mediaType + "\",\n" + in + "\"size\": " + std::to_string(d.size) + ",\n" + in +
         "\"digest\": \"" + d.digest + "\"\n" + indent + "}";
}

// Removes a compressed layer made for this push.
struct TempBlob {
  LayerBlob blob;
  ~TempBlob() {
    std::error_code ec;
    if (blob.temporary) fs::remove(blob.path, ec);
  }
};

}  // namespace

std::string schema2Manifest(const Descriptor& config, const std::vector<Descriptor>& layers) {
  std::string out = "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"" + std::string(kDockerManifest) + "\",\n";
  out += "   \"config\": " + descriptorJson(config, "   ") + ",\n   \"layers\": [";
  for (size_t i = 0; i < layers.size(); ++i) out += (i ? ",\n      " : "\n      ") + descriptorJson(layers[i], "      ");
  out += layers.empty() ? "]\n}" : "\n   ]\n}";
  return out;
}

Result<std::vector<std::pair<std::string, ImageRecord>>> pushTargets(const Reference& ref,
                                                                     const std::vector<ImageRecord>& images) {
  const std::string repo = repoOf(ref) + ":";
  std::vector<std::pair<std::string, ImageRecord>> all;
  for (const auto& img : images) {
    for (const auto& t : img.repoTags) {
      if (t.rfind(repo, 0) == 0) all.emplace_back(t.substr(repo.size()), img);
    }
  }
  if (all.empty()) {
    return Error(Errc::kNotFound, "An image does not exist locally with the tag: " + familiarRepo(ref));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (ref.tag.empty()) return all;
  for (auto& t : all) {
    if (t.first == ref.tag) return std::vector<std::pair<std::string, ImageRecord>>{std::move(t)};
  }
  Reference tagged = ref;
  tagged.digest.clear();
  return Error(Errc::kNotFound, "tag does not exist: " + tagged.familiar());
}

std::vector<std::string> mountCandidates(const Reference& ref, const std::string& chainId,
                                         const std::vector<ImageRecord>& images, size_t max) {
  std::vector<std::string> out;
  for (auto img = images.rbegin(); img != images.rend() && out.size() < max; ++img) {
    auto chains = chainIds(img->diffIds);
    if (std::find(chains.begin(), chains.end(), chainId) == chains.end()) continue;
    for (auto d = img->repoDigests.rbegin(); d != img->repoDigests.rend() && out.size() < max; ++d) {
      auto r = parseReference(*d);
      if (!r || r->domain != ref.domain || r->path == ref.path) continue;
      if (std::find(out.begin(), out.end(), r->path) == out.end()) out.push_back(r->path);
    }
  }
  return out;
}

struct Pusher::Session {
  PushOptions opts;  // an insecure registry's transport settled before the uploads start
  Progress progress;
  Reference repo;                            // the repository pushed to (tag cleared)
  std::vector<ImageRecord> images;           // the store's images, for mount candidates
  std::mutex mu;
  std::map<std::string, Descriptor> remote;  // diff id -> its blob, known to be in the repository
};

namespace {

// One layer of one tag: made a gzip blob, then found, mounted or uploaded.
struct LayerJob {
  std::string diffId, chainId, blob;
  std::vector<std::string> mountFrom;
};

Result<Descriptor> pushLayer(RegistryClient& client, const LayerJob& job, const std::string& workDir, Progress& progress,
                             std::mutex& mu, std::map<std::string, Descriptor>& remote) {
  const std::string id = shortId(job.diffId);
  {
    std::lock_guard lock(mu);
    if (auto it = remote.find(job.diffId); it != remote.end()) {
      progress.line(progressAction("Layer already exists", id));
      return it->second;
    }
  }
  if (job.blob.empty()) {
    return Error(Errc::kNotFound, "the tar of layer " + job.diffId +
                                      " was not kept (the image came from an older vic): pull or load it again to push it");
  }
  auto gz = gzipLayer(job.blob, job.diffId, workDir);
  if (!gz) return std::move(gz).error();
  TempBlob temp{*gz};
  Descriptor desc{std::string(kDockerLayerGzip), gz->digest, static_cast<int64_t>(gz->size), false, {}};
  auto remember = [&] {
    std::lock_guard lock(mu);
    remote[job.diffId] = desc;
    return desc;
  };
  auto have = client.blobSize(gz->digest, true);
  if (!have) return std::move(have).error();
  if (*have) {
    progress.line(progressAction("Layer already exists", id));
    return remember();
  }
  for (const auto& from : job.mountFrom) {
    auto mounted = client.mountBlob(gz->digest, from);
    if (mounted && *mounted) {
      progress.line(progressAction("Mounted from " + from, id));
      return remember();
    }
  }
  // moby's progress reader: a line every 1% (at most every 512 KiB), and the last
  uint64_t reported = 0;
  const uint64_t every = std::max<uint64_t>(1, std::min<uint64_t>(512 << 10, gz->size / 100));
  auto onBytes = [&](uint64_t done, uint64_t total) {
    if (done - reported <= every && done != total) return;
    reported = done;
    progress.line(progressBytes("Pushing", id, done, total));
  };
  if (auto st = client.uploadBlob(gz->digest, gz->path, onBytes); !st) return std::move(st).error();
  progress.line(progressAction("Pushed", id));
  return remember();
}

// Runs `jobs` (in order) on up to `parallel` threads, each with its own client; the first
// error in job order, or every layer's descriptor.
Result<std::vector<Descriptor>> runJobs(const std::vector<LayerJob>& jobs, const Reference& repo, RegistryOptions opts,
                                        int parallel, const std::string& workDir, Progress& progress, std::mutex& mu,
                                        std::map<std::string, Descriptor>& remote) {
  std::vector<std::optional<Result<Descriptor>>> results(jobs.size());
  size_t workers = std::min<size_t>(std::max(1, parallel), jobs.size());
  for (size_t i = workers; i < jobs.size(); ++i) progress.line(progressAction("Waiting", shortId(jobs[i].diffId)));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    RegistryClient client(repo, opts);
    while (!failed) {
      size_t i = next++;
      if (i >= jobs.size()) return;
      Result<Descriptor> r = Error(Errc::kInternal, "not pushed");
      try {
        r = pushLayer(client, jobs[i], workDir, progress, mu, remote);
      } catch (const std::exception& e) {  // an upload thread must not end the process
        r = Error(Errc::kInternal, "pushing layer " + jobs[i].diffId + ": " + e.what());
      }
      if (!r) failed = true;
      std::lock_guard lock(mu);
      results[i] = std::move(r);
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < workers; ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  std::vector<Descriptor> out;
  for (auto& r : results) {
    if (r && !*r) return std::move(*r).error();
  }
  for (auto& r : results) {
    if (!r) return Error(Errc::kInternal, "a layer was not pushed");
    out.push_back(**r);
  }
  return out;
}

}  // namespace

Result<std::vector<PushedTag>> Pusher::push(const std::string& name, const PushOptions& opts, const ProgressSink& sink) {
  // The boundary of every push: nothing may throw past it.
  std::string why;
  try {
    Session s{opts, Progress(sink), {}, {}, {}, {}};
    return pushOrThrow(name, s);
  } catch (const std::exception& e) {
    why = e.what();
  } catch (...) {
    why = "unknown exception";
  }
  return Error(Errc::kInternal, "pushing " + printable(name) + " failed: " + printable(why));
}

Result<std::vector<PushedTag>> Pusher::pushOrThrow(const std::string& name, Session& s) {
  if (name.find('@') != std::string::npos) return Error(Errc::kInvalidArgument, "cannot push a digest reference");
  auto ref = parseReference(name);
  if (!ref) return std::move(ref).error();
  if (!namesTag(name)) ref->tag.clear();
  s.repo = *ref;
  s.repo.tag.clear();
  s.progress.line(progressStatus("The push refers to repository [" + s.repo.name() + "]"));
  if (s.opts.registry.transport == RegistryTransport::kInsecure) {  // https or http, once, as moby's ping
    RegistryClient probe(s.repo, s.opts.registry);
    (void)probe.ping();  // nothing answered: the uploads' own requests say why
    s.opts.registry.transport = probe.transport();
  }
  s.images = store_.list();
  auto targets = pushTargets(*ref, s.images);
  if (!targets) return std::move(targets).error();
  std::vector<PushedTag> pushed;
  for (const auto& [tag, image] : *targets) {
    auto done = pushTag(s, tag, image);
    if (!done) return std::move(done).error();
    pushed.push_back(*done);
  }
  return pushed;
}

Result<PushedTag> Pusher::pushTag(Session& s, const std::string& tag, const ImageRecord& image) {
  auto config = store_.config(image.id);
  if (!config) return std::move(config).error();
  auto chains = chainIds(image.diffIds);
  std::vector<LayerJob> jobs;  // top layer first, as dockerd lists them
  RegistryOptions ropts = s.opts.registry;
  ropts.push = true;
  for (size_t i = chains.size(); i-- > 0;) {
    LayerJob job{image.diffIds[i], chains[i], store_.layers().blobOf(chains[i]), mountCandidates(s.repo, chains[i], s.images)};
    for (const auto& from : job.mountFrom) {
      if (std::find(ropts.mountFrom.begin(), ropts.mountFrom.end(), from) == ropts.mountFrom.end()) ropts.mountFrom.push_back(from);
    }
    s.progress.line(progressAction("Preparing", shortId(job.diffId)));
    jobs.push_back(std::move(job));
  }
  auto layers = runJobs(jobs, s.repo, ropts, s.opts.parallel, workDir_, s.progress, s.mu, s.remote);
  if (!layers) return std::move(layers).error();
  std::reverse(layers->begin(), layers->end());  // the manifest lists them bottom first

  RegistryClient client(s.repo, ropts);
  Descriptor configDesc{std::string(kDockerConfig), image.id, static_cast<int64_t>(config->size()), false, {}};
  auto have = client.blobSize(image.id);
  if (!have) return std::move(have).error();
  if (!*have) {
    if (auto st = client.uploadBlobBytes(image.id, *config); !st) return std::move(st).error();
  }
  std::string manifest = schema2Manifest(configDesc, *layers);
  if (auto st = client.putManifest(tag, std::string(kDockerManifest), manifest); !st) return std::move(st).error();
  PushedTag out{tag, sha256Digest(manifest), manifest.size()};
  s.progress.line(progressStatus(tag + ": digest: " + out.digest + " size: " + std::to_string(out.size)));
  s.progress.line(progressPushAux(tag, out.digest, out.size));
  if (auto st = store_.addRepoDigest(image.id, s.repo.name() + "@" + out.digest); !st) return std::move(st).error();
  return out;
}

}  // namespace vic::images
