#include "images/image_store.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/files.h"
#include "common/id.h"
#include "common/json.h"
#include "images/manifest.h"
#include "images/reference.h"

namespace vic::images {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {


bool isHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c)); });
}

void eraseValue(std::vector<std::string>& v, const std::string& x) { v.erase(std::remove(v.begin(), v.end(), x), v.end()); }

std::string familiarOf(const std::string& normalised) {
  auto r = parseReference(normalised);
  return r ? r->familiar() : normalised;
}

}  // namespace

std::string ImageRecord::topLayer() const { return chainIds(diffIds).empty() ? "" : chainIds(diffIds).back(); }

std::string encodeIndex(const std::map<std::string, ImageRecord>& images) {
  json all = json::object();
  for (const auto& [id, r] : images) {
    all[id] = {{"repoTags", r.repoTags}, {"repoDigests", r.repoDigests}, {"diffIds", r.diffIds},
               {"created", r.created}, {"size", r.size}};
  }
  return json{{"version", 1}, {"images", all}}.dump(1);
}

Result<std::map<std::string, ImageRecord>> decodeIndex(const std::string& text) {
  auto parsed = parseJsonObject(text, "the image index", Errc::kIo);
  if (!parsed) return std::move(parsed).error();
  json& j = *parsed;
  if (!j.contains("images") || !j["images"].is_object()) return Error(Errc::kIo, "the image index has no images object");
  std::map<std::string, ImageRecord> out;
  try {
    for (const auto& [id, v] : j["images"].items()) {
      ImageRecord r;
      r.id = id;
      r.repoTags = v.value("repoTags", std::vector<std::string>{});
      r.repoDigests = v.value("repoDigests", std::vector<std::string>{});
      r.diffIds = v.value("diffIds", std::vector<std::string>{});
      r.created = v.value("created", int64_t{0});
      r.size = v.value("size", uint64_t{0});
      out[id] = std::move(r);
    }
  } catch (const json::exception& e) {
    return Error(Errc::kIo, std::string("the image index is malformed: ") + e.what());
  }
  return out;
}

Result<std::unique_ptr<ImageStore>> ImageStore::open(hv::Datastore ds, LayerStoreOptions opts) {
  auto layers = LayerStore::open(ds, std::move(opts));
  if (!layers) return std::move(layers).error().wrap("opening the image store");
  std::unique_ptr<ImageStore> s(new ImageStore(std::move(ds), std::move(*layers)));
  std::error_code ec;
  fs::remove_all(s->downloadDir(), ec);
  fs::create_directories(s->downloadDir(), ec);
  fs::create_directories(s->dir() + "/configs", ec);
  if (auto st = s->load(); !st) return std::move(st).error().wrap("opening the image store");
  s->collectGarbage();
  return s;
}

Status ImageStore::load() {
  std::string file = dir() + "/index.json";
  std::error_code ec;
  fs::remove(file + ".tmp", ec);
  if (!fs::exists(file)) return ok();
  auto idx = decodeIndex(readFile(file));
  if (!idx) return std::move(idx).error();
  images_ = std::move(*idx);
  return ok();
}

Status ImageStore::save() const { return writeFileAtomically(dir() + "/index.json", encodeIndex(images_)); }

// Configs no image lists and layers no image uses are leftovers of an interrupted pull.
void ImageStore::collectGarbage() {
  std::set<std::string> usedLayers;
  for (const auto& [id, r] : images_) {
    for (const auto& c : chainIds(r.diffIds)) usedLayers.insert(c);
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir() + "/configs", ec)) {
    std::string name = e.path().stem().string();
    if (!images_.count("sha256:" + name)) fs::remove(e.path(), ec);
  }
  bool removed = true;
  while (removed) {  // children first: a parent is refused while a child exists
    removed = false;
    for (const auto& l : layers_->list()) {
      if (!usedLayers.count(l.chainId) && layers_->remove(l.chainId)) removed = true;
    }
  }
}

Result<std::string> ImageStore::resolveId(const std::string& nameOrId) const {
  std::string s = nameOrId;
  if (s.rfind("sha256:", 0) == 0 && isHex(s.substr(7))) s = s.substr(7);
  if (s.size() == 64 && isHex(s) && images_.count("sha256:" + s)) return "sha256:" + s;
  if (auto ref = parseReference(nameOrId)) {
    std::string key = ref->digest.empty() ? ref->name() + ":" + ref->tag : ref->name() + "@" + ref->digest;
    for (const auto& [id, r] : images_) {
      const auto& list = ref->digest.empty() ? r.repoTags : r.repoDigests;
      if (std::find(list.begin(), list.end(), key) != list.end()) return id;
    }
  }
  if (isHex(s) && s.size() < 64) {
    std::vector<std::string> hits;
    for (const auto& [id, r] : images_) {
      if (hexOf(id).rfind(s, 0) == 0) hits.push_back(id);
    }
    if (hits.size() == 1) return hits.front();
  }
  auto ref = parseReference(nameOrId);
  return Error(Errc::kNotFound, "No such image: " + (ref ? ref->familiar() : nameOrId));
}

Result<ImageRecord> ImageStore::find(const std::string& nameOrId) const {
  std::lock_guard lock(mu_);
  auto id = resolveId(nameOrId);
  if (!id) return std::move(id).error();
  return images_.at(*id);
}

std::vector<ImageRecord> ImageStore::list() const {
  std::lock_guard lock(mu_);
  std::vector<ImageRecord> out;
  for (const auto& [id, r] : images_) out.push_back(r);
  return out;
}

