#include "guest/tether/procfs.h"

#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "common/files.h"

namespace vic::tether {

namespace {
template <class T>
bool number(std::string_view s, T& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

int64_t clockNs(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string userName(std::string_view passwd, uint32_t uid) {
  std::string want = std::to_string(uid);
  size_t at = 0;
  while (at < passwd.size()) {
    size_t end = passwd.find('\n', at);
    std::string_view line = passwd.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? passwd.size() : end + 1;
    size_t c1 = line.find(':'), c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    size_t c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
    if (c3 != std::string_view::npos && line.substr(c2 + 1, c3 - c2 - 1) == want) return std::string(line.substr(0, c1));
  }
  return "";
}

uint32_t uidOf(const std::string& status) {
  size_t at = status.find("\nUid:");
  if (at == std::string::npos) return 0;
  std::istringstream in(status.substr(at + 5));
  uint32_t real = 0;
  in >> real;
  return real;
}

std::vector<std::string> argvOf(const std::string& cmdline) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < cmdline.size()) {
    size_t end = cmdline.find('\0', at);
    if (end == std::string::npos) end = cmdline.size();
    out.push_back(cmdline.substr(at, end - at));
    at = end + 1;
  }
  return out;
}
}  // namespace

std::optional<ProcStat> parseProcStat(std::string_view line) {
  size_t open = line.find('('), close = line.rfind(')');  // comm may hold spaces and parentheses
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ProcStat s;
  if (!number(line.substr(0, open > 0 ? open - 1 : 0), s.pid)) return std::nullopt;
  s.comm = std::string(line.substr(open + 1, close - open - 1));
  std::vector<std::string_view> f;  // f[0] is field 3 (state)
  for (size_t at = close + 2; at < line.size();) {
    size_t end = line.find(' ', at);
    if (end == std::string_view::npos) end = line.size();
    f.push_back(line.substr(at, end - at));
    at = end + 1;
  }
  if (f.size() < 22) return std::nullopt;
  s.state = std::string(f[0]);
  bool ok = number(f[1], s.ppid) && number(f[4], s.ttyNr) && number(f[11], s.utime) && number(f[12], s.stime) &&
            number(f[19], s.startTicks) && number(f[20], s.vsizeBytes);
  int64_t rss = 0;
  ok = ok && number(f[21], rss);
  s.rssPages = rss > 0 ? static_cast<uint64_t>(rss) : 0;
  if (!ok) return std::nullopt;
  return s;
}

std::string ttyName(int ttyNr) {
  if (ttyNr == 0) return "";
  unsigned major = (static_cast<unsigned>(ttyNr) >> 8) & 0xfff;
  unsigned minor = (static_cast<unsigned>(ttyNr) & 0xff) | ((static_cast<unsigned>(ttyNr) >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return "pts/" + std::to_string((major - 136) * 256 + minor);
  return "tty" + std::to_string(major) + ":" + std::to_string(minor);
}

vsock::ProcessList listProcesses(const std::string& procRoot, std::string_view passwd) {
  vsock::ProcessList out;
  out.nowNs = clockNs(CLOCK_REALTIME);
  int64_t bootNs = out.nowNs - clockNs(CLOCK_BOOTTIME);  // start ticks count from the boot
  int64_t hz = ::sysconf(_SC_CLK_TCK), page = ::sysconf(_SC_PAGESIZE);
  std::istringstream meminfo(readFile(procRoot + "/meminfo"));
  std::string key;
  meminfo >> key >> out.memTotalKiB;
  DIR* d = ::opendir(procRoot.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    int pid = 0;
    if (!number(std::string_view(e->d_name), pid) || pid == 1) continue;
    std::string dir = procRoot + "/" + e->d_name;
    auto st = parseProcStat(readFile(dir + "/stat"));
    if (!st || st->pid == 2 || st->ppid == 2) continue;  // kthreadd and its kernel threads
    vsock::ProcessInfo p;
    p.pid = st->pid;
    p.ppid = st->ppid;
    p.uid = uidOf(readFile(dir + "/status"));
    p.user = userName(passwd, p.uid);
    p.state = st->state;
    p.tty = ttyName(st->ttyNr);
    p.startNs = bootNs + static_cast<int64_t>(st->startTicks) * (1'000'000'000 / hz);
    p.cpuNs = (st->utime + st->stime) * static_cast<uint64_t>(1'000'000'000 / hz);
    p.rssKiB = st->rssPages * static_cast<uint64_t>(page) / 1024;
    p.vszKiB = st->vsizeBytes / 1024;
    p.comm = st->comm;
    p.argv = argvOf(readFile(dir + "/cmdline"));
    out.processes.push_back(std::move(p));
  }
  ::closedir(d);
  std::sort(out.processes.begin(), out.processes.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
  return out;
}

}  // namespace vic::tether
