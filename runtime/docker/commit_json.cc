#include "runtime/docker/commit_json.h"

#include <algorithm>
#include <sstream>

#include "common/json.h"

namespace vic::docker {
namespace {

using json = nlohmann::json;

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// CMD/ENTRYPOINT: the JSON array form as given, the shell form run by /bin/sh -c.
json commandForm(const std::string& arg) {
  auto j = parseJson(arg);
  if (!j.is_discarded() && j.is_array() && std::all_of(j.begin(), j.end(), [](const json& e) { return e.is_string(); })) return j;
  return json::array({"/bin/sh", "-c", arg});
}

std::string keyOf(const std::string& kv) { return kv.substr(0, kv.find('=')); }

void setEnv(json& config, const std::string& kv) {
  if (!config.contains("Env") || !config["Env"].is_array()) config["Env"] = json::array();
  for (auto& e : config["Env"]) {
    if (e.is_string() && keyOf(e.get<std::string>()) == keyOf(kv)) {
      e = kv;
      return;
    }
  }
  config["Env"].push_back(kv);
}

// "k=v k2=v2" or the old "k v" form.
std::vector<std::string> pairs(const std::string& arg) {
  auto w = words(arg);
  if (w.size() >= 2 && w[0].find('=') == std::string::npos) return {w[0] + "=" + arg.substr(arg.find(w[1]))};
  std::vector<std::string> out;
  for (auto& p : w) {
    if (p.size() >= 2 && p.find("=\"") != std::string::npos && p.back() == '"') p.erase(p.find("=\"") + 1, 1), p.pop_back();
    out.push_back(p);
  }
  return out;
}

Status applyChange(json& config, const std::string& line) {
  std::string trimmed = line.substr(std::min(line.find_first_not_of(" \t"), line.size()));
  auto space = trimmed.find_first_of(" \t");
  std::string instr = trimmed.substr(0, space), arg = space == std::string::npos ? "" : trimmed.substr(space + 1);
  std::transform(instr.begin(), instr.end(), instr.begin(), ::toupper);
  arg = arg.substr(std::min(arg.find_first_not_of(" \t"), arg.size()));
  if (instr == "CMD") config["Cmd"] = commandForm(arg);
  else if (instr == "ENTRYPOINT") config["Entrypoint"] = commandForm(arg);
  else if (instr == "ENV") for (const auto& kv : pairs(arg)) setEnv(config, kv);
  else if (instr == "LABEL") {
    for (const auto& kv : pairs(arg)) {
      auto eq = kv.find('=');
      config["Labels"][kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
  } else if (instr == "EXPOSE") {
    for (auto p : words(arg)) config["ExposedPorts"][p.find('/') == std::string::npos ? p + "/tcp" : p] = json::object();
  } else if (instr == "VOLUME") {
    auto j = parseJson(arg);
    bool strings = j.is_array() && std::all_of(j.begin(), j.end(), [](const json& e) { return e.is_string(); });
    std::vector<std::string> paths = strings ? j.get<std::vector<std::string>>() : words(arg);
    for (const auto& p : paths) config["Volumes"][p] = json::object();
  } else if (instr == "USER") config["User"] = arg;
  else if (instr == "WORKDIR") config["WorkingDir"] = arg;
  else if (instr == "STOPSIGNAL") config["StopSignal"] = arg;
  else if (instr == "ONBUILD" || instr == "HEALTHCHECK") return Error(Errc::kInvalidArgument, instr + " is not supported by vic's commit");
  else if (instr == "RUN" || instr == "FROM" || instr == "COPY" || instr == "ADD" || instr == "ARG" || instr == "SHELL" || instr == "MAINTAINER") {
    return Error(Errc::kInvalidArgument, instr + " is not a valid change command");
  } else {
    return Error(Errc::kInvalidArgument, "dockerfile parse error on line 1: unknown instruction: " + instr);
  }
  return ok();
}

}  // namespace

Result<json> applyChanges(json config, const std::vector<std::string>& changes) {
  if (!config.is_object()) config = json::object();
  for (const auto& c : changes) {
    std::istringstream lines(c);  // the CLI may send several lines in one --change
    for (std::string line; std::getline(lines, line);) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (auto st = applyChange(config, line); !st) return std::move(st).error();
    }
  }
  return config;
}

Result<json> commitImageConfig(const json& base, const CommitRequest& r) {
  json config = base.contains("config") && base["config"].is_object() ? base["config"] : json::object();
  const json& mine = r.containerConfig;
  for (const char* k : {"Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts", "Volumes", "StopSignal"}) {
    if (mine.contains(k) && !mine[k].is_null() && !(mine[k].is_string() && mine[k].get<std::string>().empty())) config[k] = mine[k];
  }
  if (mine.contains("Env") && mine["Env"].is_array()) {
    for (const auto& e : mine["Env"]) if (e.is_string()) setEnv(config, e.get<std::string>());
  }
  if (r.overrides.is_object()) {
    for (auto it = r.overrides.begin(); it != r.overrides.end(); ++it) {
      if (!it.value().is_null()) config[it.key()] = it.value();
    }
  }
  auto changed = applyChanges(config, r.changes);
  if (!changed) return std::move(changed).error();
  json out = base.is_object() ? base : json::object();
  out["config"] = *changed;
  out["container"] = r.containerId;
  out["created"] = r.created;
  if (!r.author.empty()) out["author"] = r.author;
  if (!out.contains("rootfs") || !out["rootfs"].is_object()) out["rootfs"] = {{"type", "layers"}, {"diff_ids", json::array()}};
  out["rootfs"]["diff_ids"].push_back(r.diffId);
  json entry = {{"created", r.created}, {"created_by", r.createdBy}};
  if (!r.author.empty()) entry["author"] = r.author;
  if (!r.comment.empty()) entry["comment"] = r.comment;
  if (!out.contains("history") || !out["history"].is_array()) out["history"] = json::array();
  out["history"].push_back(entry);
  return out;
}

}  // namespace vic::docker
