#include "runtime/portlayer/volume.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <cctype>

#include "common/files.h"
#include "common/json.h"
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
              {"opts", v.opts}, {"anonymous", v.anonymous}, {"createdNs", v.createdNs}}
      .dump();
}

Result<Volume> decodeVolume(const std::string& text) {
  auto parsed = parseJsonObject(text, "volume record");
  if (!parsed) return std::move(parsed).error();
  json& j = *parsed;
  Volume v;
  try {
    v.name = j.at("name").get<std::string>();
    v.store = j.value("store", "default");
    v.capacityMiB = j.value("capacityMiB", uint64_t{1024});
    v.labels = j.value("labels", std::map<std::string, std::string>{});
    v.opts = j.value("opts", std::map<std::string, std::string>{});
    v.anonymous = j.value("anonymous", false);
    v.createdNs = j.value("createdNs", int64_t{0});
  } catch (const json::exception& e) {
    return Error(Errc::kInvalidArgument, std::string("volume record: ") + e.what());
  }
  return v;
}

namespace {

// "<digits>[ ][kmgt][i][b]", any case: the number and the unit letter ('m' when none).
// Plain parsing: volume names and options come from API clients, and libstdc++'s regex
// recurses once per character (a long string ran it off the stack).
bool splitCapacity(const std::string& text, std::string& digits, char& unit) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 15) return false;
  digits = text.substr(0, i);
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string rest = text.substr(i);
  for (auto& ch : rest) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  unit = 'm';
  if (!rest.empty() && std::string("kmgt").find(rest[0]) != std::string::npos) {
    unit = rest[0];
    rest.erase(0, 1);
  }
  return rest.empty() || rest == "b" || rest == "i" || rest == "ib";
}

bool validVolumeName(const std::string& name) {
  auto ok = [](char ch, bool first) {
    return std::isalnum(static_cast<unsigned char>(ch)) || (!first && (ch == '_' || ch == '.' || ch == '-'));
  };
  if (name.size() < 2 || !ok(name[0], true)) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char ch) { return ok(ch, false); });
}

}  // namespace

Result<uint64_t> parseCapacityMiB(const std::string& text) {
  std::string digits;
  char unit = 'm';
  if (!splitCapacity(text, digits, unit)) {
    return Error(Errc::kInvalidArgument, "invalid Capacity \"" + text.substr(0, 100) + "\": use a size such as 2048 (MiB), 512MB, 2GB or 1TB");
  }
  uint64_t n = std::stoull(digits);
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
  Volume v;
  v.name = r.name.empty() ? newContainerId() : r.name;
  if (!validVolumeName(v.name)) {
    std::string shown = v.name.substr(0, 200);
    return Error(Errc::kInvalidArgument, "create " + shown + ": \"" + shown +
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
  v.opts = r.opts;
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
  // a volume's data is the container's: QEMU may use the disk, no other host user may read it
  if (auto st = hv::shareWithQemu(dir + "/disk.qcow2", 0660); !st) {
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
