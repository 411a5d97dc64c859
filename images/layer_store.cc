#include "images/layer_store.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json.h"
#include "common/process.h"
#include "hypervisor/disk_mount.h"
#include "images/layer_apply.h"
#include "images/manifest.h"

namespace vic::images {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kLayersDir = "images/layers";

std::string relDisk(const std::string& hex) { return std::string(kLayersDir) + "/" + hex + ".qcow2"; }

json toJson(const LayerRecord& r) {
  return {{"chainId", r.chainId}, {"parent", r.parent}, {"diffId", r.diffId}, {"depth", r.depth}, {"size", r.size}};
}

Result<LayerRecord> fromJson(const std::string& text, const std::string& file) {
  auto parsed = parseJsonObject(text, "layer record " + file, Errc::kIo);
  if (!parsed) return std::move(parsed).error();
  json& j = *parsed;
  LayerRecord r;
  r.chainId = j.value("chainId", "");
  r.parent = j.value("parent", "");
  r.diffId = j.value("diffId", "");
  r.depth = j.value("depth", 0);
  r.size = j.value("size", uint64_t{0});
  return r;
}

}  // namespace

std::string hexOf(const std::string& digest) {
  auto colon = digest.find(':');
  return colon == std::string::npos ? digest : digest.substr(colon + 1);
}

std::vector<std::string> chainIds(const std::vector<std::string>& diffIds) {
  std::vector<std::string> out;
  for (const auto& d : diffIds) out.push_back(out.empty() ? d : sha256Digest(out.back() + " " + d));
  return out;
}

Result<std::unique_ptr<LayerStore>> LayerStore::open(hv::Datastore ds, LayerStoreOptions opts) {
  std::unique_ptr<LayerStore> s(new LayerStore(std::move(ds), std::move(opts)));
  std::error_code ec;
  fs::create_directories(s->dir() + "/mnt", ec);
  if (ec) return Error(Errc::kIo, "creating " + s->dir() + ": " + ec.message());
  if (auto st = s->cleanup(); !st) return std::move(st).error();
  std::string scratch = s->diskOf("");
  if (!fs::exists(s->ds_.root() + "/" + scratch)) {
    std::string tmp = scratch + ".tmp";
    if (auto st = s->ds_.createDisk(tmp, s->opts_.diskSize, s->opts_.rootLabel); !st) return std::move(st).error();
    fs::rename(s->ds_.root() + "/" + tmp, s->ds_.root() + "/" + scratch, ec);
    if (ec) return Error(Errc::kIo, "creating the scratch disk: " + ec.message());
  }
  return s;
}

Status LayerStore::cleanup() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir() + "/mnt", ec)) hv::cleanupMountDir(e.path().string());
  for (const auto& e : fs::directory_iterator(dir(), ec)) {
    std::string p = e.path().string();
    if (p.ends_with(".tmp")) fs::remove(p, ec);
  }
  for (const auto& e : fs::directory_iterator(dir(), ec)) {  // a record whose disk never landed
    std::string p = e.path().string();
    if (p.ends_with(".json") && !fs::exists(p.substr(0, p.size() - 5) + ".qcow2")) fs::remove(p, ec);
    if (p.ends_with(".blob") && !fs::exists(p.substr(0, p.size() - 5) + ".qcow2")) fs::remove(p, ec);
  }
  return ok();
}

std::string LayerStore::diskOf(const std::string& chainId) const {
  return relDisk(chainId.empty() || chainId == kScratch ? std::string(kScratch) : hexOf(chainId));
}

bool LayerStore::has(const std::string& chainId) const {
  return fs::exists(ds_.root() + "/" + diskOf(chainId)) && fs::exists(dir() + "/" + hexOf(chainId) + ".json");
}

Result<LayerRecord> LayerStore::record(const std::string& chainId) const {
  std::string file = dir() + "/" + hexOf(chainId) + ".json";
  if (!has(chainId)) return Error(Errc::kNotFound, "layer " + chainId + " not found");
  return fromJson(readFile(file), file);
}

std::vector<LayerRecord> LayerStore::list() const {
  std::vector<LayerRecord> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir(), ec)) {
    std::string p = e.path().string();
    if (!p.ends_with(".json")) continue;
    auto r = fromJson(readFile(p), p);
    if (r && has(r->chainId)) out.push_back(*r);
  }
  return out;
}

