// The image routes: pull, load, save, list, inspect, history, tag, remove, prune, and commit (a
// new image from a container). Blocking image work happens behind pl::ImageOps. Each route that
// changes the store publishes dockerd's image event (pull, tag, untag, delete, load, save, prune).
#include <algorithm>
#include <functional>
#include <sstream>

#include "common/json.h"
#include "images/layer_store.h"
#include "images/puller.h"
#include "images/reference.h"
#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/commit_json.h"
#include "runtime/docker/query.h"
#include "runtime/docker/disk_usage.h"
#include "runtime/docker/docker_json.h"
#include "runtime/docker/filters.h"

namespace vic::docker {

namespace {

// "busybox:1/json" -> {"busybox:1", "json"}; the operations an image name can be followed by.
std::pair<std::string, std::string> splitImageOp(const std::string& p) {
  for (std::string_view op : {"json", "history", "get", "tag", "push"}) {
    if (p.size() > op.size() + 1 && p.ends_with(op) && p[p.size() - op.size() - 1] == '/') {
      return {p.substr(0, p.size() - op.size() - 1), std::string(op)};
    }
  }
  return {p, ""};
}

// GET /images/{name}/history: the config's history, newest first; the entries that made a layer
// carry the layer's size and, for the top one, the image's id and tags.
nlohmann::json historyJson(const images::ImageRecord& img, const nlohmann::json& config,
                           const std::function<uint64_t(size_t)>& layerSize) {
  nlohmann::json out = nlohmann::json::array();
  const nlohmann::json& h = config.contains("history") && config["history"].is_array() ? config["history"] : nlohmann::json::array();
  size_t layer = 0;
  for (const auto& e : h) {
    bool empty = e.value("empty_layer", false);
    int64_t created = 0;
    if (e.contains("created") && e["created"].is_string()) created = images::parseRfc3339(e["created"].get<std::string>());
    out.push_back({{"Id", "<missing>"}, {"Created", created}, {"CreatedBy", e.value("created_by", "")},
                   {"Tags", nullptr}, {"Size", empty ? 0 : layerSize(layer)}, {"Comment", e.value("comment", "")}});
    if (!empty) ++layer;
  }
  if (!out.empty()) {
    out.back()["Id"] = img.id;
    nlohmann::json tags = nlohmann::json::array();  // as docker shows them: "busybox:latest"
    for (const auto& t : img.repoTags) {
      auto ref = images::parseReference(t);
      tags.push_back(ref ? ref->familiar() : t);
    }
    out.back()["Tags"] = tags;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// The labels of an image's config, as prune's label filters and image events read them.
std::map<std::string, std::string> configLabels(const nlohmann::json& config) {
  std::map<std::string, std::string> out;
  if (!config.is_object() || !config.contains("config") || !config["config"].is_object()) return out;
  const auto& c = config["config"];
  if (!c.contains("Labels") || !c["Labels"].is_object()) return out;
  for (const auto& [k, v] : c["Labels"].items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

// dockerd's LogImageEvent: the actor is `id`; its attributes are the image's labels (from
// `config`: none once the image is deleted) and `name`.
void publishImageEvent(pl::EventBus& bus, std::string action, std::string id, const std::string& name,
                       const nlohmann::json& config) {
  auto attrs = configLabels(config);
  if (!name.empty()) attrs["name"] = name;
  bus.publish({"image", std::move(action), std::move(id), std::move(attrs), pl::nowNs(), 0});
}

// The ids a docker load stream names: "Loaded image: ref" (looked up) and "Loaded image ID: id".
std::vector<std::string> loadedIds(const std::string& lines, const images::ImageStore& store) {
  std::vector<std::string> ids;
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) {
    auto j = parseJson(line);
    if (!j.is_object() || !j.contains("stream") || !j["stream"].is_string()) continue;
    std::string text = j["stream"].get<std::string>();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::string id;
    if (text.starts_with("Loaded image ID: ")) id = text.substr(17);
    else if (text.starts_with("Loaded image: ")) id = store.find(text.substr(14)).valueOr(images::ImageRecord{}).id;
    if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

nlohmann::json deleteJson(const std::vector<images::DeleteEntry>& entries) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries) {
    out.push_back(e.untagged.empty() ? nlohmann::json{{"Deleted", e.deleted}} : nlohmann::json{{"Untagged", e.untagged}});
  }
  return out;
}

}  // namespace

nlohmann::json DockerApi::imageConfig(const std::string& id) {
  auto text = images_.config(id);
  if (!text) return nlohmann::json::object();
  auto j = parseJson(*text);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

// docker images [REPO[:TAG]] [--filter ...]: the CLI sends REPO[:TAG] as a reference filter.
asio::awaitable<void> DockerApi::listImages(Ctx& c) {
  auto filters = parseFilters(c.req.param("filters"), kImageFilters);
  if (!filters) co_return co_await c.fail(filters.error());
  std::optional<int64_t> bound[2];  // before, since: the creation time of the image each names
  const char* keys[2] = {"before", "since"};
  for (int i = 0; i < 2; ++i) {
    for (const auto& ref : (*filters)[keys[i]]) {
      auto img = images_.find(ref);
      if (!img) co_return co_await c.fail(img.error());
      bound[i] = bound[i] ? (i == 0 ? std::min(*bound[i], img->created) : std::max(*bound[i], img->created)) : img->created;
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : images_.list()) {
    nlohmann::json config = imageConfig(r.id);
    nlohmann::json summary = imageSummary(r, config);
    ImageFacts facts;
    for (const auto& tag : summary["RepoTags"]) facts.familiarTags.push_back(tag.get<std::string>());
    facts.labels = configLabels(config);
    facts.created = r.created;
    if (!imageMatches(facts, *filters, bound[0], bound[1])) continue;
    if (auto refs = filters->find("reference"); refs != filters->end() && !refs->second.empty()) {
      for (const char* field : {"RepoTags", "RepoDigests"}) {  // as docker: only the references the filter named
        nlohmann::json shown = nlohmann::json::array();
        for (const auto& ref : summary[field]) {
          auto named = [&](const std::string& p) { return referenceMatches(p, ref.get<std::string>()); };
          if (std::any_of(refs->second.begin(), refs->second.end(), named)) shown.push_back(ref);
        }
        summary[field] = shown;
      }
    }
    out.push_back(std::move(summary));
  }
  co_return co_await c.json(200, out);
}

asio::awaitable<void> DockerApi::imageRoute(Ctx& c) {
  const std::string& m = c.req.method;
  std::string p = c.req.path.substr(std::string("/images/").size());
  if (p == "create" && m == "POST") co_return co_await pull(c);
  if (p == "load" && m == "POST") co_return co_await load(c);
  if (p == "get" && m == "GET") co_return co_await save(c, c.req.params("names"));
  if (p == "json" && m == "GET") co_return co_await listImages(c);
  if (p == "prune" && m == "POST") co_return co_await pruneImages(c);
  auto split = splitImageOp(p);  // no structured binding: GCC 12 coroutines reject it
  const std::string& name = split.first;
  const std::string& op = split.second;
  if (op == "json" && m == "GET") {
    auto r = images_.find(name);
    co_return r ? co_await c.json(200, imageInspect(*r, imageConfig(r->id))) : co_await c.fail(r.error());
  }
  if (op == "history" && m == "GET") co_return co_await history(c, name);
  if (op == "get" && m == "GET") {
    std::vector<std::string> names{name};  // no braced list inside co_await: GCC 12 rejects its array
    co_return co_await save(c, names);
  }
  if (op == "tag" && m == "POST") co_return co_await tag(c, name);
  if (op == "push" && m == "POST") co_return co_await push(c, name);  // registry_api.cc
  if (m == "DELETE") co_return co_await removeImage(c, p);
  co_return co_await c.fail(notImplemented(m + " /images/" + p));
}

asio::awaitable<void> DockerApi::pull(Ctx& c) {
  std::string from = c.req.param("fromImage");
  if (from.empty()) co_return co_await c.fail(notImplemented("docker import"));
  std::string tag = c.req.param("tag");
  std::string ref = from + (tag.empty() ? "" : (tag.rfind("sha256:", 0) == 0 ? "@" : ":") + tag);
  if (auto parsed = images::parseReference(ref); !parsed) co_return co_await c.fail(parsed.error());
  images::PullOptions opts;
  if (!c.req.param("platform").empty()) {
    auto p = images::parsePlatform(c.req.param("platform"));
    if (!p) co_return co_await c.fail(p.error());
    opts.platform = *p;
  }
  if (!c.req.header("x-registry-auth").empty()) {
    auto creds = images::decodeRegistryAuth(c.req.header("x-registry-auth"));
    if (creds) opts.registry.creds = *creds;
  }
  bool alive = co_await c.streamHeader(chunkedHeader(200, "application/json"));
  if (!alive) co_return;
  bool failed = false;  // the pull's last line was its error
  pl::ImageOps::LineSink send = [&c, &alive, &failed](const std::string& line) -> asio::awaitable<bool> {
    auto j = parseJson(line);
    failed = j.is_object() && j.contains("error");
    if (alive) alive = co_await c.s.writeAll(chunk(line));
    co_return alive;
  };
  co_await imageOps_.pull(ref, opts, send);  // goes on when the client has gone: the layers are kept
  if (!failed) publishPullEvent(ref);
  if (alive) co_await c.s.writeAll(kLastChunk);
}

// dockerd's pull event: the actor is the reference as pulled ("busybox:latest"), named by its
// repository ("busybox").
void DockerApi::publishPullEvent(const std::string& ref) {
  auto parsed = images::parseReference(ref);
  auto img = images_.find(ref);
  if (!parsed || !img) return;
  images::Reference repo = *parsed;
  repo.tag.clear();
  repo.digest.clear();
  publishImageEvent(pl_.events(), "pull", parsed->familiar(), repo.familiar(), imageConfig(img->id));
}

asio::awaitable<void> DockerApi::load(Ctx& c) {
  auto file = uploadFile(c.req, images_.downloadDir());  // spooled as it came: never whole in memory
  if (!file) co_return co_await c.fail(file.error());
  auto lines = co_await imageOps_.load((*file)->path());
  c.req.bodyFile.reset();
  if (!lines) co_return co_await c.fail(lines.error());
  for (const auto& id : loadedIds(*lines, images_)) publishImageEvent(pl_.events(), "load", id, id, imageConfig(id));
  Response resp{200, "application/json", *lines, {}};
  co_return co_await c.reply(resp);
}

asio::awaitable<void> DockerApi::save(Ctx& c, std::vector<std::string> refs) {
  std::string header = chunkedHeader(200, "application/x-tar");
  TarProducer produce = [this, refs](const pl::PortLayer::ChunkSink& out) { return saveAndLog(refs, out); };
  co_await streamTar(c, header, produce);
}

// docker save, then dockerd's save event for each image it wrote.
asio::awaitable<Status> DockerApi::saveAndLog(std::vector<std::string> refs, const pl::PortLayer::ChunkSink& out) {
  std::vector<std::string> ids;
  for (const auto& ref : refs) {
    auto img = images_.find(ref);
    if (img && std::find(ids.begin(), ids.end(), img->id) == ids.end()) ids.push_back(img->id);
  }
  auto st = co_await imageOps_.save(refs, out);
  if (st) {
    for (const auto& id : ids) publishImageEvent(pl_.events(), "save", id, id, imageConfig(id));
  }
  co_return st;
}

asio::awaitable<void> DockerApi::tag(Ctx& c, const std::string& ref) {
  std::string newRef = c.req.param("repo") + (c.req.param("tag").empty() ? "" : ":" + c.req.param("tag"));
  auto st = co_await imageOps_.tag(ref, newRef);
  if (!st) co_return co_await c.fail(st.error());
  auto img = images_.find(newRef);
  auto parsed = images::parseReference(newRef);
  if (img && parsed) publishImageEvent(pl_.events(), "tag", img->id, parsed->familiar(), imageConfig(img->id));
  co_await c.empty(201);
}

asio::awaitable<void> DockerApi::removeImage(Ctx& c, const std::string& ref) {
  auto r = co_await removeAndLog(ref, c.req.flag("force"));
  co_return r ? co_await c.json(200, deleteJson(*r)) : co_await c.fail(r.error());
}

// docker rmi of one reference (or id), then dockerd's events: an untag for each name it took
// away and a delete if the image went. Their actor is the image's id, and so is their name.
asio::awaitable<Result<std::vector<images::DeleteEntry>>> DockerApi::removeAndLog(std::string ref, bool force) {
  auto img = images_.find(ref);
  nlohmann::json config = img ? imageConfig(img->id) : nlohmann::json::object();
  auto r = co_await imageOps_.remove(ref, force);
  if (!r || !img) co_return r;
  for (const auto& e : *r) {
    if (!e.untagged.empty()) publishImageEvent(pl_.events(), "untag", img->id, img->id, config);
    if (!e.deleted.empty()) publishImageEvent(pl_.events(), "delete", img->id, img->id, nlohmann::json::object());
  }
  co_return r;
}

namespace {

// What docker image prune may remove, decided before anything is: images no container uses
// (running or stopped), untagged ones only unless `dangling` is false, created before `until`
// (if not 0), with the label filters' labels.
struct PruneChoice {
  bool danglingOnly = true;
  int64_t untilNs = 0;
};

bool imagePrunable(const images::ImageRecord& r, const nlohmann::json& config, const Filters& f, const PruneChoice& how,
                   const std::map<std::string, images::ImageStore::User>& users) {
  if (how.danglingOnly && !r.repoTags.empty()) return false;
  if (users.contains(r.id)) return false;
  if (how.untilNs != 0 && r.created * 1000000000 > how.untilNs) return false;
  return pruneLabelsMatch(configLabels(config), f);
}

// The names docker's prune removes an image by, one after another: its tags and digests, or
// its id when it has none.
std::vector<std::string> pruneRefs(const images::ImageRecord& r) {
  std::vector<std::string> refs = r.repoTags;
  refs.insert(refs.end(), r.repoDigests.begin(), r.repoDigests.end());
  if (refs.empty()) refs.push_back(images::hexOf(r.id));
  return refs;
}

Result<PruneChoice> pruneChoice(const Filters& f) {
  PruneChoice how;
  auto dangling = boolFilter(f, "dangling", true);
  if (!dangling) return std::move(dangling).error();
  how.danglingOnly = *dangling;
  if (auto it = f.find("until"); it != f.end() && it->second.size() > 1) {
    return Error(Errc::kInvalidArgument, "more than one until filter specified");
  }
  auto until = pruneUntil(f, pl::nowNs());
  if (!until) return Error(Errc::kInvalidArgument, "invalid value for 'until' filter: " + until.error().message());
  how.untilNs = *until;
  return how;
}

}  // namespace

// docker image prune [-a]: each image chosen is removed as docker rmi would without force, one
// name at a time, so a conflict found meanwhile just keeps it. SpaceReclaimed: the layers gone.
asio::awaitable<void> DockerApi::pruneImages(Ctx& c) {
  auto filters = parseFilters(c.req.param("filters"), kImagePruneFilters);
  if (!filters) co_return co_await c.fail(filters.error());
  auto how = pruneChoice(*filters);
  if (!how) co_return co_await c.fail(how.error());
  auto users = pl::imageUsers(pl_.list());
  auto layersBefore = images_.layers().list();
  nlohmann::json deleted = nlohmann::json::array();
  for (const auto& r : images_.list()) {
    if (!imagePrunable(r, imageConfig(r.id), *filters, *how, users)) continue;
    for (const auto& ref : pruneRefs(r)) {
      auto gone = co_await removeAndLog(ref, false);
      if (!gone) {
        log::info("api", "image prune keeps " + ref + ": " + gone.error().message());
        continue;
      }
      for (const auto& e : deleteJson(*gone)) deleted.push_back(e);
    }
  }
  uint64_t reclaimed = layersFreed(layersBefore, images_.layers().list());
  pl_.events().publish({"image", "prune", "", {{"reclaimed", std::to_string(reclaimed)}}, pl::nowNs(), 0});
  nlohmann::json out = {{"ImagesDeleted", deleted.empty() ? nlohmann::json(nullptr) : deleted}, {"SpaceReclaimed", reclaimed}};
  co_await c.json(200, out);
}

asio::awaitable<void> DockerApi::history(Ctx& c, const std::string& ref) {
  auto img = images_.find(ref);
  if (!img) co_return co_await c.fail(img.error());
  auto chains = images::chainIds(img->diffIds);
  auto size = [&](size_t i) -> uint64_t {
    return i < chains.size() ? images_.layers().record(chains[i]).valueOr(images::LayerRecord{}).size : 0;
  };
  nlohmann::json out = historyJson(*img, imageConfig(img->id), size);
  co_return co_await c.json(200, out);
}

namespace {

// docker commit's image config: the base's with the container's settings and the request's.
pl::ImageConfigMaker commitConfig(CommitRequest r) {
  return [r](const pl::ContainerInfo& c, const std::string& baseConfig, const images::LayerRecord& layer) mutable
             -> Result<std::string> {
    auto base = parseJson(baseConfig);
    r.containerConfig = containerInspect(c, "", {})["Config"];
    r.containerId = c.spec.id;
    r.createdBy = commandString(c.spec);
    r.diffId = layer.diffId;
    r.created = rfc3339Nano(pl::nowNs());
    auto config = commitImageConfig(base.is_discarded() ? nlohmann::json::object() : base, r);
    if (!config) return std::move(config).error();
    return dumpJson(*config);
  };
}

}  // namespace

asio::awaitable<void> DockerApi::commit(Ctx& c) {
  pl::CommitSpec spec{c.req.param("container"), "", c.req.param("comment"), boolParam(c.req, "pause", true)};
  if (!c.req.param("repo").empty()) {
    auto ref = images::parseReference(c.req.param("repo") + ":" + c.req.param("tag", "latest"));
    if (!ref) co_return co_await c.fail(ref.error());
    spec.tag = ref->name() + ":" + ref->tag;
  }
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  CommitRequest r;
  r.changes = c.req.params("changes");
  if (auto check = applyChanges(nlohmann::json::object(), r.changes); !check) co_return co_await c.fail(check.error());
  r.overrides = *body;
  r.comment = spec.comment;
  r.author = c.req.param("author");
  pl::ImageConfigMaker makeConfig = commitConfig(std::move(r));
  auto id = co_await imageOps_.commit(spec, makeConfig);
  if (!id) co_return co_await c.fail(id.error());
  if (auto tagged = images::parseReference(spec.tag); !spec.tag.empty() && tagged) {  // dockerd tags the new image
    publishImageEvent(pl_.events(), "tag", *id, tagged->familiar(), imageConfig(*id));
  }
  nlohmann::json out = {{"Id", *id}};
  co_await c.json(201, out);
}

}  // namespace vic::docker
