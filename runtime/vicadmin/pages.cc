#include "runtime/vicadmin/pages.h"

#include <algorithm>
#include <cstdio>

#include "runtime/vicadmin/model.h"

namespace vic::vicadmin {

namespace {

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
std::string e(const json& j, const char* key) { return escapeHtml(str(j, key)); }

struct NavItem {
  const char* href;
  const char* title;
};
constexpr NavItem kNav[] = {{"/", "Status"},          {"/containers", "Containers"}, {"/images", "Images"},
                            {"/volumes", "Volumes"}, {"/networks", "Networks"},     {"/logs", "Logs"},
                            {"/bundle", "Log bundle"}};

std::string nav(std::string_view active) {
  std::string out = "<nav>";
  for (const auto& n : kNav) {
    out += std::string("<a href=\"") + n.href + "\"" + (active == n.href ? " class=\"active\"" : "") + ">" + n.title + "</a>";
  }
  return out + "<form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form></nav>\n";
}

std::string layout(const std::string& vch, const std::string& title, std::string_view active, const std::string& body,
                   bool withNav = true, bool withScript = false) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escapeHtml(title) +
                    " - " + escapeHtml(vch) + " - vicadmin</title>\n<link rel=\"stylesheet\" href=\"/static/vicadmin.css\">\n";
  if (withScript) out += "<script src=\"/static/vicadmin.js\" defer></script>\n";
  out += "</head>\n<body>\n<header><span class=\"brand\">vicadmin</span> <span class=\"vch\">" + escapeHtml(vch) + "</span></header>\n";
  if (withNav) out += nav(active);
  return out + "<main>\n<h1>" + escapeHtml(title) + "</h1>\n" + body + "</main>\n</body>\n</html>\n";
}

// "endpoint is down: <why>" above a page whose facts did not come.
std::string endpointBanner(const json& page) {
  auto it = page.find("endpoint");
  if (it == page.end() || it->value("ok", false)) return "";
  return "<p class=\"alert\" data-check=\"endpoint\">" + e(*it, "reason") + "</p>\n";
}

std::string list(const json& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += "<br>";
    out += escapeHtml(i.is_string() ? i.get<std::string>() : i.dump());
  }
  return out;
}

std::string shortId(const std::string& id) {
  std::string s = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
  return s.substr(0, 12);
}

std::vector<double> numbers(const json& j) {
  std::vector<double> out;
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_number()) out.push_back(v.get<double>());
  }
  return out;
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", v);
  return buf;
}

std::string table(const std::vector<std::string>& heads, const std::string& rows, const std::string& empty) {
  if (rows.empty()) return "<p class=\"empty\">" + empty + "</p>\n";
  std::string out = "<table>\n<thead><tr>";
  for (const auto& h : heads) out += "<th>" + h + "</th>";
  return out + "</tr></thead>\n<tbody>\n" + rows + "</tbody>\n</table>\n";
}

std::string factRow(const std::string& name, const std::string& value) {
  return "<tr><th>" + escapeHtml(name) + "</th><td>" + escapeHtml(value) + "</td></tr>\n";
}

std::string poolText(const json& pool) {
  if (str(pool, "name").empty()) return "none";
  std::string out = str(pool, "name");
  if (pool.contains("cpuLimit")) {
    out += ": CPU limit " + (pool["cpuLimit"].is_number() ? percent(pool["cpuLimit"].get<double>() * 100) : std::string("none"));
    out += ", memory " + humanBytes(pool.value("memoryUsed", uint64_t{0})) + " used of " +
           (pool["memoryLimit"].is_number() ? humanBytes(pool["memoryLimit"].get<uint64_t>()) : std::string("no limit"));
    out += ", " + std::to_string(pool.value("cpuSeconds", uint64_t{0})) + " CPU seconds used";
  }
  return out;
}

std::string statusFacts(const json& s) {
  const json& lv = s.contains("libvirt") && s["libvirt"].is_object() ? s["libvirt"] : json::object();
  std::string rows = factRow("VCH", str(s, "vch")) + factRow("vic version", str(s, "version"));
  if (s.contains("dockerVersion")) rows += factRow("Docker API", str(s, "dockerVersion") + " (API " + str(s, "apiVersion") + ")");
  rows += factRow("endpoint uptime", s.contains("uptime") ? humanDuration(s["uptime"].get<int64_t>()) : "unknown");
  rows += factRow("accelerator", s.contains("accelerator") ? str(s, "accelerator") : "unknown");
  rows += factRow("tether transport", s.contains("transport") ? str(s, "transport") : "unknown");
  if (s.contains("containers")) {
    rows += factRow("containers", std::to_string(s.value("containers", 0)) + " (" + std::to_string(s.value("running", 0)) + " running), " +
                                      std::to_string(s.value("images", 0)) + " images");
  }
  rows += factRow("libvirt", lv.contains("libvirtVersion") ? str(lv, "libvirtVersion") + ", QEMU " + str(lv, "qemuVersion") : "unreachable");
  rows += factRow("resource pool", poolText(s.contains("pool") ? s["pool"] : json::object()));
  return "<table class=\"facts\">\n" + rows + "</table>\n";
}

