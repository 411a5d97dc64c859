#include "runtime/docker/top_json.h"

#include <ctime>
#include <functional>
#include <map>
#include <sstream>
#include <vector>

namespace vic::docker {

namespace {
using nlohmann::json;
using vsock::ProcessInfo;
constexpr int64_t kSec = 1'000'000'000;

std::string twoDigits(int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); }

std::string command(const ProcessInfo& p) {
  if (p.argv.empty()) return "[" + p.comm + "]";
  std::string out;
  for (const auto& a : p.argv) out += (out.empty() ? "" : " ") + a;
  return out;
}
std::string user(const ProcessInfo& p) { return p.user.empty() ? std::to_string(p.uid) : p.user; }
std::string tty(const ProcessInfo& p) { return p.tty.empty() ? "?" : p.tty; }

std::string clockTime(uint64_t ns) {  // ps -f's TIME: [DD-]HH:MM:SS
  int64_t s = static_cast<int64_t>(ns / kSec), days = s / 86400;
  std::string hms = twoDigits(s / 3600 % 24) + ":" + twoDigits(s / 60 % 60) + ":" + twoDigits(s % 60);
  return days > 0 ? std::to_string(days) + "-" + hms : hms;
}
std::string bsdTime(uint64_t ns) {  // ps aux's TIME: M:SS
  int64_t s = static_cast<int64_t>(ns / kSec);
  return std::to_string(s / 60) + ":" + twoDigits(s % 60);
}
std::string startTime(int64_t startNs, int64_t nowNs) {  // HH:MM today, else MonDD (UTC)
  time_t start = static_cast<time_t>(startNs / kSec), now = static_cast<time_t>(nowNs / kSec);
  std::tm st{}, nt{};
  ::gmtime_r(&start, &st);
  ::gmtime_r(&now, &nt);
  char buf[16];
  if (st.tm_yday == nt.tm_yday && st.tm_year == nt.tm_year) std::strftime(buf, sizeof buf, "%H:%M", &st);
  else std::strftime(buf, sizeof buf, "%b%d", &st);
  return buf;
}
double cpuShare(const ProcessInfo& p, int64_t nowNs) {
  int64_t ran = nowNs - p.startNs;
  return ran > 0 ? 100.0 * static_cast<double>(p.cpuNs) / static_cast<double>(ran) : 0.0;
}
std::string oneDecimal(double v) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  o << v;
  return o.str();
}
std::string elapsed(const ProcessInfo& p, int64_t nowNs) {  // [[DD-]HH:]MM:SS
  int64_t s = std::max<int64_t>(0, (nowNs - p.startNs) / kSec), days = s / 86400;
  std::string ms = twoDigits(s / 60 % 60) + ":" + twoDigits(s % 60);
  if (s < 3600) return ms;
  std::string hms = twoDigits(s / 3600 % 24) + ":" + ms;
  return days > 0 ? std::to_string(days) + "-" + hms : hms;
}

struct Column {
  std::string title;
  std::function<std::string(const ProcessInfo&)> value;
};

