#include "runtime/docker/filters.h"

#include <algorithm>
#include <limits>
#include <optional>

#include <re2/re2.h>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "runtime/docker/query.h"

namespace vic::docker {
using nlohmann::json;

namespace {
// The client's text in an error, cut short: a 1 MiB parameter is not echoed back whole.
std::string quoted(const std::string& text) { return text.size() <= 100 ? text : text.substr(0, 100) + "..."; }
}  // namespace

Result<Filters> parseFilters(const std::string& text, const std::set<std::string>& allowed) {
  Filters out;
  if (text.empty()) return out;
  auto j = parseJson(text);
  if (j.is_discarded() || !j.is_object()) return Error(Errc::kInvalidArgument, "invalid filters: " + quoted(text));
  for (const auto& [key, v] : j.items()) {
    if (!allowed.contains(key)) return Error(Errc::kInvalidArgument, "invalid filter '" + key + "'");
    auto& values = out[key];
    if (v.is_object()) {
      for (const auto& [value, on] : v.items()) {
        if (!on.is_boolean()) return Error(Errc::kInvalidArgument, "invalid filters: " + quoted(text));
        if (on.get<bool>()) values.insert(value);
      }
    } else if (v.is_array()) {
      for (const auto& value : v) {
        if (!value.is_string()) return Error(Errc::kInvalidArgument, "invalid filters: " + quoted(text));
        values.insert(value.get<std::string>());
      }
    } else {
      return Error(Errc::kInvalidArgument, "invalid filters: " + quoted(text));
    }
  }
  return out;
}

namespace {

template <class Pred>
bool any(const std::set<std::string>& values, Pred p) {
  for (const auto& v : values) {
    if (p(v)) return true;
  }
  return false;
}

// "key" or "key=value" against a label map.
bool labelMatches(const std::map<std::string, std::string>& labels, const std::string& want) {
  auto eq = want.find('=');
  if (eq == std::string::npos) return labels.contains(want);
  auto it = labels.find(want.substr(0, eq));
  return it != labels.end() && it->second == want.substr(eq + 1);
}

std::map<std::string, std::string> containerLabels(const pl::ContainerSpec& s) {
  std::map<std::string, std::string> out;
  auto it = s.annotations.find("docker.config");
  if (it == s.annotations.end()) return out;
  auto cfg = parseJson(it->second);
  if (cfg.is_object() && cfg.contains("Labels") && cfg["Labels"].is_object()) {
    for (const auto& [k, v] : cfg["Labels"].items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

}  // namespace

bool nameMatches(const std::string& name, const std::string& pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_never_capture(true);
  RE2 re(pattern, opts);
  if (!re.ok()) return name.find(pattern) != std::string::npos;  // not a pattern: a plain substring
  return RE2::PartialMatch(name, re) || RE2::PartialMatch("/" + name, re);
}

namespace {

// Go's time.ParseDuration for whole units: h, m, s, ms (a sign is refused: prune looks back).
std::optional<int64_t> goDurationNs(const std::string& v) {
  static const std::vector<std::pair<std::string, int64_t>> units = {
      {"ms", 1'000'000}, {"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000}};
  int64_t total = 0;
  size_t i = 0;
  while (i < v.size()) {
    size_t start = i;
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
    if (i == start || i - start > 12) return std::nullopt;
    int64_t n = std::stoll(v.substr(start, i - start));
    auto unit = std::find_if(units.begin(), units.end(), [&](const auto& u) { return v.compare(i, u.first.size(), u.first) == 0; });
    if (unit == units.end()) return std::nullopt;
    i += unit->first.size();
    if (n > std::numeric_limits<int64_t>::max() / unit->second - total / unit->second - 1) return std::nullopt;
    total += n * unit->second;
  }
  return v.empty() ? std::nullopt : std::optional<int64_t>(total);
}

}  // namespace

Result<int64_t> pruneUntil(const Filters& f, int64_t nowNs) {
  auto it = f.find("until");
  if (it == f.end()) return int64_t{0};
  int64_t earliest = 0;
  for (const auto& v : it->second) {
    auto epoch = v.empty() ? Result<int64_t>(Error(Errc::kInvalidArgument, "")) : parseTimestamp(v);
    std::optional<int64_t> at = epoch ? std::optional<int64_t>(*epoch) : std::nullopt;
    if (!at) {
      auto d = goDurationNs(v);
      if (d) at = nowNs - *d;
    }
    if (!at) return Error(Errc::kInvalidArgument, "failed to parse value as time or duration: \"" + v + "\"");
    earliest = earliest == 0 ? *at : std::min(earliest, *at);
  }
  return earliest;
}

bool globMatches(const std::string& pattern, const std::string& text) {
  if (pattern.size() > 1024) return false;
  // reach[j]: the pattern so far matches text[0, j).
  std::vector<char> reach(text.size() + 1, 0), next(text.size() + 1, 0);
  reach[0] = 1;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char pc = pattern[i];
    bool escaped = pc == '\\' && i + 1 < pattern.size();
    if (escaped) pc = pattern[++i];
    std::fill(next.begin(), next.end(), 0);
    if (pc == '*' && !escaped) {
      for (size_t j = 0; j <= text.size(); ++j) {  // any run of non-'/' bytes
        next[j] = reach[j] || (j > 0 && next[j - 1] && text[j - 1] != '/');
      }
    } else {
      for (size_t j = 1; j <= text.size(); ++j) {
        bool one = (pc == '?' && !escaped) ? text[j - 1] != '/' : text[j - 1] == pc;
        next[j] = reach[j - 1] && one;
      }
    }
    reach.swap(next);
  }
  return reach[text.size()] != 0;
}

bool containerPrunable(const pl::ContainerInfo& c, const Filters& f, int64_t untilNs) {
  if (c.status.state == pl::RunState::kRunning || c.status.state == pl::RunState::kRemoving) return false;
  if (untilNs != 0 && c.spec.createdNs >= untilNs) return false;
  return pruneLabelsMatch(containerLabels(c.spec), f);
}

bool containerMatches(const pl::ContainerInfo& c, const Filters& f, const AncestorCheck& ancestorOf) {
  for (const auto& [key, values] : f) {
    if (values.empty()) continue;
    bool ok = false;
    if (key == "id") ok = any(values, [&](const auto& v) { return c.spec.id.rfind(v, 0) == 0; });
    else if (key == "name") ok = any(values, [&](const auto& v) { return nameMatches(c.spec.name, v); });
    else if (key == "status") ok = values.contains(pl::stateName(c.status));
    else if (key == "health") ok = values.contains(c.status.health ? c.status.health->status : "none");
    else if (key == "label") {
      auto labels = containerLabels(c.spec);
      ok = std::all_of(values.begin(), values.end(), [&](const auto& v) { return labelMatches(labels, v); });
    } else if (key == "ancestor") ok = any(values, [&](const auto& v) { return ancestorOf(v, c.spec.imageId); });
    else if (key == "exited") ok = c.status.state == pl::RunState::kExited && values.contains(std::to_string(c.status.exitCode));
    else ok = true;
    if (!ok) return false;
  }
  return true;
}

namespace {
// "busybox:1" -> "busybox", "x@sha256:.." -> "x"; anything else as it is (docker's stripTag).
std::string withoutTag(const std::string& ref) {
  if (auto at = ref.find('@'); at != std::string::npos) return ref.substr(0, at);
  auto colon = ref.rfind(':');
  if (colon == std::string::npos || ref.find('/', colon) != std::string::npos) return ref;
  return ref.substr(0, colon);
}

// docker's image event filter: the actor's id or its image (for an image event, its name),
// with or without the tag.
bool imageEventMatches(const pl::Event& e, const std::string& want) {
  auto it = e.attributes.find(e.type == "image" ? "name" : "image");
  std::string name = it == e.attributes.end() ? "" : it->second;
  return want == e.id || want == name || want == withoutTag(e.id) || (!name.empty() && want == withoutTag(name));
}
}  // namespace

bool eventMatches(const pl::Event& e, const Filters& f) {
  auto attr = [&](const std::string& k) {
    auto it = e.attributes.find(k);
    return it == e.attributes.end() ? std::string() : it->second;
  };
  for (const auto& [key, values] : f) {
    if (values.empty()) continue;
    bool ok = false;
    if (key == "type") ok = values.contains(e.type);
    else if (key == "event") ok = values.contains(e.action) || values.contains(e.action.substr(0, e.action.find(':')));  // "exec_start: sh" is exec_start
    else if (key == "container") ok = e.type == "container" && any(values, [&](const auto& v) { return e.id.rfind(v, 0) == 0 || attr("name") == v; });
    else if (key == "image") ok = any(values, [&](const auto& v) { return imageEventMatches(e, v); });
    else if (key == "label") ok = std::all_of(values.begin(), values.end(), [&](const auto& v) { return labelMatches(e.attributes, v); });
    if (!ok) return false;
  }
  return true;
}

namespace {
// Every key must match (AND); a label filter needs all its labels, other keys any value.
template <class Value>
bool allKeys(const Filters& f, const std::map<std::string, std::string>& labels, Value matches) {
  for (const auto& kv : f) {  // not a structured binding: clang 14 cannot capture one
    const std::string& key = kv.first;
    const std::set<std::string>& values = kv.second;
    if (values.empty()) continue;
    bool ok = key == "label" ? std::all_of(values.begin(), values.end(), [&](const auto& v) { return labelMatches(labels, v); })
                             : any(values, [&](const auto& v) { return matches(key, v); });
    if (!ok) return false;
  }
  return true;
}

bool truthy(const std::string& v) { return v == "true" || v == "1"; }
}  // namespace

bool networkMatches(const pl::Scope& s, const Filters& f, bool inUse) {
  std::string driver = s.kind == "external" ? "external" : "bridge";
  return allKeys(f, s.labels, [&](const std::string& key, const std::string& v) {
    if (key == "name") return s.name.find(v) != std::string::npos;
    if (key == "id") return s.id.rfind(v, 0) == 0;
    if (key == "driver") return v == driver;
    if (key == "scope") return v == "local";
    if (key == "type") return v == (s.builtin ? "builtin" : "custom");
    if (key == "dangling") return truthy(v) == (!inUse && !s.builtin);
    return false;
  });
}

bool volumeMatches(const pl::Volume& v, const Filters& f, bool inUse) {
  return allKeys(f, v.labels, [&](const std::string& key, const std::string& want) {
    if (key == "name") return v.name.find(want) != std::string::npos;
    if (key == "driver") return want == "vsphere" || want == "local";
    if (key == "dangling") return truthy(want) == !inUse;
    return false;
  });
}

bool referenceMatches(const std::string& pattern, const std::string& familiarRef) {
  size_t at = familiarRef.find('@');
  size_t colon = familiarRef.rfind(':', at == std::string::npos ? std::string::npos : at);
  bool tagged = colon != std::string::npos && familiarRef.find('/', colon) == std::string::npos;
  size_t nameEnd = at != std::string::npos ? at : (tagged ? colon : std::string::npos);
  return globMatches(pattern, familiarRef) || (nameEnd != std::string::npos && globMatches(pattern, familiarRef.substr(0, nameEnd)));
}

bool imageMatches(const ImageFacts& image, const Filters& f, std::optional<int64_t> beforeSecs, std::optional<int64_t> sinceSecs) {
  if (beforeSecs && image.created >= *beforeSecs) return false;
  if (sinceSecs && image.created <= *sinceSecs) return false;
  return allKeys(f, image.labels, [&](const std::string& key, const std::string& want) {
    if (key == "dangling") return truthy(want) == image.familiarTags.empty();
    if (key == "reference") {
      return std::any_of(image.familiarTags.begin(), image.familiarTags.end(),
                         [&](const std::string& tag) { return referenceMatches(want, tag); });
    }
    return key == "before" || key == "since";  // resolved by the caller
  });
}

namespace {
// filters.Args.MatchKVList: no values match anything; no labels match no values.
bool matchKvList(const std::map<std::string, std::string>& labels, const Filters& f, const std::string& key) {
  auto it = f.find(key);
  if (it == f.end() || it->second.empty()) return true;
  if (labels.empty()) return false;
  return std::all_of(it->second.begin(), it->second.end(), [&](const auto& v) { return labelMatches(labels, v); });
}

std::string goStringSlice(const std::set<std::string>& values) {  // fmt's %s of a []string: [a b]
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : " ") + v;
  return "[" + out + "]";
}
}  // namespace

bool pruneLabelsMatch(const std::map<std::string, std::string>& labels, const Filters& f) {
  if (!matchKvList(labels, f, "label")) return false;
  auto negated = f.find("label!");
  return negated == f.end() || negated->second.empty() || !matchKvList(labels, f, "label!");
}

Result<bool> boolFilter(const Filters& f, const std::string& key, bool dflt) {
  auto it = f.find(key);
  if (it == f.end()) return dflt;
  const auto& v = it->second;
  bool no = v.contains("0") || v.contains("false"), yes = v.contains("1") || v.contains("true");
  if (no == yes) return Error(Errc::kInvalidArgument, "invalid filter '" + key + "=" + goStringSlice(v) + "'");
  return yes;
}

Result<bool> volumePruneAll(const Filters& f) {
  auto it = f.find("all");
  if (it == f.end() || it->second.empty()) return false;
  if (it->second.size() > 1) {
    return Error(Errc::kInvalidArgument, "invalid filter 'all=" + goStringSlice(it->second) + "': only one value is expected");
  }
  static const std::set<std::string> yes = {"1", "t", "T", "TRUE", "true", "True"}, no = {"0", "f", "F", "FALSE", "false", "False"};
  const std::string& v = *it->second.begin();
  if (yes.contains(v)) return true;
  if (no.contains(v)) return false;
  return Error(Errc::kInvalidArgument, "invalid filter 'all': strconv.ParseBool: parsing \"" + v + "\": invalid syntax");
}

}  // namespace vic::docker
