// The image routes: pull, load, save, list, inspect, history, tag, remove, and commit (a new
// image from a container). Blocking image work happens behind pl::ImageOps.
#include <algorithm>
#include <functional>

#include "common/json.h"
#include "images/layer_store.h"
#include "images/puller.h"
#include "images/reference.h"
#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/commit_json.h"
#include "runtime/docker/docker_json.h"
#include "runtime/docker/filters.h"

namespace vic::docker {

namespace {

// "busybox:1/json" -> {"busybox:1", "json"}; the operations an image name can be followed by.
std::pair<std::string, std::string> splitImageOp(const std::string& p) {
  for (std::string_view op : {"json", "history", "get", "tag"}) {
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
    out.back()["Tags"] = img.repoTags;
  }
  std::reverse(out.begin(), out.end());
  return out;
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
    bool hasLabels = config.is_object() && config.contains("config") && config["config"].is_object() &&
                     config["config"].contains("Labels") && config["config"]["Labels"].is_object();
    if (hasLabels) {
      for (const auto& [k, v] : config["config"]["Labels"].items()) {
        if (v.is_string()) facts.labels[k] = v.get<std::string>();
      }
    }
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
  pl::ImageOps::LineSink send = [&c, &alive](const std::string& line) -> asio::awaitable<bool> {
    if (alive) alive = co_await c.s.writeAll(chunk(line));
    co_return alive;
  };
  co_await imageOps_.pull(ref, opts, send);  // goes on when the client has gone: the layers are kept
  if (alive) co_await c.s.writeAll(kLastChunk);
}

asio::awaitable<void> DockerApi::load(Ctx& c) {
  auto file = uploadFile(c.req, images_.downloadDir());  // spooled as it came: never whole in memory
  if (!file) co_return co_await c.fail(file.error());
  auto lines = co_await imageOps_.load((*file)->path());
  c.req.bodyFile.reset();
  if (!lines) co_return co_await c.fail(lines.error());
  Response resp{200, "application/json", *lines, {}};
  co_return co_await c.reply(resp);
}

asio::awaitable<void> DockerApi::save(Ctx& c, std::vector<std::string> refs) {
  std::string header = chunkedHeader(200, "application/x-tar");
  TarProducer produce = [this, refs](const pl::PortLayer::ChunkSink& out) { return imageOps_.save(refs, out); };
  co_await streamTar(c, header, produce);
}

asio::awaitable<void> DockerApi::tag(Ctx& c, const std::string& ref) {
  std::string newRef = c.req.param("repo") + (c.req.param("tag").empty() ? "" : ":" + c.req.param("tag"));
  co_await c.status(co_await imageOps_.tag(ref, newRef), 201);
}

asio::awaitable<void> DockerApi::removeImage(Ctx& c, const std::string& ref) {
  auto r = co_await imageOps_.remove(ref, c.req.flag("force"));
  co_return r ? co_await c.json(200, deleteJson(*r)) : co_await c.fail(r.error());
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
  pl::CommitSpec spec{c.req.param("container"), "", c.req.param("comment")};
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
  nlohmann::json out = {{"Id", *id}};
  co_await c.json(201, out);
}

}  // namespace vic::docker
