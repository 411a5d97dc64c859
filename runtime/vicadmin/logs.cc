#include "runtime/vicadmin/logs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "runtime/vicadmin/model.h"
#include "vsock/codec.h"
#include "vsock/log_record.h"

namespace vic::vicadmin {

namespace {

constexpr size_t kMaxLine = 16 * 1024;
constexpr uint64_t kTailWindow = uint64_t{4} << 20;
constexpr size_t kFollowChunk = 1 << 20;

bool isHex(std::string_view s, size_t min, size_t max) {
  return s.size() >= min && s.size() <= max &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string cut(std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > kMaxLine) line = line.substr(0, kMaxLine) + " [line cut]";
  return line;
}

LogRef containerLog(const std::string& id, const std::string& name) {
  return {"container:" + id, "console of container " + (name.empty() ? id.substr(0, 12) : name), id, false};
}

LogRef outputLog(const std::string& id, const std::string& name) {
  return {"output:" + id, "output of container " + (name.empty() ? id.substr(0, 12) : name) + " (docker logs)", id, true};
}

void addContainer(std::vector<LogRef>& out, const std::string& id, const std::string& name) {
  out.push_back(containerLog(id, name));
  out.push_back(outputLog(id, name));
}

Result<std::string> readAt(int fd, uint64_t offset, size_t n) {
  std::string buf(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error::fromErrno("reading a log");
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  buf.resize(got);
  return buf;
}

Result<UniqueFd> openIn(int dirFd, const std::string& name, int flags) {
  UniqueFd fd(::openat(dirFd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return Error::fromErrno("opening " + name);
  return fd;
}

Result<UniqueFd> requireRegular(UniqueFd fd, const std::string& what) {
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("stat " + what);
  if (!S_ISREG(st.st_mode)) return Error(Errc::kNotFound, what + " is not a regular file");
  return fd;
}

}  // namespace

std::vector<LogRef> availableLogs(const std::optional<std::vector<ContainerName>>& containers, const std::vector<std::string>& dirNames) {
  std::vector<LogRef> out = {{"endpoint", "the VCH endpoint (Docker API, port layer)", ""}, {"vicadmin", "this admin server", ""}};
  if (containers) {
    for (const auto& c : *containers) addContainer(out, c.id, c.name);
    return out;
  }
  for (const auto& d : dirNames) {
    if (isHex(d, 64, 64)) addContainer(out, d, "");
  }
  return out;
}

Result<LogRef> resolveLog(std::string_view name, const std::optional<std::vector<ContainerName>>& containers,
                          const std::vector<std::string>& dirNames) {
  if (name == "endpoint" || name == "vicadmin") return availableLogs(std::nullopt, {})[name == "endpoint" ? 0 : 1];
  constexpr std::string_view kConsole = "container:", kOutput = "output:";
  std::string shown(name.substr(0, 80));
  const bool output = name.starts_with(kOutput);
  if (!output && !name.starts_with(kConsole)) {
    return Error(Errc::kNotFound, "no log named \"" + shown + "\": logs are endpoint, vicadmin, container:<id> or output:<id>");
  }
  auto ref = output ? outputLog : containerLog;
  std::string_view id = name.substr(output ? kOutput.size() : kConsole.size());
  if (!isHex(id, 1, 64)) return Error(Errc::kNotFound, "no container \"" + std::string(id.substr(0, 80)) + "\": an id is 1 to 64 hex digits");
  std::vector<LogRef> matches;
  if (containers) {
    for (const auto& c : *containers) {
      if (c.id.starts_with(id)) matches.push_back(ref(c.id, c.name));
    }
  } else {
    for (const auto& d : dirNames) {
      if (d == id && isHex(d, 64, 64)) matches.push_back(ref(d, ""));
    }
  }
  if (matches.empty()) return Error(Errc::kNotFound, "no container " + std::string(id) + (containers ? "" : " (the endpoint is down: give the full id)"));
  if (matches.size() > 1) return Error(Errc::kNotFound, "container id " + std::string(id) + " is ambiguous: give more of it");
  return matches.front();
}

Result<UniqueFd> openLog(const LogRef& log, const LogFiles& files, const std::string& wanted) {
  const std::string file = !wanted.empty() ? wanted : log.output ? "output.log" : "console.log";
  if (log.container.empty()) {
    const std::string& path = log.name == "endpoint" ? files.endpointLog : files.adminLog;
    if (path.empty()) return Error(Errc::kNotFound, "the " + log.name + " log is not configured");
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd) return Error::fromErrno("opening " + path);
    return requireRegular(std::move(fd), path);
  }
  auto top = openIn(AT_FDCWD, files.containersDir, O_RDONLY | O_DIRECTORY);
  if (!top) return std::move(top).error();
  auto dir = openIn(top->get(), log.container, O_RDONLY | O_DIRECTORY);
  if (!dir) return Error(Errc::kNotFound, "container " + log.container.substr(0, 12) + " has no directory in the datastore");
  auto f = openIn(dir->get(), file, O_RDONLY);
  if (!f) return Error(Errc::kNotFound, "container " + log.container.substr(0, 12) + " has no " + file + " yet");
  return requireRegular(std::move(*f), file);
}

namespace {

// The file's last kTailWindow bytes; `from` gets where they start, `size` the file's size.
Result<std::string> lastWindow(int fd, uint64_t& from, uint64_t& size) {
  struct stat st{};
  size = ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  from = size > kTailWindow ? size - kTailWindow : 0;
  return readAt(fd, from, static_cast<size_t>(size - from));
}

}  // namespace

std::vector<std::string> tailLines(int fd, size_t n, uint64_t* end) {
  uint64_t from = 0, size = 0;
  auto text = lastWindow(fd, from, size);
  if (end) *end = size;
  if (!text) return {};
  std::string_view t = *text;
  if (from > 0) t.remove_prefix(std::min(t.size(), t.find('\n') + 1));  // a cut first line
  if (!t.empty() && t.back() == '\n') t.remove_suffix(1);
  std::vector<std::string> lines;
  while (!t.empty() && lines.size() < n) {
    auto nl = t.rfind('\n');
    lines.push_back(cut(std::string(nl == std::string_view::npos ? t : t.substr(nl + 1))));
    t = nl == std::string_view::npos ? std::string_view() : t.substr(0, nl);
  }
  std::reverse(lines.begin(), lines.end());
  return lines;
}

std::vector<std::string> newLines(int fd, uint64_t& offset, std::string& partial) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return {};
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < offset) {  // truncated or replaced: start again
    offset = 0;
    partial.clear();
  }
  if (size == offset) return {};
  auto text = readAt(fd, offset, static_cast<size_t>(std::min<uint64_t>(size - offset, kFollowChunk)));
  if (!text) return {};
  offset += text->size();
  partial += *text;
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) lines.push_back(cut(partial.substr(start, nl - start)));
  partial.erase(0, start);
  if (partial.size() > kMaxLine) {
    lines.push_back(cut(std::move(partial)));
    partial.clear();
  }
  return lines;
}