Status LayerStore::createBase(const std::string& parent, int parentDepth, const std::string& tmpRel, int* depth) {
  std::string parentRel = diskOf(parent);
  if (parentDepth < opts_.maxDepth) {
    *depth = parentDepth + 1;
    return ds_.createChild(tmpRel, parentRel);
  }
  // Flatten: a standalone copy of the parent's whole chain, then this layer on top of it.
  *depth = 1;
  auto r = runChecked({"qemu-img", "convert", "-q", "-O", "qcow2", ds_.root() + "/" + parentRel, ds_.root() + "/" + tmpRel},
                      "flattening layer " + parent);
  return r ? ok() : Status(std::move(r).error());
}

Status LayerStore::writeInto(const std::string& tmpRel, const std::string& tarFile, uint64_t* bytes) {
  std::string work;
  {
    std::lock_guard lock(mu_);
    work = dir() + "/mnt/" + std::to_string(::getpid()) + "-" + std::to_string(mounts_++);
  }
  auto m = hv::DiskMount::mount(ds_.root() + "/" + tmpRel, work, true);
  if (!m) {
    hv::cleanupMountDir(work);
    return std::move(m).error();
  }
  auto applied = applyLayer(tarFile, (*m)->root(), ::geteuid() == 0);
  Status st = (*m)->unmount();
  hv::cleanupMountDir(work);
  if (!applied) return std::move(applied).error();
  *bytes = applied->bytes;
  return st;
}

Result<LayerRecord> LayerStore::add(const std::string& parent, const std::string& diffId, const std::string& tarFile) {
  std::lock_guard serial(addMu_);  // one writer at a time: layers build on each other
  LayerRecord rec;
  rec.parent = parent;
  rec.diffId = diffId;
  rec.chainId = parent.empty() ? diffId : sha256Digest(parent + " " + diffId);
  if (has(rec.chainId)) {
    if (blobOf(rec.chainId).empty()) (void)keepBlob(tarFile, rec.chainId);  // a layer from before blobs were kept
    return record(rec.chainId);
  }
  int parentDepth = 0;
  if (!parent.empty()) {
    auto p = record(parent);
    if (!p) return std::move(p).error().wrap("adding layer " + rec.chainId);
    parentDepth = p->depth;
  }
  std::string finalRel = diskOf(rec.chainId);
  std::string tmpRel = finalRel + "." + std::to_string(::getpid()) + ".tmp";
  std::string what = "writing layer " + rec.chainId;
  auto fail = [&](Error e) {
    std::error_code ec;
    fs::remove(ds_.root() + "/" + tmpRel, ec);
    fs::remove(dir() + "/" + hexOf(rec.chainId) + ".blob", ec);
    return std::move(e).wrap(what);
  };
  if (auto st = createBase(parent, parentDepth, tmpRel, &rec.depth); !st) return fail(std::move(st).error());
  if (auto st = writeInto(tmpRel, tarFile, &rec.size); !st) return fail(std::move(st).error());
  std::error_code ec;
  if (auto st = keepBlob(tarFile, rec.chainId); !st) return fail(std::move(st).error());
  std::string recFile = dir() + "/" + hexOf(rec.chainId) + ".json";
  if (auto st = writeFileAtomically(recFile, toJson(rec).dump()); !st) return fail(std::move(st).error());
  fs::rename(ds_.root() + "/" + tmpRel, ds_.root() + "/" + finalRel, ec);  // the completion marker
  if (ec) {
    fs::remove(recFile, ec);
    return fail(Error(Errc::kIo, "renaming the layer disk into place: " + ec.message()));
  }
  return rec;
}

Status LayerStore::remove(const std::string& chainId) {
  std::string rel = diskOf(chainId);
  if (auto st = ds_.deleteDisk(rel); !st) return std::move(st).error().wrap("removing layer " + chainId);
  std::error_code ec;
  fs::remove(dir() + "/" + hexOf(chainId) + ".json", ec);
  fs::remove(dir() + "/" + hexOf(chainId) + ".blob", ec);
  return ok();
}

// The layer's tar as it came (compressed or not) is kept for docker save: an image saved must
// carry layers whose diff ids match its config, which a tar rebuilt from the disk would not.
Status LayerStore::keepBlob(const std::string& tarFile, const std::string& chainId) {
  std::string blob = dir() + "/" + hexOf(chainId) + ".blob", tmp = blob + ".tmp";
  std::error_code ec;
  fs::rename(tarFile, tmp, ec);
  if (ec) {
    ec.clear();
    fs::copy_file(tarFile, tmp, fs::copy_options::overwrite_existing, ec);
  }
  if (!ec) fs::rename(tmp, blob, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Error(Errc::kIo, "keeping the tar of layer " + chainId + ": " + ec.message());
  }
  return ok();
}

std::string LayerStore::blobOf(const std::string& chainId) const {
  std::string blob = dir() + "/" + hexOf(chainId) + ".blob";
  return fs::exists(blob) ? blob : "";
}

}  // namespace vic::images
