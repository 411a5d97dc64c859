// vicadmin's HTML: pure functions from a page model (model.h, status.h) to a whole page.
// Every value is escaped (container names, image names, labels and log lines come from
// whoever runs containers); no inline script or style, so the Content-Security-Policy can
// forbid both: the look is /static/vicadmin.css, log following /static/vicadmin.js.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "images/auth.h"

namespace vic::vicadmin {
using nlohmann::json;

std::string escapeHtml(std::string_view s);  // & < > " ' (text and quoted attributes)
using images::urlEncode;  // a query value (RFC 3986 unreserved characters kept)

// An inline SVG line of `values` scaled to `maxValue` (0: their maximum), with `label` for
// screen readers. Empty values: an empty box.
std::string sparkline(const std::vector<double>& values, double maxValue, const std::string& cssClass, const std::string& label);

std::string statusPage(const std::string& vch, const json& status);
std::string containersPage(const std::string& vch, const json& page);
std::string imagesPage(const std::string& vch, const json& page);
std::string volumesPage(const std::string& vch, const json& page);
std::string networksPage(const std::string& vch, const json& page);
std::string logsPage(const std::string& vch, const json& logs);     // {"endpoint":..., "items":[{name, title}]}
std::string logViewPage(const std::string& vch, const json& tail);  // {"log", "lines": [...]}
std::string loginPage(const std::string& vch, const std::string& error);
std::string errorPage(const std::string& vch, int status, const std::string& message);

}  // namespace vic::vicadmin
