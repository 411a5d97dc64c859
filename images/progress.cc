#include "images/progress.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/json.h"

namespace vic::images {

using nlohmann::json;

std::string humanSize(double bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (bytes >= 1000 && u < 5) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", bytes, units[u]);  // 3 significant digits, as docker
  return buf;
}

// The bar moby draws: "=" per 2 %, then ">", padded to 50.
std::string progressBar(uint64_t current, uint64_t total) {
  if (total == 0) return humanSize(static_cast<double>(current));
  // clamped as a double: a registry's size can make the ratio any number
  int pct = static_cast<int>(std::min(100.0, static_cast<double>(current) / static_cast<double>(total) * 100)) / 2;
  return "[" + std::string(pct, '=') + ">" + std::string(50 - pct, ' ') + "] " +
         humanSize(static_cast<double>(current)) + "/" + humanSize(static_cast<double>(total));
}

std::string progressStatus(const std::string& status, const std::string& id) {
  json j = {{"status", status}};
  if (!id.empty()) j["id"] = id;
  if (status == "Pulling fs layer" || status == "Waiting" || status == "Verifying Checksum" ||
      status == "Download complete" || status == "Pull complete" || status == "Already exists") {
    j["progressDetail"] = json::object();
  }
  return dumpJson(j) + "\r\n";
}

std::string progressBytes(const std::string& status, const std::string& id, uint64_t current, uint64_t total) {
  json detail = {{"current", current}};
  if (total > 0) detail["total"] = total;
  json j = {{"status", status}, {"progressDetail", detail}, {"progress", progressBar(current, total)}, {"id", id}};
  return dumpJson(j) + "\r\n";
}

std::string progressAction(const std::string& action, const std::string& id) {
  json j = {{"status", action}, {"progressDetail", json::object()}, {"id", id}};
  return dumpJson(j) + "\r\n";
}

std::string progressPushAux(const std::string& tag, const std::string& digest, size_t size) {
  json j = {{"progressDetail", json::object()}, {"aux", {{"Tag", tag}, {"Digest", digest}, {"Size", size}}}};
  return dumpJson(j) + "\r\n";
}

std::string progressError(const std::string& message) {
  // dumpJson: a message may quote what a registry sent, invalid UTF-8 included
  return dumpJson(json{{"errorDetail", {{"message", message}}}, {"error", message}}) + "\r\n";
}

}  // namespace vic::images
