// vic-admin --config <datastore>/vch.json [--session-ttl SECONDS] [--address HOST:PORT]
//           [--sample-interval MS]: the VCH's admin web server (wiring only).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "common/log.h"
#include "runtime/vicadmin/server.h"

namespace {

const char* kUsage = R"(usage: vic-admin --config <datastore>/vch.json [--session-ttl SECONDS] [--address HOST:PORT] [--sample-interval MS]

vicadmin, the web page of one VCH: status checks, containers, images, volumes, networks, logs
and a log bundle, over HTTPS with the VCH's certificate (a client certificate or the token from
`vic-machine admin-token`). vic-machine starts and stops it with the endpoint. See
docs/vicadmin.md and man vic-machine(1).
)";

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

bool positive(const char* s, long long& out) {
  char* end = nullptr;
  out = std::strtoll(s, &end, 10);
  return end != s && *end == '\0' && out > 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config;
  vic::vicadmin::RunOptions opts;
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("vic-admin %s\n", VIC_VERSION);
    return 0;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    long long v = 0;
    if (std::strcmp(argv[i], "--config") == 0) config = argv[i + 1];
    else if (std::strcmp(argv[i], "--address") == 0) opts.address = argv[i + 1];
    else if (std::strcmp(argv[i], "--session-ttl") == 0 && positive(argv[i + 1], v)) opts.sessionTtl = std::chrono::seconds(v);
    else if (std::strcmp(argv[i], "--sample-interval") == 0 && positive(argv[i + 1], v)) opts.sampleInterval = std::chrono::milliseconds(v);
    else return usage();
  }
  if (config.empty() || argc % 2 == 0) return usage();
  if (const char* d = std::getenv("VIC_DEBUG"); d && *d && std::strcmp(d, "0") != 0) vic::log::setLevel(vic::log::Level::kDebug);
  auto cfg = vic::vch::loadVchConfig(config);
  if (!cfg) {
    std::fprintf(stderr, "vic-admin: %s\n", cfg.error().message().c_str());
    return 1;
  }
  if (!cfg->adminLogFile.empty()) {
    int fd = ::open(cfg->adminLogFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd >= 0) vic::log::setFd(fd);
  }
  if (!cfg->adminPidFile.empty()) std::ofstream(cfg->adminPidFile) << ::getpid() << "\n";
  auto st = vic::vicadmin::run(*cfg, opts);
  if (!st) {
    vic::log::error("vicadmin", st.error().message());
    std::fprintf(stderr, "vic-admin: %s\n", st.error().message().c_str());
    return 1;
  }
  return 0;
}