std::string checkRows(const json& checks) {
  std::string rows;
  for (const auto& c : checks) {
    bool good = c.value("ok", false);
    rows += std::string("<tr class=\"check ") + (good ? "ok" : "fail") + "\" data-check=\"" + e(c, "id") + "\"><td class=\"verdict\">" +
            (good ? "OK" : "FAIL") + "</td><td>" + e(c, "name") + "</td><td class=\"reason\">" + e(c, "reason") + "</td></tr>\n";
  }
  return rows;
}

std::string containerRow(const json& c) {
  std::string id = str(c, "id");
  auto cpu = numbers(c.value("cpu", json::array())), mem = numbers(c.value("memory", json::array()));
  std::string cpuLabel = cpu.empty() ? "no samples" : "CPU " + percent(cpu.back());
  std::string memLabel = mem.empty() ? "no samples" : "memory " + humanBytes(static_cast<uint64_t>(mem.back()));
  return "<tr data-container=\"" + escapeHtml(shortId(id)) + "\"><td>" + e(c, "name") + "<br><code>" + escapeHtml(shortId(id)) +
         "</code></td><td class=\"state " + escapeHtml(str(c, "state")) + "\">" + e(c, "state") + "</td><td>" + e(c, "image") +
         "</td><td>" + list(c.value("ports", json::array())) + "</td><td>" + list(c.value("networks", json::array())) + "</td><td>" +
         e(c, "status") + "</td><td>" + sparkline(cpu, 0, "spark cpu", cpuLabel) + "<br>" + escapeHtml(cpuLabel) + "</td><td>" +
         sparkline(mem, 0, "spark mem", memLabel) + "<br>" + escapeHtml(memLabel) + "</td><td><a href=\"/logs/view?log=" +
         urlEncode("output:" + id) + "\">output</a> <a href=\"/logs/view?log=" + urlEncode("container:" + id) + "\">console</a></td></tr>\n";
}

