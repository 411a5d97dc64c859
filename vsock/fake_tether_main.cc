// fake-tether: serves the tether protocol with simulated sessions on a unix socket.
// Usage: fake-tether <unix-socket-path>
#include <csignal>
#include <iostream>

#include "vsock/fake_tether.h"

namespace {
std::atomic<bool> g_stop{false};
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fake-tether <unix-socket-path>\n";
    return 2;
  }
  auto ep = vic::vsock::parseEndpoint(argv[1]);
  if (!ep) {
    std::cerr << "fake-tether: " << ep.error().message() << "\n";
    return 2;
  }
  auto fake = vic::vsock::FakeTether::listen(*ep);
  if (!fake) {
    std::cerr << "fake-tether: " << fake.error().message() << "\n";
    return 1;
  }
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  (*fake)->run(g_stop);
  return 0;
}
