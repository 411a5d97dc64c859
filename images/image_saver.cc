#include "images/image_saver.h"

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "images/archive_ptr.h"
#include "images/layer_store.h"
#include "images/reference.h"

namespace vic::images {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {


class TarOut {
 public:
  Status open(const std::string& path) {
    a_.reset(archive_write_new());
    archive_write_set_format_pax_restricted(a_.get());
    if (archive_write_open_filename(a_.get(), path.c_str()) != ARCHIVE_OK) return error("creating " + path);
    return ok();
  }
  Status dir(const std::string& name) { return header(name, AE_IFDIR, 0755, 0); }
  Status bytes(const std::string& name, const std::string& data) {
    if (auto st = header(name, AE_IFREG, 0644, data.size()); !st) return st;
    if (archive_write_data(a_.get(), data.data(), data.size()) < 0) return error("writing " + name);
    return ok();
  }
  Status file(const std::string& name, const std::string& path) {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec) return Error(Errc::kIo, "reading " + path + ": " + ec.message());
    if (auto st = header(name, AE_IFREG, 0644, size); !st) return st;
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buf(1 << 16);
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
      if (archive_write_data(a_.get(), buf.data(), static_cast<size_t>(in.gcount())) < 0) return error("writing " + name);
    }
    return ok();
  }
  Status close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return error("finishing the tarball");
    return ok();
  }

 private:
  Status header(const std::string& name, unsigned type, unsigned mode, uint64_t size) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), mode);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) return error("writing " + name);
    return ok();
  }
  Error error(const std::string& what) {
    return Error(Errc::kIo, what + ": " + (archive_error_string(a_.get()) ? archive_error_string(a_.get()) : "?"));
  }
  ArchiveWriter a_;
};

// What to save for one ref: the image and the tag the user named (none for an id).
Result<std::pair<ImageRecord, std::string>> resolve(const ImageStore& store, const std::string& ref) {
  auto img = store.find(ref);
  if (!img) return std::move(img).error();
  std::string tag;
  if (img->id.find(ref) == std::string::npos) {
    auto parsed = parseReference(ref);
    if (parsed && parsed->digest.empty()) tag = parsed->familiar();
  }
  return std::make_pair(*img, tag);
}

}  // namespace

std::string saveManifest(const std::vector<SaveEntry>& entries) {
  json out = json::array();
  for (const auto& e : entries) {
    json layers = json::array();
    for (const auto& l : e.layerHexes) layers.push_back(l + "/layer.tar");
    out.push_back({{"Config", e.configHex + ".json"}, {"RepoTags", e.repoTags}, {"Layers", layers}});
  }
  return out.dump();
}

Status saveImages(const ImageStore& store, const std::vector<std::string>& refs, const std::string& tarball) {
  std::vector<SaveEntry> entries;
  std::vector<ImageRecord> images;
  json repositories = json::object();
  for (const auto& ref : refs) {
    auto r = resolve(store, ref);
    if (!r) return std::move(r).error();
    auto& [img, tag] = *r;
    auto known = std::find_if(entries.begin(), entries.end(), [&](const SaveEntry& e) { return "sha256:" + e.configHex == img.id; });
    if (known == entries.end()) {
      entries.push_back({hexOf(img.id), {}, {}});
      images.push_back(img);
      known = entries.end() - 1;
      for (const auto& d : img.diffIds) known->layerHexes.push_back(hexOf(d));
    }
    if (!tag.empty()) {
      known->repoTags.push_back(tag);
      auto colon = tag.find_last_of(':');
      repositories[tag.substr(0, colon)][tag.substr(colon + 1)] = hexOf(img.diffIds.empty() ? img.id : img.diffIds.back());
    }
  }
  std::string tmp = tarball + ".tmp";
  TarOut out;
  auto fail = [&](Error e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return e;
  };
  if (auto st = out.open(tmp); !st) return fail(std::move(st).error());
  std::set<std::string> written;
  for (size_t i = 0; i < images.size(); ++i) {
    const auto& img = images[i];
    auto config = store.config(img.id);
    if (!config) return fail(std::move(config).error());
    if (auto st = out.bytes(entries[i].configHex + ".json", *config); !st) return fail(std::move(st).error());
    auto chains = chainIds(img.diffIds);
    for (size_t l = 0; l < chains.size(); ++l) {
      std::string hex = hexOf(img.diffIds[l]);
      if (!written.insert(hex).second) continue;
      std::string blob = store.layers().blobOf(chains[l]);
      if (blob.empty()) {
        return fail(Error(Errc::kNotFound, "the tar of layer " + img.diffIds[l] + " was not kept (the image came from an "
                                           "older vic): pull or load it again to save it"));
      }
      if (auto st = out.dir(hex); !st) return fail(std::move(st).error());
      if (auto st = out.file(hex + "/layer.tar", blob); !st) return fail(std::move(st).error());
    }
  }
  if (auto st = out.bytes("manifest.json", saveManifest(entries)); !st) return fail(std::move(st).error());
  if (auto st = out.bytes("repositories", repositories.dump()); !st) return fail(std::move(st).error());
  if (auto st = out.close(); !st) return fail(std::move(st).error());
  std::error_code ec;
  fs::rename(tmp, tarball, ec);
  if (ec) return fail(Error(Errc::kIo, "writing " + tarball + ": " + ec.message()));
  return ok();
}

}  // namespace vic::images
