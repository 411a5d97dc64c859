// The VCH endpoint daemon: started detached or as a systemd unit, waited for, stopped.
#include <signal.h>
#include <sys/socket.h>
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

std::string unitName(const std::string& name) { return "vic-endpoint-" + name + ".service"; }
std::string unitFile(const std::string& name) { return "/etc/systemd/system/" + unitName(name); }
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

std::string lastLines(const std::string& file, size_t n) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) out += "\n  " + lines[i];
  return out;
}

Status installUnit(const VchConfig& cfg) {
  if (auto st = writeFileAtomically(unitFile(cfg.name), endpointUnitText(cfg)); !st) return st;
  if (auto r = runChecked({"systemctl", "daemon-reload"}, "systemctl daemon-reload"); !r) return std::move(r).error();
  auto r = runChecked({"systemctl", "enable", "--now", unitName(cfg.name)}, "starting " + unitName(cfg.name));
  return r ? ok() : Status(std::move(r).error());
}

Status launch(const VchConfig& cfg) {
  if (hasSystemd()) return installUnit(cfg);
  return spawnDetached({cfg.endpoint, "--config", configFile(cfg)}, cfg.logFile);
}

// Until the API answers, the endpoint's process goes away, or the deadline passes.
bool waitUntilAnswering(const VchConfig& cfg, int timeoutSeconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  bool sawPid = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (infoAnswers(cfg.unixSocket)) return true;
    bool alive = endpointPid(cfg).has_value();
    sawPid = sawPid || alive;
    if (sawPid && !alive) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace

std::string endpointUnitText(const VchConfig& cfg) {
  return "[Unit]\nDescription=vic VCH endpoint " + cfg.name +
         "\nWants=libvirtd.service virtlogd.service\nAfter=libvirtd.service virtlogd.service network-online.target\n\n"
         "[Service]\nExecStart=" + cfg.endpoint + " --config " + configFile(cfg) +
         "\nRestart=on-failure\nStandardOutput=append:" + cfg.logFile + "\nStandardError=append:" + cfg.logFile +
         "\n\n[Install]\nWantedBy=multi-user.target\n";
}

// The pid file outlives a reboot, and its number may then belong to anything, another VCH's
// endpoint included: only a process started with this VCH's vch.json counts.
std::optional<int> endpointPid(const VchConfig& cfg) {
  int pid = std::atoi(readFile(cfg.pidFile).c_str());
  if (pid <= 0 || ::kill(pid, 0) != 0) return std::nullopt;
  std::string cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  std::string config = std::string("--config") + '\0' + configFile(cfg) + '\0';
  if (cmdline.find("vic-endpoint") == std::string::npos || cmdline.find(config) == std::string::npos) return std::nullopt;
  return pid;
}

Status startEndpoint(const VchConfig& cfg, int timeoutSeconds, const Progress& progress) {
  if (endpointPid(cfg)) return Error(Errc::kConflict, "the endpoint of " + cfg.name + " is already running");
  progress("Starting the VCH endpoint (log: " + cfg.logFile + ")");
  std::error_code ec;
  fs::remove(cfg.pidFile, ec);
  if (auto st = launch(cfg); !st) return st.error().wrap("starting the endpoint of " + cfg.name);
  if (!waitUntilAnswering(cfg, timeoutSeconds)) {
    return Error(Errc::kUnavailable, "the endpoint of " + cfg.name + " did not come up; the end of " + cfg.logFile + ":" +
                                         lastLines(cfg.logFile, 8));
  }
  progress("The endpoint answers on " + cfg.unixSocket + (cfg.tcpAddress.empty() ? "" : " and " + cfg.tcpAddress));
  return ok();
}

Status stopEndpoint(const VchConfig& cfg) {
  if (hasSystemd() && fs::exists(unitFile(cfg.name))) {
    auto r = runChecked({"systemctl", "stop", unitName(cfg.name)}, "stopping " + unitName(cfg.name));
    if (!r) return std::move(r).error();
  }
  auto pid = endpointPid(cfg);
  if (!pid) return ok();
  ::kill(*pid, SIGTERM);
  for (int i = 0; i < 100 && endpointPid(cfg); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (endpointPid(cfg)) ::kill(*pid, SIGKILL);
  for (int i = 0; i < 50 && endpointPid(cfg); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return endpointPid(cfg) ? Error(Errc::kIo, "the endpoint (pid " + std::to_string(*pid) + ") did not stop") : ok();
}

void removeEndpointUnit(const std::string& vchName) {
  if (!hasSystemd() || !fs::exists(unitFile(vchName))) return;
  (void)runProcess({"systemctl", "disable", unitName(vchName)});
  std::error_code ec;
  fs::remove(unitFile(vchName), ec);
}

}  // namespace vic::machine
