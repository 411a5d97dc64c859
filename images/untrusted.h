// Reading documents a registry (or an image archive) wrote: typed, total access to JSON
// members, and text that is safe to put into an error message. Nothing here throws on
// hostile input; the first problem found is kept and named by its path ("layers[2].size").
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace vic::images {

// Reads the members of one JSON object. Each getter returns a fallback and records an error
// when the member has the wrong type (or is missing and required); error() gives the first.
class FieldReader {
 public:
  // `path` names the object in messages ("" for the document, "layers[2]" for an element).
  FieldReader(const nlohmann::json& obj, std::string path);
  FieldReader(nlohmann::json&&, std::string) = delete;  // it keeps a reference

  std::string str(std::string_view key, bool required = false, std::string fallback = "");
  int64_t integer(std::string_view key, int64_t min, int64_t max, bool required = false, int64_t fallback = 0);
  // The member when it is an object / array; nullptr when absent (an error if required) or wrong.
  const nlohmann::json* object(std::string_view key, bool required = false);
  const nlohmann::json* array(std::string_view key, bool required = false);
  // A member that must be an array of strings (absent: empty).
  std::vector<std::string> strings(std::string_view key, bool required = false);

  std::string field(std::string_view key) const;  // "layers[2].size"
  void fail(std::string message);                  // records a problem found by the caller
  bool ok() const { return !problem_; }
  // "<what>: <first problem>" with `code`.
  Error error(Errc code, std::string_view what) const;
  const std::optional<std::string>& problem() const { return problem_; }

 private:
  const nlohmann::json* member(std::string_view key, bool required);
  void wrongType(std::string_view key, std::string_view want, const nlohmann::json& got);

  const nlohmann::json& obj_;
  std::string path_;
  std::optional<std::string> problem_;
};

// JSON's name for a value's type as people say it: "a string", "a number", "null".
std::string jsonTypeName(const nlohmann::json& j);

// `text` made fit for a message: invalid UTF-8 and control characters become U+FFFD, and
// anything past `maxBytes` is cut (at a character boundary) and marked with "...".
std::string printable(std::string_view text, size_t maxBytes = 256);

}  // namespace vic::images
