// docker's `filters` query parameter ({"status":{"running":true}} or the legacy
// {"status":["running"]}) and the matching rules of `docker ps` and `docker events`.
// Pure functions, unit-tested.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/portlayer/container.h"
#include "runtime/portlayer/events.h"
#include "runtime/portlayer/network.h"
#include "runtime/portlayer/volume.h"

namespace vic::docker {

using Filters = std::map<std::string, std::set<std::string>>;

// Parses the JSON and rejects keys outside `allowed` with docker's "invalid filter 'x'".
Result<Filters> parseFilters(const std::string& text, const std::set<std::string>& allowed);

// `ancestorOf(ref, imageId)` says whether the image `imageId` is (or descends from) `ref`.
using AncestorCheck = std::function<bool(const std::string& ref, const std::string& imageId)>;

inline const std::set<std::string> kContainerFilters = {"id", "name", "status", "label", "ancestor", "exited", "health"};
inline const std::set<std::string> kEventFilters = {"container", "event", "image", "label", "type"};
inline const std::set<std::string> kNetworkFilters = {"name", "id", "driver", "label", "type", "scope", "dangling"};
inline const std::set<std::string> kVolumeFilters = {"name", "driver", "label", "dangling"};

inline const std::set<std::string> kContainerPruneFilters = {"until", "label", "label!"};

// A prune's "until": a Go duration before `nowNs` ("24h", "90m", "1h30m") or seconds since the
// epoch ("1714979289[.5]"); 0 when not given. Several values: the earliest.
Result<int64_t> pruneUntil(const Filters& f, int64_t nowNs);
// docker container prune: a container that is not running, created before `untilNs` (if not 0),
// with every "label" and none of the "label!" filters.
bool containerPrunable(const pl::ContainerInfo& c, const Filters& f, int64_t untilNs);

inline const std::set<std::string> kImageFilters = {"reference", "dangling", "label", "before", "since"};

// Go's path.Match for '*', '?' and '\' escapes ('*' and '?' never match '/'); a '[' is literal.
// O(pattern x text); a pattern over 1024 bytes matches nothing.
bool globMatches(const std::string& pattern, const std::string& text);

// docker images: `familiarTags` as docker prints them ("busybox:latest"); before/since are the
// creation times (unix seconds) of the images those filters named, already resolved.
struct ImageFacts {
  std::vector<std::string> familiarTags;
  std::map<std::string, std::string> labels;
  int64_t created = 0;
};
// docker's reference filter: the pattern against "name:tag" (or "name@digest"), or "name" alone.
bool referenceMatches(const std::string& pattern, const std::string& familiarRef);
bool imageMatches(const ImageFacts& image, const Filters& f, std::optional<int64_t> beforeSecs, std::optional<int64_t> sinceSecs);

// docker's name filter: `pattern` in Go's regexp syntax, found anywhere in the name with or
// without its leading slash. RE2 runs in time linear in the name (libstdc++'s std::regex
// backtracks for seconds on `(a|aa)*c`); a pattern RE2 refuses is matched as a substring.
bool nameMatches(const std::string& name, const std::string& pattern);

// Containers: every key must match (AND); values within a key are alternatives (OR).
bool containerMatches(const pl::ContainerInfo& c, const Filters& f, const AncestorCheck& ancestorOf);
bool eventMatches(const pl::Event& e, const Filters& f);
// `inUse`: some container names the network / volume (for "dangling").
bool networkMatches(const pl::Scope& s, const Filters& f, bool inUse);
bool volumeMatches(const pl::Volume& v, const Filters& f, bool inUse);

// ---- prunes other than containers' ----
inline const std::set<std::string> kImagePruneFilters = {"dangling", "until", "label", "label!"};
inline const std::set<std::string> kNetworkPruneFilters = {"until", "label", "label!"};
inline const std::set<std::string> kVolumePruneFilters = {"label", "label!", "all"};
// What dockerd's build cache prune accepts (a VCH has no build cache, but a filter it does not
// know is still refused the same way).
inline const std::set<std::string> kBuildPruneFilters = {"until", "unused-for", "label", "label!", "id", "parents",
                                                          "description", "inuse", "shared", "private", "type"};

// docker's prune label rule (filters.Args.MatchKVList): every "label" matches, and the
// "label!" values do not all match; a key without "=" matches any value.
bool pruneLabelsMatch(const std::map<std::string, std::string>& labels, const Filters& f);
// A boolean filter as docker's GetBoolOrDefault: absent -> `dflt`; "1"/"true" or "0"/"false"
// (one of them) -> that; anything else "invalid filter 'key=[values]'".
Result<bool> boolFilter(const Filters& f, const std::string& key, bool dflt);
// volume prune's "all": at most one value, read as Go's strconv.ParseBool.
Result<bool> volumePruneAll(const Filters& f);

}  // namespace vic::docker
