// The logs vicadmin shows. A log is named, never given as a path: "endpoint", "vicadmin",
// "container:<id>" (the containerVM's console: kernel and tether) or "output:<id>" (what the
// container's process wrote, as `docker logs` shows it, read from the output log on the
// datastore, so also while the endpoint is down), where <id> is a full or unique-prefix id of a
// container the endpoint lists (with the endpoint down: exactly a directory name in the
// datastore's container directory).
// Anything else is not found. Container logs are opened component by component with
// O_NOFOLLOW, as the datastore is where a guest's files live.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace vic::vicadmin {
using nlohmann::json;

struct LogRef {
  std::string name;   // canonical: "endpoint", "vicadmin", "container:<full id>", "output:<full id>"
  std::string title;  // what it is, for the list
  std::string container;  // the full id ("" for the daemons' logs)
  bool output = false;    // the container's output.log, read as records (outputTail)
};

struct LogFiles {
  std::string endpointLog, adminLog;
  std::string containersDir;  // <datastore>/containers
};

// A container's id and name as the endpoint lists them.
struct ContainerName {
  std::string id, name;
};

// The logs there are: the two daemons' and each container's console and output (from the
// endpoint's list, or with the endpoint down from the directory listing's 64-hex names). Pure.
std::vector<LogRef> availableLogs(const std::optional<std::vector<ContainerName>>& containers, const std::vector<std::string>& dirNames);

// `name` as one of them, or kNotFound saying why ("no log named ..", "no container ..",
// "container id .. is ambiguous"). Pure.
Result<LogRef> resolveLog(std::string_view name, const std::optional<std::vector<ContainerName>>& containers,
                          const std::vector<std::string>& dirNames);

// Opens the log for reading (non-blocking, a regular file only). `file` is the file in a
// container's directory; "" is the log's own (console.log, or output.log for an output log).
Result<UniqueFd> openLog(const LogRef& log, const LogFiles& files, const std::string& file = "");

// The last `n` lines of the file (reading at most its last 4 MiB); `end` gets the file's size,
// where following starts. Long lines are cut.
std::vector<std::string> tailLines(int fd, size_t n, uint64_t* end);
// The complete lines written after `offset` (at most 1 MiB per call); `offset` moves past them,
// `partial` keeps an unfinished last line for the next call. A file that shrank starts again at 0.
std::vector<std::string> newLines(int fd, uint64_t& offset, std::string& partial);

// A container's output log (binary records, vsock/log_record.h, written by tether through QEMU:
// the guest's bytes) as text lines: stdout as written, stderr lines marked "[stderr] ", a line
// for each start and exit record. What is not a record is skipped; a line that never ends is
// cut, as in tailLines.
struct OutputCursor {
  uint64_t offset = 0;   // where the next record starts in the file
  std::string out, err;  // each stream's unfinished line
};
// The last `n` lines (from the file's last 4 MiB), unfinished lines included; `end` gets where
// following starts (unfinished lines left out of it: they come again once complete).
std::vector<std::string> outputTail(int fd, size_t n, OutputCursor* end);
// The complete lines of the records written after `cursor` (at most 1 MiB per call), which
// moves past them. A file that shrank starts again at 0.
std::vector<std::string> newOutputLines(int fd, OutputCursor& cursor);

// The /api/logs model: {"endpoint": ..., "items": [{name, title}]}.
json logsModel(const std::vector<LogRef>& logs, const Status& endpoint);

}  // namespace vic::vicadmin