Result<std::string> ImageStore::config(const std::string& id) const {
  std::string file = dir() + "/configs/" + hexOf(id) + ".json";
  if (!fs::exists(file)) return Error(Errc::kNotFound, "No such image: " + id);
  return readFile(file);
}

void ImageStore::dropReference(const std::string& ref) {
  for (auto& [id, r] : images_) {
    eraseValue(r.repoTags, ref);
    eraseValue(r.repoDigests, ref);
  }
}

Status ImageStore::commit(ImageRecord image, const std::string& configBytes, const std::string& tag,
                          const std::string& repoDigest) {
  for (const auto& c : chainIds(image.diffIds)) {
    if (!layers_->has(c)) return Error(Errc::kInternal, "committing image " + image.id + ": layer " + c + " is missing");
  }
  std::string configFile = dir() + "/configs/" + hexOf(image.id) + ".json";
  if (auto st = writeFileAtomically(configFile, configBytes); !st) return std::move(st).error().wrap("storing image config");
  std::lock_guard lock(mu_);
  auto old = images_;
  ImageRecord& rec = images_.count(image.id) ? images_[image.id] : (images_[image.id] = image);
  for (const auto& [ref, add] : {std::pair{tag, true}, std::pair{repoDigest, false}}) {
    if (ref.empty()) continue;
    dropReference(ref);
    (add ? rec.repoTags : rec.repoDigests).push_back(ref);
  }
  if (auto st = save(); !st) {
    images_ = std::move(old);
    return std::move(st).error().wrap("storing the image index");
  }
  return ok();
}

Status ImageStore::tag(const std::string& nameOrId, const std::string& newRef) {
  auto ref = parseReference(newRef);
  if (!ref) return std::move(ref).error();
  if (!ref->digest.empty()) return Error(Errc::kInvalidArgument, "refusing to create a tag with a digest reference");
  std::lock_guard lock(mu_);
  auto id = resolveId(nameOrId);
  if (!id) return std::move(id).error();
  auto old = images_;
  std::string key = ref->name() + ":" + ref->tag;
  dropReference(key);
  images_[*id].repoTags.push_back(key);
  if (auto st = save(); !st) {
    images_ = std::move(old);
    return st;
  }
  return ok();
}

Status ImageStore::addRepoDigest(const std::string& id, const std::string& repoDigest) {
  std::lock_guard lock(mu_);
  auto it = images_.find(id);
  if (it == images_.end()) return Error(Errc::kNotFound, "No such image: " + id);
  auto old = images_;
  dropReference(repoDigest);
  it->second.repoDigests.push_back(repoDigest);
  if (auto st = save(); !st) {
    images_ = std::move(old);
    return st;
  }
  return ok();
}

Result<std::vector<DeleteEntry>> ImageStore::remove(const std::string& nameOrId, bool force,
                                                    const std::function<std::optional<User>(const std::string&)>& userOf) {
  std::lock_guard lock(mu_);
  auto id = resolveId(nameOrId);
  if (!id) return std::move(id).error();
  ImageRecord& rec = images_[*id];
  auto ref = parseReference(nameOrId);
  std::string key = ref ? (ref->digest.empty() ? ref->name() + ":" + ref->tag : ref->name() + "@" + ref->digest) : "";
  bool byRef = !key.empty() && (std::count(rec.repoTags.begin(), rec.repoTags.end(), key) ||
                                std::count(rec.repoDigests.begin(), rec.repoDigests.end(), key));
  std::vector<DeleteEntry> out;
  auto old = images_;
  if (byRef && rec.repoTags.size() + (ref->digest.empty() ? 0 : 1) > 1) {  // other names remain: untag only
    dropReference(key);
    out.push_back({familiarOf(key), ""});
    if (auto st = save(); !st) return images_ = std::move(old), std::move(st).error();
    return out;
  }
  if (!byRef && rec.repoTags.size() > 1 && !force) {
    return Error(Errc::kConflict, "conflict: unable to delete " + shortId(*id) +
                                      " (must be forced) - image is referenced in multiple repositories");
  }
  if (auto user = userOf ? userOf(*id) : std::nullopt) {
    std::string who = shortId(user->container);
    if (user->running) {
      return Error(Errc::kConflict, "conflict: unable to delete " + shortId(*id) +
                                        " (cannot be forced) - image is being used by running container " + who);
    }
    if (!force && byRef) {
      return Error(Errc::kConflict, "conflict: unable to remove repository reference \"" + nameOrId +
                                        "\" (must force) - container " + who + " is using its referenced image " + shortId(*id));
    }
    if (!force) {
      return Error(Errc::kConflict, "conflict: unable to delete " + shortId(*id) +
                                        " (must be forced) - image is being used by stopped container " + who);
    }
    for (const auto& t : rec.repoTags) out.push_back({familiarOf(t), ""});
    rec.repoTags.clear();  // docker keeps the image, dangling, while a container uses it
    if (auto st = save(); !st) return images_ = std::move(old), std::move(st).error();
    return out;
  }
  for (const auto& t : rec.repoTags) out.push_back({familiarOf(t), ""});
  for (const auto& d : rec.repoDigests) out.push_back({familiarOf(d), ""});
  out.push_back({"", *id});
  images_.erase(*id);
  if (auto st = save(); !st) return images_ = std::move(old), std::move(st).error();
  collectGarbage();
  return out;
}

}  // namespace vic::images
