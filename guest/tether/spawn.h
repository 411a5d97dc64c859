// Starting a session's process: a pty or pipes, its own process group, the resolved user,
// the working directory, and an exec whose failure comes back as docker's error.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "guest/tether/users.h"
#include "vsock/messages.h"

namespace vic::tether {

struct Process {
  pid_t pid = -1;
  UniqueFd pty;     // TTY sessions: the master side carries stdin and output
  UniqueFd stdinW;  // pipe sessions
  UniqueFd stdoutR;
  UniqueFd stderrR;
};

// What went wrong before the process ran, with the exit code docker reports for it.
struct StartFailure {
  int exitCode;
  std::string message;
};

// Resolves user, environment and executable inside the current root (the container's),
// then forks and execs. On failure nothing is left running.
Result<Process> spawnSession(const vsock::SessionSpec& spec, const std::string& hostname,
                             StartFailure& failure);

Status setWindowSize(int ptyFd, uint16_t rows, uint16_t cols);

}  // namespace vic::tether
