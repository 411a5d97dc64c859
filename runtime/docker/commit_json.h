// docker commit's image config (pure; golden-tested): the base image's config with the
// container's settings, the body's overrides and the --change lines, one more diff id and one
// more history entry.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::docker {

struct CommitRequest {
  nlohmann::json containerConfig;  // the container's Config (as inspect shows it)
  nlohmann::json overrides;        // the request body (a container config; may be null)
  std::vector<std::string> changes;  // "CMD [\"sh\"]", "ENV A=1", ...
  std::string containerId, comment, author, createdBy;
  std::string diffId;              // the committed layer
  std::string created;             // RFC 3339
};

// Applies Dockerfile-style --change lines to an image config's "config" object.
Result<nlohmann::json> applyChanges(nlohmann::json config, const std::vector<std::string>& changes);
Result<nlohmann::json> commitImageConfig(const nlohmann::json& baseImageConfig, const CommitRequest& r);

}  // namespace vic::docker
