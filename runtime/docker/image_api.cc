// docker diff, commit and save: the container's changes against its image, a new image from
// them, and images as a tarball for docker load.
#include <filesystem>
#include <fstream>
#include <functional>

#include "common/json.h"
#include "images/image_saver.h"
#include "images/layer_store.h"
#include "images/puller.h"
#include "images/reference.h"
#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/commit_json.h"
#include "runtime/docker/docker_json.h"

namespace vic::docker {

asio::awaitable<void> DockerApi::changes(Ctx& c, const std::string& id) {
  auto d = co_await pl_.diff(id);
  if (!d) co_return co_await c.fail(d.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& ch : *d) out.push_back({{"Path", ch.path}, {"Kind", static_cast<int>(ch.kind)}});
  co_return co_await c.json(200, out);
}

asio::awaitable<void> DockerApi::commit(Ctx& c) {
  auto found = pl_.find(c.req.param("container"));
  if (!found) co_return co_await c.fail(found.error());
  std::string tag;
  if (!c.req.param("repo").empty()) {
    auto ref = images::parseReference(c.req.param("repo") + ":" + c.req.param("tag", "latest"));
    if (!ref) co_return co_await c.fail(ref.error());
    tag = ref->name() + ":" + ref->tag;
  }
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  CommitRequest r;
  r.changes = c.req.params("changes");
  if (auto check = applyChanges(nlohmann::json::object(), r.changes); !check) co_return co_await c.fail(check.error());
  auto base = images_.find(found->spec.imageId);
  if (!base) co_return co_await c.fail(base.error());
  auto layer = co_await pl_.commitLayer(found->spec.id);
  if (!layer) co_return co_await c.fail(layer.error());
  r.containerConfig = containerInspect(*found, "", {})["Config"];
  r.overrides = *body;
  r.containerId = found->spec.id;
  r.comment = c.req.param("comment");
  r.author = c.req.param("author");
  r.createdBy = commandString(found->spec);
  r.diffId = layer->diffId;
  r.created = rfc3339Nano(pl::nowNs());
  auto config = commitImageConfig(imageConfig(base->id), r);
  if (!config) co_return co_await c.fail(config.error());
  std::string bytes = dumpJson(*config);  // comment and author come from the query
  images::ImageRecord rec;
  rec.id = images::sha256Digest(bytes);
  rec.diffIds = base->diffIds;
  rec.diffIds.push_back(layer->diffId);
  rec.created = pl::nowNs() / 1000000000;
  rec.size = base->size + layer->size;
  if (auto st = images_.commit(rec, bytes, tag, ""); !st) co_return co_await c.fail(st.error());
  pl_.events().publish({"container", "commit", found->spec.id, {{"name", found->spec.name}, {"comment", r.comment}}, pl::nowNs(), 0});
  nlohmann::json out = {{"Id", rec.id}};
  co_return co_await c.json(201, out);
}

// GET /images/{name}/history: the config's history, newest first; the entries that made a layer
// carry the layer's size and, for the top one, the image's id and tags.
namespace {
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
}  // namespace

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

asio::awaitable<void> DockerApi::save(Ctx& c, const std::vector<std::string>& refs) {
  if (refs.empty()) co_return co_await c.fail(Error(Errc::kInvalidArgument, "no image names given"));
  std::string file = images_.downloadDir() + "/save-" + pl::newContainerId().substr(0, 12) + ".tar";
  auto saved = std::make_shared<Status>(ok());
  auto write = [this, refs, file, saved] { *saved = images::saveImages(images_, refs, file); };
  auto task = [write]() -> asio::awaitable<void> {
    write();
    co_return;
  };
  auto done = asio::co_spawn(pullPool_, task, asio::use_awaitable);  // a tarball is written off the io thread
  co_await std::move(done);
  if (!*saved) co_return co_await c.fail(saved->error());
  c.done = true;
  c.closeAfter = true;
  std::string header = chunkedHeader(200, "application/x-tar");
  bool alive = co_await c.s.writeAll(header);
  std::ifstream in(file, std::ios::binary);
  std::vector<char> buf(1 << 16);
  while (alive && (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)) {
    std::string piece = chunk(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
    alive = co_await c.s.writeAll(piece);
  }
  std::error_code ec;
  std::filesystem::remove(file, ec);
  if (alive) co_await c.s.writeAll(kLastChunk);
}

}  // namespace vic::docker
