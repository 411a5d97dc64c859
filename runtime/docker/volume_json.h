// Docker's volume JSON <-> the port layer's volumes: what `-v`, `--mount type=volume`, the
// image's VOLUMEs and `docker volume create` ask for, and what inspect and `volume ls` show.
// Pure functions, golden-tested.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/portlayer/container.h"
#include "runtime/portlayer/volume.h"

namespace vic::docker {
using nlohmann::json;

// Binds ("name:/path[:ro]"; host paths are refused), Volumes ({"/path":{}}, anonymous),
// HostConfig.Mounts (type volume) and the image's Volumes; one mount per target, the explicit
// ones first.
Result<std::vector<pl::VolumeMount>> volumesFromCreate(const json& body, const json& imageConfig);

Result<pl::VolumeRequest> volumeRequestFromCreate(const json& body);
json volumeJson(const pl::Volume& v, const std::string& disk);
// inspect's Mounts (`disk` gives each volume's disk path) and ps's.
json mountsJson(const pl::ContainerSpec& s, const std::function<std::string(const std::string&)>& disk);

}  // namespace vic::docker
