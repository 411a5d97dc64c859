// Reading a client's JSON leniently, as dockerd does: a missing key or one of the wrong type
// reads as absent.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vic::docker {

// j[key] when j is an object that has it, else null.
inline nlohmann::json field(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) ? j[key] : nlohmann::json();
}

// A string or an array's strings (other elements skipped): docker's strslice.
inline std::vector<std::string> strings(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_array()) {
    for (const auto& v : j) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

}  // namespace vic::docker
