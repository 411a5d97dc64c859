#include "images/image_loader.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json.h"
#include "images/archive_ptr.h"
#include "images/layer_apply.h"
#include "images/manifest.h"
#include "images/puller.h"
#include "images/reference.h"
#include "images/untrusted.h"

namespace vic::images {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {


Status extractTarball(const std::string& tarball, const std::string& dir) {
  ArchiveReader in(archive_read_new());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  archive_read_support_filter_all(in.get());
  if (archive_read_open_filename(in.get(), tarball.c_str(), 1 << 16) != ARCHIVE_OK) {
    return Error(Errc::kInvalidArgument, "reading " + tarball + ": " + archive_error_string(in.get()));
  }
  ArchiveWriter out(archive_write_disk_new());
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  // names are checked below and prefixed with `dir`, so they are absolute by then
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(in.get(), &e)) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (name.empty() || name[0] == '/' || name.find("..") != std::string::npos) {
      return Error(Errc::kInvalidArgument, "invalid tar entry " + name + " in the image archive");
    }
    archive_entry_set_pathname(e, (dir + "/" + name).c_str());
    if (archive_write_header(out.get(), e) != ARCHIVE_OK) {
      return Error(Errc::kIo, "extracting " + name + ": " + archive_error_string(out.get()));
    }
    const void* buf;
    size_t size;
    la_int64_t off;
    while (archive_read_data_block(in.get(), &buf, &size, &off) == ARCHIVE_OK) {
      if (archive_write_data_block(out.get(), buf, size, off) != ARCHIVE_OK) {
        return Error(Errc::kIo, "extracting " + name + ": " + archive_error_string(out.get()));
      }
    }
  }
  if (rc != ARCHIVE_EOF) return Error(Errc::kInvalidArgument, std::string("reading the image archive: ") + archive_error_string(in.get()));
  return ok();
}

Result<std::string> insideFile(const std::string& dir, const std::string& rel) {
  fs::path p = fs::path(rel).lexically_normal();
  if (p.is_absolute() || rel.find("..") != std::string::npos) return Error(Errc::kInvalidArgument, "invalid path " + rel + " in manifest.json");
  std::string abs = dir + "/" + p.string();
  if (!fs::is_regular_file(abs)) return Error(Errc::kInvalidArgument, "the image archive has no " + rel);
  return abs;
}

// Loads one image; `added` collects layers this call created.
Result<std::string> loadOne(ImageStore& store, const std::string& dir, const SavedImage& img,
                            std::vector<std::string>& added, const std::function<void(const std::string&)>& out) {
  auto configFile = insideFile(dir, img.config);
  if (!configFile) return std::move(configFile).error();
  std::string configBytes = readFile(*configFile);
  auto config = parseImageConfig(configBytes);
  if (!config) return std::move(config).error();
  if (config->diffIds.size() != img.layers.size()) return Error(Errc::kInvalidArgument, "layers from manifest don't match image configuration");
  std::string parent;
  ImageRecord rec;
  rec.id = sha256Digest(configBytes);
  rec.diffIds = config->diffIds;
  rec.created = config->created;
  for (size_t i = 0; i < img.layers.size(); ++i) {
    std::string chain = chainIds({config->diffIds.begin(), config->diffIds.begin() + static_cast<long>(i) + 1}).back();
    if (!store.layers().has(chain)) {
      auto file = insideFile(dir, img.layers[i]);
      if (!file) return std::move(file).error();
      auto diff = layerDiffId(*file);
      if (!diff) return std::move(diff).error();
      if (*diff != config->diffIds[i]) return Error(Errc::kInvalidArgument, "layers from manifest don't match image configuration");
      auto l = store.layers().add(parent, *diff, *file);
      if (!l) return std::move(l).error();
      added.push_back(chain);
    }
    rec.size += store.layers().record(chain).valueOr(LayerRecord{}).size;
    parent = chain;
  }
  std::vector<std::string> tags;
  for (const auto& t : img.repoTags) {
    auto ref = parseReference(t);
    if (!ref) return std::move(ref).error();
    tags.push_back(ref->name() + ":" + ref->tag);
  }
  if (tags.empty()) tags.push_back("");
  for (const auto& t : tags) {
    if (auto st = store.commit(rec, configBytes, t, ""); !st) return std::move(st).error();
    std::string line = t.empty() ? "Loaded image ID: " + rec.id : "Loaded image: " + parseReference(t)->familiar();
    out(json{{"stream", line + "\n"}}.dump() + "\r\n");
  }
  return rec.id;
}

}  // namespace

Result<std::vector<SavedImage>> parseSaveManifest(const std::string& text) {
  const std::string what = "invalid manifest.json in the image archive";
  auto j = parseJson(text);
  if (j.is_discarded() || !j.is_array()) return Error(Errc::kInvalidArgument, what);
  std::vector<SavedImage> out;
  for (size_t i = 0; i < j.size(); ++i) {
    FieldReader r(j[i], "[" + std::to_string(i) + "]");
    SavedImage s;
    s.config = r.str("Config", true);
    s.repoTags = r.strings("RepoTags");
    s.layers = r.strings("Layers", true);
    if (!r.ok()) return r.error(Errc::kInvalidArgument, what);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> loadImages(ImageStore& store, const std::string& tarball,
                                            const std::function<void(const std::string&)>& out) {
  static std::atomic<int> seq{0};
  std::string dir = store.downloadDir() + "/load-" + std::to_string(::getpid()) + "-" + std::to_string(seq++);
  std::error_code ec;
  fs::create_directories(dir, ec);
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(d, e);
    }
  } cleanup{dir};
  if (auto st = extractTarball(tarball, dir); !st) return std::move(st).error();
  if (!fs::exists(dir + "/manifest.json")) return Error(Errc::kInvalidArgument, "open " + tarball + ": manifest.json not found in the image archive");
  auto images = parseSaveManifest(readFile(dir + "/manifest.json"));
  if (!images) return std::move(images).error();
  std::vector<std::string> ids, added;
  for (const auto& img : *images) {
    auto id = loadOne(store, dir, img, added, out);
    if (!id) {
      for (auto it = added.rbegin(); it != added.rend(); ++it) (void)store.layers().remove(*it);
      return std::move(id).error();
    }
    ids.push_back(*id);
  }
  return ids;
}

}  // namespace vic::images
