#include "runtime/portlayer/volume.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/files.h"
#include "common/log.h"
#include "hypervisor/datastore.h"
#include "runtime/portlayer/container.h"
#include "runtime/portlayer/events.h"

namespace vic::pl {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
constexpr uint64_t kMaxCapacityMiB = 8ull << 20;  // 8 TiB
constexpr const char* kMarker = "volume.json";
}  // namespace

std::string encodeVolume(const Volume& v) {
  return json{{"name", v.name}, {"store", v.store}, {"capacityMiB", v.capacityMiB}, {"labels", v.labels},
              {"anonymous", v.anonymous}, {"createdNs", v.createdNs}}
      .dump();
}

Result<Volume> decodeVolume(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(Errc::kInvalidArgument, "volume record is not a JSON object");
  Volume v;
  try {
    v.name = j.at("name").get<std::string>();
    v.store = j.value("store", "default");
    v.capacityMiB = j.value("capacityMiB", uint64_t{1024});
    v.labels = j.value("labels", std::map<std::string, std::string>{});
    v.anonymous = j.value("anonymous", false);
    v.createdNs = j.value("createdNs", int64_t{0});
  } catch (const json::exception& e) {
    return Error(Errc::kInvalidArgument, std::string("volume record: ") + e.what());
  }
  return v;
}

Result<uint64_t> parseCapacityMiB(const std::string& text) {
  static const std::regex re(R"(^([0-9]{1,15})\s*([kKmMgGtT]?)[iI]?[bB]?$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) {
    return Error(Errc::kInvalidArgument, "invalid Capacity \"" + text + "\": use a size such as 2048 (MiB), 512MB, 2GB or 1TB");
  }
  uint64_t n = std::stoull(m[1]);
  char unit = m[2].str().empty() ? 'm' : static_cast<char>(std::tolower(m[2].str()[0]));
  uint64_t mib = unit == 'k' ? n / 1024 : unit == 'm' ? n : unit == 'g' ? n << 10 : n << 20;
  if (n > (kMaxCapacityMiB << 10) || mib == 0 || mib > kMaxCapacityMiB) {
    return Error(Errc::kInvalidArgument, "invalid Capacity \"" + text + "\": a volume holds 1 MiB to 8 TiB");
  }
  return mib;
}

std::string volumeSerial(const std::string& name) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(std::hash<std::string>{}(name)));
  return std::string("vol-") + buf;
}

Result<Volume> planVolume(const VolumeRequest& r, const std::map<std::string, std::string>& stores) {
  static const std::regex nameRe("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$");
  Volume v;
  v.name = r.name.empty() ? newContainerId() : r.name;
  if (!std::regex_match(v.name, nameRe)) {
    return Error(Errc::kInvalidArgument, "create " + v.name + ": \"" + v.name +
                                             "\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" "
                                             "are allowed. If you intended to pass a host directory, use absolute path");
  }
  for (const auto& [k, val] : r.opts) {
    std::string key = k;
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (key == "capacity") {
      auto c = parseCapacityMiB(val);
      if (!c) return std::move(c).error();
      v.capacityMiB = *c;
    } else if (key == "volumestore") {
      v.store = val;
    } else {
      return Error(Errc::kInvalidArgument, "unknown volume option " + k + " (vic knows Capacity and VolumeStore)");
    }
  }
  if (!stores.count(v.store)) return Error(Errc::kNotFound, "volume store " + v.store + " not found");
  v.labels = r.labels;
  v.anonymous = r.anonymous;
  return v;
}

Volumes::Volumes(std::map<std::string, std::string> stores) : stores_(std::move(stores)) {}

Status Volumes::load() {
  for (const auto& [label, dir] : stores_) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (!e.is_directory()) continue;
      std::string marker = e.path().string() + "/" + kMarker;
      if (!fs::exists(marker)) {  // creation stopped half way: nothing of it is kept
        log::warn("volumes", "removing the half-made volume " + e.path().string());
        fs::remove_all(e.path(), ec);
        continue;
      }
      auto v = decodeVolume(readFile(marker));
      if (!v) {
        log::warn("volumes", "skipping " + marker + ": " + v.error().message());
        continue;
      }
      v->store = label;
      volumes_[v->name] = *v;
    }
  }
  return ok();
}

Result<Volume> Volumes::create(const VolumeRequest& r) {
  auto v = planVolume(r, stores_);
  if (!v) return v;
  if (volumes_.count(v->name)) return Error(Errc::kConflict, "A volume named " + v->name + " already exists");
  v->createdNs = nowNs();
  auto ds = hv::Datastore::open(stores_.at(v->store));
  if (!ds) return std::move(ds).error();
  std::string dir = dirOf(*v);
  std::error_code ec;
  if (fs::exists(dir)) fs::remove_all(dir, ec);  // a leftover without a marker
  if (auto st = ds->createDisk(v->name + "/disk.qcow2", v->capacityMiB << 20, std::string("vic-volume")); !st) {
    fs::remove_all(dir, ec);
    return std::move(st).error().wrap("creating volume " + v->name);
  }
  if (auto st = writeFileAtomically(dir + "/" + kMarker, encodeVolume(*v)); !st) {
    fs::remove_all(dir, ec);
    return std::move(st).error().wrap("creating volume " + v->name);
  }
  volumes_[v->name] = *v;
  return v;
}

Result<Volume> Volumes::find(const std::string& name) const {
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return Error(Errc::kNotFound, "get " + name + ": no such volume");
  return it->second;
}

std::vector<Volume> Volumes::list() const {
  std::vector<Volume> out;
  for (const auto& [n, v] : volumes_) out.push_back(v);
  return out;
}

Status Volumes::remove(const std::string& name) {
  auto v = find(name);
  if (!v) return std::move(v).error();
  std::error_code ec;
  fs::remove(dirOf(*v) + "/" + kMarker, ec);  // first: a crash half way leaves a half-made volume, removed at load
  fs::remove_all(dirOf(*v), ec);
  if (ec) return Error(Errc::kIo, "removing volume " + name + ": " + ec.message());
  volumes_.erase(name);
  return ok();
}

std::string Volumes::diskPath(const Volume& v) const { return dirOf(v) + "/disk.qcow2"; }

}  // namespace vic::pl
