// What docker exec asks the port layer to run in a container, in the port layer's own words;
// it becomes the tether's session spec (vsock::SessionSpec) only inside the port layer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/portlayer/container.h"
#include "vsock/messages.h"

namespace vic::pl {

struct ExecSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // KEY=value, over the container's own (a same key replaces it)
  std::string workdir;           // "" = the container's
  std::string user;              // "" = the container's
  bool tty = false;
  bool openStdin = false;        // stdin is closed when the client's input ends
  uint16_t rows = 0, cols = 0;   // the initial console size (0: none)
};

// `extra` over `base`: an entry whose key is already in base replaces it, others are appended.
std::vector<std::string> mergeEnv(std::vector<std::string> base, const std::vector<std::string>& extra);

// The session tether runs for exec `execId` of container `c`.
vsock::SessionSpec sessionSpec(const ExecSpec& e, const ContainerSpec& c, const std::string& execId);

}  // namespace vic::pl
