// docker top inside a containerVM: the container's processes read from the guest's /proc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vsock/messages.h"

namespace vic::tether {

// One /proc/<pid>/stat line: pid, comm, state, ppid, tty, CPU ticks, start ticks, sizes.
struct ProcStat {
  int pid = 0, ppid = 0;
  std::string comm, state;
  int ttyNr = 0;
  uint64_t utime = 0, stime = 0, startTicks = 0, vsizeBytes = 0, rssPages = 0;
};
std::optional<ProcStat> parseProcStat(std::string_view line);
// "pts/3" for a pseudo-terminal, "" for none, "tty<major>:<minor>" otherwise.
std::string ttyName(int ttyNr);

// Every process but tether (pid 1) and kernel threads, from `procRoot` (/proc), users named
// from `passwd` (the container's /etc/passwd).
vsock::ProcessList listProcesses(const std::string& procRoot, std::string_view passwd);

}  // namespace vic::tether
