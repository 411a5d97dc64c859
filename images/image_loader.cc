#include "images/image_loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/json.h"
#include "common/guest_root.h"
#include "images/layer_apply.h"
#include "images/manifest.h"
#include "images/puller.h"
#include "images/reference.h"
#include "images/untrusted.h"

namespace vic::images {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {


// The archive is the client's: it is extracted as a guest's tree would be (names, symlinks
// and hard links resolve inside `dir`), no devices, and no more file bytes than the disk can
// spare (a small gzip'd archive can expand without bound).
Status extractTarball(const std::string& tarball, const std::string& dir) {
  ExtractOptions opts;
  opts.whiteouts = false;
  opts.devices = false;
  struct statvfs vfs{};
  if (::statvfs(dir.c_str(), &vfs) == 0) {
    uint64_t avail = uint64_t{vfs.f_bavail} * vfs.f_frsize;
    constexpr uint64_t kReserve = uint64_t{1} << 30;
    opts.maxBytes = avail > kReserve ? avail - kReserve : 0;
  }
  auto st = extractTar(tarball, dir, opts);
  if (!st) return std::move(st).error().wrap("the image archive");
  return ok();
}

// `rel` inside the extracted archive, resolved as inside a root (a symlink in the archive
// cannot lead to the host's files): the file's real path, which is under `dir`.
Result<std::string> insideFile(const std::string& dir, const std::string& rel) {
  auto root = GuestRoot::open(dir);
  if (!root) return std::move(root).error();
  auto fd = root->openPath(rel, O_RDONLY);
  if (!fd) return Error(Errc::kInvalidArgument, "the image archive has no " + rel);
  struct stat st{};
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return Error(Errc::kInvalidArgument, rel + " in the image archive is not a file");
  std::string real = linkTarget("/proc/self/fd/" + std::to_string(fd->get()));
  if (real.rfind(dir + "/", 0) != 0) return Error(Errc::kInvalidArgument, "invalid path " + rel + " in manifest.json");
  return real;
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
  fs::permissions(dir, fs::perms::owner_all, ec);
  dir = fs::canonical(dir, ec).string();  // insideFile compares real paths
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