std::string labels(const json& l) {
  std::string out;
  if (!l.is_object()) return out;
  for (const auto& [k, v] : l.items()) {
    if (!out.empty()) out += "<br>";
    out += escapeHtml(k) + "=" + escapeHtml(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

const json& items(const json& page) {
  static const json empty = json::array();
  auto it = page.find("items");
  return it != page.end() && it->is_array() ? *it : empty;
}

}  // namespace

std::string escapeHtml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\0': out += "&#xFFFD;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string sparkline(const std::vector<double>& values, double maxValue, const std::string& cssClass, const std::string& label) {
  constexpr int kWidth = 120, kHeight = 24;
  std::string out = "<svg class=\"" + escapeHtml(cssClass) + "\" width=\"" + std::to_string(kWidth) + "\" height=\"" +
                    std::to_string(kHeight) + "\" viewBox=\"0 0 " + std::to_string(kWidth) + " " + std::to_string(kHeight) +
                    "\" role=\"img\" aria-label=\"" + escapeHtml(label) + "\">";
  double top = maxValue > 0 ? maxValue : 0;
  for (double v : values) top = std::max(top, v);
  if (values.size() >= 2 && top > 0) {
    out += "<polyline points=\"";
    double step = static_cast<double>(kWidth) / static_cast<double>(values.size() - 1);
    for (size_t i = 0; i < values.size(); ++i) {
      double y = kHeight - 1 - std::clamp(values[i] / top, 0.0, 1.0) * (kHeight - 2);
      char pt[48];
      std::snprintf(pt, sizeof pt, "%s%.1f,%.1f", i ? " " : "", step * static_cast<double>(i), y);
      out += pt;
    }
    out += "\"/>";
  }
  return out + "</svg>";
}

std::string statusPage(const std::string& vch, const json& s) {
  bool healthy = s.value("healthy", false);
  std::string body = endpointBanner(s) + "<p class=\"summary " + (healthy ? "ok" : "fail") + "\">" +
                     (healthy ? "All checks pass." : "Some checks fail: see the reasons below.") + "</p>\n" + statusFacts(s) +
                     "<h2>Checks</h2>\n" +
                     table({"", "check", "reason"}, checkRows(s.value("checks", json::array())), "no checks");
  return layout(vch, "Status", "/", body);
}

std::string containersPage(const std::string& vch, const json& page) {
  std::string rows;
  for (const auto& c : items(page)) rows += containerRow(c);
  std::string body = endpointBanner(page) +
                     table({"name", "state", "image", "ports", "networks", "status", "CPU", "memory", "log"}, rows, "No containers.");
  return layout(vch, "Containers", "/containers", body);
}

std::string imagesPage(const std::string& vch, const json& page) {
  std::string rows;
  for (const auto& i : items(page)) {
    rows += "<tr><td><code>" + escapeHtml(shortId(str(i, "id"))) + "</code></td><td>" + list(i.value("tags", json::array())) +
            "</td><td>" + humanBytes(i.value("size", uint64_t{0})) + "</td></tr>\n";
  }
  return layout(vch, "Images", "/images", endpointBanner(page) + table({"id", "tags", "size"}, rows, "No images."));
}

std::string volumesPage(const std::string& vch, const json& page) {
  std::string rows;
  for (const auto& v : items(page)) {
    rows += "<tr><td>" + e(v, "name") + "</td><td>" + e(v, "store") + "</td><td>" + e(v, "capacity") + "</td><td>" + e(v, "driver") +
            "</td><td>" + labels(v.value("labels", json::object())) + "</td></tr>\n";
  }
  return layout(vch, "Volumes", "/volumes",
                endpointBanner(page) + table({"name", "volume store", "capacity", "driver", "labels"}, rows, "No volumes."));
}

std::string networksPage(const std::string& vch, const json& page) {
  std::string rows;
  for (const auto& n : items(page)) {
    rows += "<tr><td>" + e(n, "name") + "</td><td><code>" + escapeHtml(shortId(str(n, "id"))) + "</code></td><td>" + e(n, "driver") +
            "</td><td>" + list(n.value("subnets", json::array())) + "</td><td>" + list(n.value("gateways", json::array())) + "</td></tr>\n";
  }
  return layout(vch, "Networks", "/networks",
                endpointBanner(page) + table({"name", "id", "driver", "subnets", "gateways"}, rows, "No networks."));
}

std::string logsPage(const std::string& vch, const json& logs) {
  std::string rows;
  for (const auto& l : items(logs)) {
    std::string q = urlEncode(str(l, "name"));
    rows += "<tr><td><a href=\"/logs/view?log=" + q + "\">" + e(l, "name") + "</a></td><td>" + e(l, "title") +
            "</td><td><a href=\"/api/logs/tail?log=" + q + "&amp;lines=200\">JSON</a></td></tr>\n";
  }
  return layout(vch, "Logs", "/logs", endpointBanner(logs) + table({"log", "what", "last lines"}, rows, "No logs."));
}

std::string logViewPage(const std::string& vch, const json& tail) {
  std::string name = str(tail, "log"), text;
  for (const auto& l : tail.value("lines", json::array())) text += escapeHtml(l.is_string() ? l.get<std::string>() : "") + "\n";
  std::string body = "<p>The last " + std::to_string(tail.value("lines", json::array()).size()) + " lines of <code>" +
                     escapeHtml(name) + "</code>; new lines follow (<a href=\"/logs/view?log=" + urlEncode(name) +
                     "\">reload</a> without JavaScript).</p>\n<pre id=\"log\" data-follow=\"/api/logs/follow?log=" +
                     escapeHtml(urlEncode(name)) + "\">" + text + "</pre>\n";
  return layout(vch, "Log " + name, "/logs", body, true, true);
}

std::string loginPage(const std::string& vch, const std::string& error) {
  std::string body = error.empty() ? "" : "<p class=\"alert\">" + escapeHtml(error) + "</p>\n";
  body +=
      "<form method=\"post\" action=\"/login\" class=\"login\">\n<label for=\"token\">Admin token</label>\n"
      "<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required autofocus>\n"
      "<button type=\"submit\">Log in</button>\n</form>\n"
      "<p class=\"hint\">The token is printed by <code>vic-machine admin-token --name " + escapeHtml(vch) +
      "</code>; a browser with the VCH's client certificate needs none.</p>\n";
  return layout(vch, "Log in", "", body, false);
}

std::string errorPage(const std::string& vch, int status, const std::string& message) {
  return layout(vch, "Error " + std::to_string(status), "", "<p class=\"alert\">" + escapeHtml(message) + "</p>\n");
}

}  // namespace vic::vicadmin
