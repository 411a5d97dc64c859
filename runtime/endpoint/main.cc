// vic-endpoint --config <datastore>/vch.json: the VCH endpoint (wiring only).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

#include "common/log.h"
#include "runtime/endpoint/endpoint.h"

namespace {
const char* kUsage = R"(usage: vic-endpoint --config <datastore>/vch.json

The endpoint of one VCH: serves the Docker API on the VCH's unix socket and TCP port, runs its
containers as VMs through libvirt, and keeps its state on the datastore. vic-machine starts,
restarts and upgrades it (create, restart, upgrade); it is not meant to be started by hand.
Runs until SIGTERM or SIGINT. VIC_DEBUG=1 logs at debug level. See man vic-endpoint(8).
)";
}  // namespace

int main(int argc, char** argv) {
  std::string config;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("vic-endpoint %s\n", VIC_VERSION);
      return 0;
    }
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) config = argv[++i];
  }
  if (config.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (const char* d = std::getenv("VIC_DEBUG"); d && *d && std::strcmp(d, "0") != 0) vic::log::setLevel(vic::log::Level::kDebug);
  auto cfg = vic::vch::loadVchConfig(config);
  if (!cfg) {
    std::fprintf(stderr, "vic-endpoint: %s\n", cfg.error().message().c_str());
    return 1;
  }
  if (!cfg->pidFile.empty()) std::ofstream(cfg->pidFile) << ::getpid() << "\n";
  auto st = vic::endpoint::run(*cfg);
  if (!st) {
    std::fprintf(stderr, "vic-endpoint: %s\n", st.error().message().c_str());
    return 1;
  }
  return 0;
}
