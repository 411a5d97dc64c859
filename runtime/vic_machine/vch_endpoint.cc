// The VCH endpoint daemon: started detached or as a systemd unit, waited for, stopped.
#include <signal.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/files.h"
#include "common/process.h"
#include "common/unique_fd.h"
#include "runtime/vic_machine/vch_internal.h"
#include "runtime/vic_machine/vch_manager.h"

namespace vic::machine {
namespace fs = std::filesystem;
using vch::VchConfig;

namespace {

// A VCH's two daemons, the endpoint and vicadmin, started and stopped the same way.
struct Daemon {
  std::string program;  // what its command line names: vic-endpoint or vic-admin
  std::string binary, pidFile, logFile, description;
  std::string unit;  // its systemd unit
};

Daemon endpointDaemon(const VchConfig& c) {
  return {"vic-endpoint", c.endpoint, c.pidFile, c.logFile, "vic VCH endpoint " + c.name, "vic-endpoint-" + c.name + ".service"};
}
Daemon adminDaemon(const VchConfig& c) {
  return {"vic-admin", adminBinary(c), c.adminPidFile, c.adminLogFile, "vic VCH admin page " + c.name, "vic-admin-" + c.name + ".service"};
}

std::string unitFile(const std::string& unit) { return "/etc/systemd/system/" + unit; }
bool hasSystemd() { return fs::exists("/run/systemd/system"); }

// GET /info over the endpoint's unix socket; true on a 200.
bool infoAnswers(const std::string& socketPath) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socketPath.size() >= sizeof sa.sun_path) return false;
  std::strcpy(sa.sun_path, socketPath.c_str());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return false;
  std::string req = "GET /info HTTP/1.1\r\nHost: vch\r\nConnection: close\r\n\r\n";
  if (::write(fd.get(), req.data(), req.size()) != static_cast<ssize_t>(req.size())) return false;
  char buf[64] = {};
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  return n > 12 && std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 200", 0) == 0;
}

// Whether something accepts TCP connections at host:port (0.0.0.0 is tried on loopback).
bool tcpAnswers(const std::string& hostPort) {
  auto colon = hostPort.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = hostPort.substr(0, colon);
  if (host == "0.0.0.0") host = "127.0.0.1";
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::atoi(hostPort.c_str() + colon + 1)));
  if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return false;
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
}

std::string lastLines(const std::string& file, size_t n) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) out += "\n  " + lines[i];
  return out;
}

std::string unitText(const Daemon& d, const VchConfig& cfg) {
  return "[Unit]\nDescription=" + d.description +
         "\nWants=libvirtd.service virtlogd.service\nAfter=libvirtd.service virtlogd.service network-online.target\n\n"
         "[Service]\nExecStart=" + d.binary + " --config " + configFile(cfg) +
         "\nRestart=on-failure\nStandardOutput=append:" + d.logFile + "\nStandardError=append:" + d.logFile +
         "\n\n[Install]\nWantedBy=multi-user.target\n";
}

Status installUnit(const Daemon& d, const VchConfig& cfg) {
  if (auto st = writeFileAtomically(unitFile(d.unit), unitText(d, cfg)); !st) return st;
  if (auto r = runChecked({"systemctl", "daemon-reload"}, "systemctl daemon-reload"); !r) return std::move(r).error();
  auto r = runChecked({"systemctl", "enable", "--now", d.unit}, "starting " + d.unit);
  return r ? ok() : Status(std::move(r).error());
}

Status launch(const Daemon& d, const VchConfig& cfg) {
  std::error_code ec;
  fs::remove(d.pidFile, ec);
  if (hasSystemd()) return installUnit(d, cfg);
  return spawnDetached({d.binary, "--config", configFile(cfg)}, d.logFile);
}

// The pid file outlives a reboot, and its number may then belong to anything, another VCH's
// daemon included: only a process of this program started with this VCH's vch.json counts.
std::optional<int> daemonPid(const Daemon& d, const VchConfig& cfg) {
  int pid = std::atoi(readFile(d.pidFile).c_str());
  if (pid <= 0 || ::kill(pid, 0) != 0) return std::nullopt;
  std::string cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  std::string config = std::string("--config") + '\0' + configFile(cfg) + '\0';
  if (cmdline.find(d.program) == std::string::npos || cmdline.find(config) == std::string::npos) return std::nullopt;
  return pid;
}

