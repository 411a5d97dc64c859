// Running a helper program (qemu-img, mke2fs) and capturing what it prints.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic {

struct ProcessResult {
  int exitCode = -1;
  std::string out, err;
};

// Runs argv[0] (searched in PATH) to completion. A non-zero exit is not an error here.
Result<ProcessResult> runProcess(const std::vector<std::string>& argv);
// Same, but a non-zero exit becomes an error carrying the program's stderr.
Result<std::string> runChecked(const std::vector<std::string>& argv, const std::string& what);

// Starts argv[0] in the background with stdin from /dev/null and stdout+stderr appended to
// `logFile`; the caller reaps it (waitExit).
Result<pid_t> spawnProcess(const std::vector<std::string>& argv, const std::string& logFile);
// Starts argv[0] (searched in PATH) as a daemon: in a session of its own and not our child (it
// is reparented to init, which reaps it), stdin from /dev/null, stdout+stderr appended to
// `logFile` (created 0640), no descriptors of ours. Returns once argv[0] has been executed;
// a program that cannot be run is an error naming it.
Status spawnDetached(const std::vector<std::string>& argv, const std::string& logFile);
// Waits for a child started by spawnProcess; its exit code, or 128+signal.
int waitExit(pid_t pid);
// The child's exit code if it has exited (reaping it), else nothing.
std::optional<int> tryWaitExit(pid_t pid);

}  // namespace vic
