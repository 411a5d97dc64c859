// vicadmin's place in a VCH: its port, login token, log and pid files, and its URL.
#include <sys/random.h>

#include <filesystem>

#include "common/files.h"
#include "common/net.h"
#include "runtime/vic_machine/vch_internal.h"
#include "runtime/vic_machine/vch_manager.h"

namespace vic::machine {
namespace fs = std::filesystem;
using vch::VchConfig;

namespace {

constexpr int kAdminPort = 2378;  // VIC's vicadmin port

std::string hostOf(const std::string& hostPort) {
  auto colon = hostPort.rfind(':');
  return colon == std::string::npos ? hostPort : hostPort.substr(0, colon);
}

Result<std::string> randomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  for (size_t got = 0; got < bytes;) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error(Errc::kIo, std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char ch : raw) hex += {digits[ch >> 4], digits[ch & 15]};
  return hex;
}

}  // namespace

int portOf(const std::string& hostPort) {
  auto colon = hostPort.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(hostPort.c_str() + colon + 1);
}

bool portTakenByVch(int port, const std::vector<VchConfig>& others) {
  for (const auto& v : others) {
    if (portOf(v.tcpAddress) == port || (!v.adminAddress.empty() && portOf(v.adminAddress) == port)) return true;
  }
  return false;
}

Result<int> pickAdminPort(const std::string& address, int wanted, int apiPort, const std::vector<VchConfig>& others) {
  auto taken = [&](int p) { return p == apiPort || portTakenByVch(p, others) || !portFree(address, p); };
  if (wanted != 0) {
    if (taken(wanted)) return Error(Errc::kConflict, "port " + std::to_string(wanted) + " on " + address + " is in use (--admin-port)");
    return wanted;
  }
  for (int p = kAdminPort; p < kAdminPort + 100; ++p) {
    if (!taken(p)) return p;
  }
  return Error(Errc::kConflict, "no free vicadmin port between 2378 and 2477; pass --admin-port");
}

void layOutAdmin(VchConfig& c, int port) {
  c.adminAddress = hostOf(c.tcpAddress.empty() ? "127.0.0.1" : c.tcpAddress) + ":" + std::to_string(port);
  c.adminTokenFile = c.datastore + "/admin-token";
  c.adminLogFile = c.datastore + "/vicadmin.log";
  c.adminPidFile = c.datastore + "/vicadmin.pid";
}

Result<std::string> adminToken(const VchConfig& cfg, bool rotate) {
  if (cfg.adminTokenFile.empty()) return Error(Errc::kNotFound, "VCH " + cfg.name + " has no vicadmin (vic-machine upgrade adds it)");
  std::string token = readFile(cfg.adminTokenFile);
  while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
  if (!rotate && !token.empty()) return token;
  auto fresh = randomHex(32);
  if (!fresh) return fresh;
  if (auto st = writeFileAtomically(cfg.adminTokenFile, *fresh + "\n", 0600); !st) return st.error().wrap("writing the vicadmin token");
  return fresh;
}

Status addAdmin(VchConfig& cfg) {
  std::vector<VchConfig> others;
  for (auto& v : listVchs()) {
    if (v.name != cfg.name) others.push_back(std::move(v));
  }
  auto port = pickAdminPort(hostOf(cfg.tcpAddress.empty() ? "127.0.0.1" : cfg.tcpAddress), 0, portOf(cfg.tcpAddress), others);
  if (!port) return port.error();
  layOutAdmin(cfg, *port);
  auto token = adminToken(cfg, false);
  return token ? ok() : Status(std::move(token).error());
}

std::string adminUrl(const VchConfig& cfg) {
  if (cfg.adminAddress.empty()) return "";
  std::string host = hostOf(cfg.adminAddress);
  if (host == "0.0.0.0") host = "127.0.0.1";
  return std::string(cfg.tls.enabled ? "https" : "http") + "://" + host + ":" + std::to_string(portOf(cfg.adminAddress)) + "/";
}

}  // namespace vic::machine