namespace {

// Moves the complete lines of `pending` (and a line grown past kMaxLine, cut) into `lines`.
void takeLines(std::string& pending, const char* mark, std::vector<std::string>& lines) {
  size_t from = 0, nl;
  while ((nl = pending.find('\n', from)) != std::string::npos) {
    lines.push_back(mark + cut(pending.substr(from, nl - from)));
    from = nl + 1;
  }
  pending.erase(0, from);
  if (pending.size() > kMaxLine) {
    lines.push_back(mark + cut(std::move(pending)));
    pending.clear();
  }
}

constexpr const char* kStderrMark = "[stderr] ";

void flushPartial(OutputCursor& c, std::vector<std::string>& lines) {
  if (!c.out.empty()) lines.push_back(cut(std::move(c.out)));
  if (!c.err.empty()) lines.push_back(kStderrMark + cut(std::move(c.err)));
  c.out.clear();
  c.err.clear();
}

std::string exitLine(const std::string& payload) {
  auto exit = vsock::decodeExitStatus(payload);
  if (!exit) return "[exited: unreadable exit record]";
  std::string line = "[exited with code " + std::to_string(exit->exitCode) + "]";
  if (!exit->error.empty()) line += " " + cut(exit->error.substr(0, kMaxLine));
  return line;
}

void recordLines(const vsock::LogParse& parsed, OutputCursor& c, std::vector<std::string>& lines) {
  for (const auto& r : parsed.records) {
    switch (r.kind) {
      case vsock::LogKind::kStdout:
        c.out += r.data;
        takeLines(c.out, "", lines);
        break;
      case vsock::LogKind::kStderr:
        c.err += r.data;
        takeLines(c.err, kStderrMark, lines);
        break;
      case vsock::LogKind::kStart:
        flushPartial(c, lines);
        lines.push_back("[started]");
        break;
      case vsock::LogKind::kExit:
        flushPartial(c, lines);
        lines.push_back(exitLine(r.data));
        break;
    }
  }
}

vsock::LogParse parseBytes(const std::string& bytes) {
  return vsock::parseLog({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

}  // namespace

std::vector<std::string> outputTail(int fd, size_t n, OutputCursor* end) {
  uint64_t from = 0, size = 0;
  auto bytes = lastWindow(fd, from, size);
  if (!bytes) return {};
  auto parsed = parseBytes(*bytes);  // a record cut by the window is skipped as garbage
  OutputCursor c;
  std::vector<std::string> lines;
  recordLines(parsed, c, lines);
  if (end) *end = {from + parsed.consumed, "", ""};
  flushPartial(c, lines);
  if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<long>(n));
  return lines;
}

std::vector<std::string> newOutputLines(int fd, OutputCursor& cursor) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return {};
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < cursor.offset) cursor = {};  // truncated or replaced: start again
  if (size == cursor.offset) return {};
  auto bytes = readAt(fd, cursor.offset, static_cast<size_t>(std::min<uint64_t>(size - cursor.offset, kFollowChunk)));
  if (!bytes) return {};
  auto parsed = parseBytes(*bytes);
  std::vector<std::string> lines;
  recordLines(parsed, cursor, lines);
  cursor.offset += parsed.consumed;
  return lines;
}

json logsModel(const std::vector<LogRef>& logs, const Status& endpoint) {
  json items = json::array();
  for (const auto& l : logs) items.push_back({{"name", l.name}, {"title", l.title}});
  return {{"endpoint", endpointState(endpoint)}, {"items", items}};
}

}  // namespace vic::vicadmin
