// The stylesheet and the one script every page uses, compiled into vic-admin (nothing is
// fetched at run time; both are written here).
#pragma once

#include <optional>
#include <string_view>

namespace vic::vicadmin {

struct StaticFile {
  std::string_view contentType;
  std::string_view body;
};

// "/static/vicadmin.css", "/static/vicadmin.js"; nullopt for anything else.
std::optional<StaticFile> staticFile(std::string_view path);

}  // namespace vic::vicadmin
