#include "runtime/build/builder.h"

#include <ctime>
#include <filesystem>
#include <set>

#include "common/json.h"
#include "common/time.h"
#include "images/manifest.h"
#include "runtime/build/copy_tar.h"
#include "runtime/build/text.h"

namespace vic::build {
namespace fs = std::filesystem;

namespace cfg {

nlohmann::json scratch() {
  return {{"architecture", "amd64"}, {"os", "linux"}, {"config", nlohmann::json::object()},
          {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}, {"history", nlohmann::json::array()}};
}

void setEnv(nlohmann::json& config, const std::string& key, const std::string& value) {
  nlohmann::json& env = config["Env"];
  if (!env.is_array()) env = nlohmann::json::array();
  std::string entry = key + "=" + value;
  for (auto& e : env) {
    if (e.is_string() && e.get<std::string>().rfind(key + "=", 0) == 0) {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

std::string historyTime(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09lldZ", static_cast<long long>(ns % 1000000000));
  return std::string(buf) + frac;
}

void addHistory(nlohmann::json& image, const std::string& createdBy, bool emptyLayer, int64_t ns) {
  if (!image["history"].is_array()) image["history"] = nlohmann::json::array();
  nlohmann::json h = {{"created", historyTime(ns)}, {"created_by", createdBy}};
  if (emptyLayer) h["empty_layer"] = true;
  image["history"].push_back(h);
  image["created"] = historyTime(ns);
}

void addLayer(nlohmann::json& image, const std::string& diffId) {
  auto& rootfs = image["rootfs"];
  if (!rootfs.is_object()) rootfs = {{"type", "layers"}};
  if (!rootfs["diff_ids"].is_array()) rootfs["diff_ids"] = nlohmann::json::array();
  rootfs["diff_ids"].push_back(diffId);
}

std::string imageId(const nlohmann::json& image) { return images::sha256Digest(dumpJson(image)); }

std::string shortId(const std::string& id) {
  std::string hex = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
  return hex.substr(0, 12);
}

nlohmann::json& runConfig(ImageState& img) {
  nlohmann::json& c = img.config["config"];
  if (!c.is_object()) c = nlohmann::json::object();
  return c;
}

std::vector<std::string> shell(const nlohmann::json& runConfig) {
  std::vector<std::string> out{"/bin/sh", "-c"};
  if (runConfig.contains("Shell") && runConfig["Shell"].is_array() && !runConfig["Shell"].empty()) {
    out.clear();
    for (const auto& s : runConfig["Shell"]) out.push_back(s.is_string() ? s.get<std::string>() : "");
  }
  return out;
}

}  // namespace cfg

namespace {

bool isLowerStageName(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

asio::awaitable<bool> Builder::say(std::string text) { co_return co_await out_(std::move(text)); }

Error Builder::fail(std::string message, int code) {
  failure_ = BuildFailure{message, code};
  return Error(Errc::kInvalidArgument, std::move(message));
}

Vars Builder::vars(const Stage& st) const {
  Vars v = st.args;
  const auto& c = st.img.config.contains("config") ? st.img.config["config"] : nlohmann::json::object();
  if (c.is_object() && c.contains("Env") && c["Env"].is_array()) {
    for (const auto& e : c["Env"]) {
      if (!e.is_string()) continue;
      std::string kv = e.get<std::string>();
      auto eq = kv.find('=');
      if (eq != std::string::npos) v[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return v;
}

std::vector<std::string> Builder::unusedBuildArgs() const {
  static const std::set<std::string> builtin{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                                             "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};
  std::vector<std::string> out;
  for (const auto& [k, v] : opts_.buildArgs) {
    if (!usedArgs_.count(k) && !builtin.count(k)) out.push_back(k);  // docker never warns about its proxy args
  }
  return out;
}

asio::awaitable<Result<std::string>> Builder::build(const Dockerfile& file) {
  escape_ = file.escape;
  size_t last = file.stages.size();
  if (!opts_.target.empty()) {
    last = 0;
    while (last < file.stages.size() && file.stages[last].name != detail::toLower(opts_.target)) ++last;
    if (last == file.stages.size()) co_return fail("failed to reach build target " + opts_.target + " in Dockerfile");
    ++last;
  }
  if (last == 0) co_return fail("no build stage in current context");
  steps_ = file.metaArgs.size();  // docker counts the stages it builds
  for (size_t i = 0; i < last; ++i) steps_ += 1 + file.stages[i].commands.size();
  for (const auto& in : file.metaArgs) {
    ++stepNo_;
    if (!co_await say("Step " + std::to_string(stepNo_) + "/" + std::to_string(steps_) + " : " + in.original + "\n")) {
      co_return gone();
    }
    Stage none;
    none.args = metaArgs_;  // a meta ARG sees the ones before it
    if (auto st = arg(in, none); !st) co_return std::move(st).error();
    for (const auto& [k, v] : none.args) metaArgs_[k] = v;
  }
  for (size_t i = 0; i < last; ++i) {
    if (auto st = co_await runStage(file.stages[i], i); !st) co_return std::move(st).error();
  }
  ImageState result = stages_.at(std::to_string(last - 1));
  for (const auto& [k, v] : opts_.labels) cfg::runConfig(result)["Labels"][k] = v;
  auto recorded = co_await host_.record(result, opts_.tags);
  if (!recorded) co_return fail(recorded.error().message());
  co_return recorded;
}

asio::awaitable<Status> Builder::runStage(const build::Stage& stage, size_t index) {
  Stage st;
  if (auto s = co_await from(stage, st); !s) co_return s;
  for (const auto& in : stage.commands) {
    if (auto s = co_await step(in, st); !s) co_return s;
  }
  stages_[std::to_string(index)] = st.img;
  if (!stage.name.empty()) stages_[stage.name] = st.img;
  co_return ok();
}

asio::awaitable<Result<ImageState>> Builder::stageOrImage(const std::string& name) {
  std::string lower = detail::toLower(name);
  if (auto it = stages_.find(lower); it != stages_.end() && (!isLowerStageName(lower) || name == lower)) co_return it->second;
  if (lower == "scratch") co_return ImageState{cfg::scratch(), ""};
  Output progress = [this](std::string text) -> asio::awaitable<bool> { co_return co_await say(std::move(text)); };
  co_return co_await host_.image(name, opts_.pull, progress);
}

asio::awaitable<Status> Builder::from(const build::Stage& stage, Stage& st) {
  ++stepNo_;
  if (!co_await say("Step " + std::to_string(stepNo_) + "/" + std::to_string(steps_) + " : " + stage.from.original + "\n")) {
    co_return gone();
  }
  for (const auto& [k, v] : metaArgs_) usedArgs_[k] = true;
  auto name = expandWord(stage.baseName, metaArgs_, escape_);
  if (!name) co_return fail(name.error().message());
  if (name->empty()) co_return fail("base name (" + stage.baseName + ") should not be blank");
  auto base = co_await stageOrImage(*name);
  if (!base) co_return fail(base.error().message());
  st.img = *base;
  st.key.clear();
  if (!opts_.noCache) st.key = cfg::imageId(st.img.config) + "|" + st.img.topLayer;
  if (auto s = co_await onBuild(st); !s) co_return s;
  if (!co_await say(" ---> " + cfg::shortId(cfg::imageId(st.img.config)) + "\n")) co_return gone();  // after the triggers
  co_return ok();
}

// The base image's ONBUILD triggers run first, inside the FROM step (no step lines of their own).
asio::awaitable<Status> Builder::onBuild(Stage& st) {
  auto& c = cfg::runConfig(st.img);
  if (!c.contains("OnBuild") || !c["OnBuild"].is_array() || c["OnBuild"].empty()) co_return ok();
  std::vector<std::string> triggers;
  for (const auto& t : c["OnBuild"]) {
    if (t.is_string()) triggers.push_back(t.get<std::string>());
  }
  c["OnBuild"] = nullptr;
  std::string plural = "s";
  if (triggers.size() == 1) plural.clear();
  if (!co_await say("# Executing " + std::to_string(triggers.size()) + " build trigger" + plural + "\n")) {
    co_return gone();
  }
  for (const auto& t : triggers) {
    auto parsed = parseInstructions(t, escape_);
    if (!parsed) co_return fail(parsed.error().message());
    for (const auto& in : *parsed) {
      if (in.kind == Kind::kOnbuild || in.kind == Kind::kFrom || in.kind == Kind::kMaintainer) {
        co_return fail(std::string(kindName(in.kind)) + " isn't allowed as an ONBUILD trigger");
      }
      if (auto s = co_await dispatch(in, st); !s) co_return s;
    }
  }
  co_return ok();
}

asio::awaitable<Status> Builder::step(const Instruction& in, Stage& st) {
  ++stepNo_;
  if (!co_await say("Step " + std::to_string(stepNo_) + "/" + std::to_string(steps_) + " : " + in.original + "\n")) {
    co_return gone();
  }
  if (auto done = co_await dispatch(in, st); !done) co_return done;
  if (!co_await say(" ---> " + cfg::shortId(cfg::imageId(st.img.config)) + "\n")) co_return gone();
  co_return ok();
}

asio::awaitable<Status> Builder::dispatch(const Instruction& in, Stage& st) {
  if (in.kind == Kind::kRun) co_return co_await run(in, st);
  if (in.kind == Kind::kCopy || in.kind == Kind::kAdd) co_return co_await copy(in, st);
  // ARG and the config instructions: a history entry, cached by the config they make (the
  // values they expanded to decide it, as docker's cache compares the configs).
  Stage next = st;
  Status done = ok();
  if (in.kind == Kind::kArg) {
    done = arg(in, next);
  } else {
    done = config(in, next);
  }
  if (!done) co_return done;
  std::string key;
  std::vector<std::string> parts{"config", in.original, dumpJson(next.img.config)};
  if (!co_await fromCache(next, parts, key)) {
    cfg::addHistory(next.img.config, cfg::shell(cfg::runConfig(next.img))[0] + " -c #(nop)  " + in.original, true, nowNs());
    remember(next, key);
  }
  st = std::move(next);
  co_return ok();
}

asio::awaitable<bool> Builder::fromCache(Stage& st, const std::vector<std::string>& parts, std::string& key) {
  key.clear();
  if (!st.key.empty()) key = stepKey(st.key, parts);
  if (key.empty()) co_return false;
  auto hit = cache_.find(key);
  if (!hit || (!hit->topLayer.empty() && !host_.hasLayer(hit->topLayer))) co_return false;
  st.img = *hit;
  st.key = key;
  co_await say(" ---> Using cache\n");
  co_return true;
}

void Builder::remember(Stage& st, const std::string& key) {
  st.key = key;
  if (!key.empty()) (void)cache_.put(key, st.img);  // a cache that cannot be written only costs time
}

Status Builder::arg(const Instruction& in, Stage& st) {
  Vars before = vars(st);  // every word of the instruction sees the variables before it (docker)
  for (const auto& kv : in.pairs) {
    auto key = expandWord(kv.key, before, escape_);
    if (!key) return fail(key.error().message());
    usedArgs_[*key] = true;
    // --build-arg NAME without a value (unset in the client's environment) keeps the default.
    if (auto given = opts_.buildArgs.find(*key); given != opts_.buildArgs.end() && given->second) {
      st.args[*key] = *given->second;
      continue;
    }
    if (kv.hasValue) {
      auto value = expandWord(kv.value, before, escape_);
      if (!value) return fail(value.error().message());
      st.args[*key] = *value;
    } else if (auto meta = metaArgs_.find(*key); meta != metaArgs_.end()) {
      st.args[*key] = meta->second;
    }
  }
  return ok();
}

}  // namespace vic::build
