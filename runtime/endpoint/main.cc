// vic-endpoint --config <datastore>/vch.json: the VCH endpoint (wiring only).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

#include "common/log.h"
#include "runtime/endpoint/endpoint.h"

int main(int argc, char** argv) {
  std::string config;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0) config = argv[i + 1];
  }
  if (config.empty()) {
    std::fprintf(stderr, "usage: vic-endpoint --config <datastore>/vch.json\n");
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