// Until `answers`, the daemon's process goes away, or the deadline passes.
bool waitUntilAnswering(const Daemon& d, const VchConfig& cfg, int timeoutSeconds, const std::function<bool()>& answers) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  bool sawPid = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (answers()) return true;
    bool alive = daemonPid(d, cfg).has_value();
    sawPid = sawPid || alive;
    if (sawPid && !alive) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

Status startDaemon(const Daemon& d, const VchConfig& cfg, int timeoutSeconds, const std::function<bool()>& answers) {
  if (auto st = launch(d, cfg); !st) return st.error().wrap("starting " + d.program + " of " + cfg.name);
  if (!waitUntilAnswering(d, cfg, timeoutSeconds, answers)) {
    return Error(Errc::kUnavailable, d.program + " of " + cfg.name + " did not come up; the end of " + d.logFile + ":" +
                                         lastLines(d.logFile, 8));
  }
  return ok();
}

Status stopUnit(const Daemon& d) {
  if (hasSystemd() && fs::exists(unitFile(d.unit))) {
    auto r = runChecked({"systemctl", "stop", d.unit}, "stopping " + d.unit);
    if (!r) return std::move(r).error();
  }
  return ok();
}

Status stopDaemon(const Daemon& d, const VchConfig& cfg) {
  if (auto st = stopUnit(d); !st) return st;
  auto pid = daemonPid(d, cfg);
  if (!pid) return ok();
  ::kill(*pid, SIGTERM);
  for (int i = 0; i < 100 && daemonPid(d, cfg); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (daemonPid(d, cfg)) ::kill(*pid, SIGKILL);
  for (int i = 0; i < 50 && daemonPid(d, cfg); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return daemonPid(d, cfg) ? Error(Errc::kIo, d.program + " (pid " + std::to_string(*pid) + ") did not stop") : ok();
}

void removeUnit(const std::string& unit) {
  if (!hasSystemd() || !fs::exists(unitFile(unit))) return;
  (void)runProcess({"systemctl", "disable", unit});
  std::error_code ec;
  fs::remove(unitFile(unit), ec);
}

constexpr int kAdminStartSeconds = 20;

}  // namespace

std::string adminBinary(const VchConfig& cfg) { return (fs::path(cfg.endpoint).parent_path() / "vic-admin").string(); }

std::string endpointUnitText(const VchConfig& cfg) { return unitText(endpointDaemon(cfg), cfg); }
std::string adminUnitText(const VchConfig& cfg) { return unitText(adminDaemon(cfg), cfg); }

std::optional<int> endpointPid(const VchConfig& cfg) { return daemonPid(endpointDaemon(cfg), cfg); }
std::optional<int> adminPid(const VchConfig& cfg) {
  if (cfg.adminAddress.empty()) return std::nullopt;
  return daemonPid(adminDaemon(cfg), cfg);
}

// The endpoint, then vicadmin (a VCH made before vicadmin has no adminAddress: none).
Status startEndpoint(const VchConfig& cfg, int timeoutSeconds, const Progress& progress) {
  if (endpointPid(cfg)) return Error(Errc::kConflict, "the endpoint of " + cfg.name + " is already running");
  progress("Starting the VCH endpoint (log: " + cfg.logFile + ")");
  auto answers = [&cfg] { return infoAnswers(cfg.unixSocket); };
  if (auto st = startDaemon(endpointDaemon(cfg), cfg, timeoutSeconds, answers); !st) return st;
  progress("The endpoint answers on " + cfg.unixSocket + (cfg.tcpAddress.empty() ? "" : " and " + cfg.tcpAddress));
  if (cfg.adminAddress.empty() || adminPid(cfg)) return ok();
  progress("Starting vicadmin (log: " + cfg.adminLogFile + ")");
  auto adminAnswers = [&cfg] { return tcpAnswers(cfg.adminAddress); };
  if (auto st = startDaemon(adminDaemon(cfg), cfg, kAdminStartSeconds, adminAnswers); !st) return st;
  progress("vicadmin answers on " + cfg.adminAddress);
  return ok();
}

Status stopEndpoint(const VchConfig& cfg) {
  if (!cfg.adminAddress.empty()) {
    if (auto st = stopDaemon(adminDaemon(cfg), cfg); !st) return st;
  }
  return stopDaemon(endpointDaemon(cfg), cfg);
}

void removeEndpointUnit(const std::string& vchName) {
  removeUnit("vic-endpoint-" + vchName + ".service");
  removeUnit("vic-admin-" + vchName + ".service");
}

}  // namespace vic::machine