std::map<std::string, Column> fields(const vsock::ProcessList& l) {
  int64_t now = l.nowNs;
  auto mem = [&l](const ProcessInfo& p) { return l.memTotalKiB ? oneDecimal(100.0 * p.rssKiB / l.memTotalKiB) : "0.0"; };
  return {{"pid", {"PID", [](const ProcessInfo& p) { return std::to_string(p.pid); }}},
          {"ppid", {"PPID", [](const ProcessInfo& p) { return std::to_string(p.ppid); }}},
          {"user", {"USER", user}},
          {"uid", {"UID", [](const ProcessInfo& p) { return std::to_string(p.uid); }}},
          {"comm", {"COMMAND", [](const ProcessInfo& p) { return p.comm; }}},
          {"args", {"COMMAND", command}},
          {"command", {"COMMAND", command}},
          {"cmd", {"CMD", command}},
          {"rss", {"RSS", [](const ProcessInfo& p) { return std::to_string(p.rssKiB); }}},
          {"vsz", {"VSZ", [](const ProcessInfo& p) { return std::to_string(p.vszKiB); }}},
          {"stat", {"STAT", [](const ProcessInfo& p) { return p.state; }}},
          {"s", {"S", [](const ProcessInfo& p) { return p.state; }}},
          {"time", {"TIME", [](const ProcessInfo& p) { return clockTime(p.cpuNs); }}},
          {"tty", {"TT", tty}},
          {"%cpu", {"%CPU", [now](const ProcessInfo& p) { return oneDecimal(cpuShare(p, now)); }}},
          {"%mem", {"%MEM", mem}},
          {"etime", {"ELAPSED", [now](const ProcessInfo& p) { return elapsed(p, now); }}},
          {"stime", {"STIME", [now](const ProcessInfo& p) { return startTime(p.startNs, now); }}},
          {"start", {"START", [now](const ProcessInfo& p) { return startTime(p.startNs, now); }}}};
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

Error unsupported(const std::string& psArgs) {
  return Error(Errc::kInvalidArgument, "ps options \"" + psArgs + "\" are not supported by a VCH: its guest lists processes "
                                       "itself; use -ef (the default), aux, or -o/-eo with pid, ppid, user, uid, comm, args, "
                                       "cmd, rss, vsz, stat, time, tty, %cpu, %mem, etime, stime");
}

// The -o field list, from "-o a,b", "-eo a,b", "-e -o a,b" or "-o a -o b"; nullopt: not that form.
std::optional<std::vector<std::string>> customFields(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  bool any = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "-e" || w == "-A") continue;
    if ((w == "-o" || w == "-eo" || w == "-Ao") && i + 1 < words.size()) {
      for (auto& f : split(words[++i], ',')) out.push_back(f);
      any = true;
      continue;
    }
    return std::nullopt;
  }
  if (!any || out.empty()) return std::nullopt;
  return out;
}
}  // namespace

Result<json> topJson(const vsock::ProcessList& list, const std::string& psArgs) {
  auto words = split(psArgs, ' ');
  auto all = fields(list);
  std::vector<Column> cols;
  bool full = words.empty() || words == std::vector<std::string>{"-ef"} || words == std::vector<std::string>{"-fe"} ||
              words == std::vector<std::string>{"-e", "-f"} || words == std::vector<std::string>{"-f"};
  bool bsd = words == std::vector<std::string>{"aux"} || words == std::vector<std::string>{"-aux"};
  if (full) {
    int64_t now = list.nowNs;
    cols = {{"UID", user}, all["pid"], all["ppid"],
            {"C", [now](const ProcessInfo& p) { return std::to_string(std::min<int64_t>(99, static_cast<int64_t>(cpuShare(p, now)))); }},
            all["stime"], {"TTY", tty}, all["time"], all["cmd"]};
  } else if (bsd) {
    cols = {all["user"], all["pid"], all["%cpu"], all["%mem"], all["vsz"], all["rss"], all["tty"], all["stat"], all["start"],
            {"TIME", [](const ProcessInfo& p) { return bsdTime(p.cpuNs); }}, all["command"]};
    cols[6].title = "TTY";
  } else if (auto custom = customFields(words)) {
    for (const auto& f : *custom) {
      auto it = all.find(f);
      if (it == all.end()) return unsupported(psArgs);
      cols.push_back(it->second);
    }
  } else {
    return unsupported(psArgs);
  }
  json titles = json::array(), rows = json::array();
  for (const auto& c : cols) titles.push_back(c.title);
  for (const auto& p : list.processes) {
    json row = json::array();
    for (const auto& c : cols) row.push_back(c.value(p));
    rows.push_back(row);
  }
  return json{{"Titles", titles}, {"Processes", rows}};
}

}  // namespace vic::docker
