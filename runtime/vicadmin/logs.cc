#include "runtime/vicadmin/logs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "runtime/vicadmin/model.h"

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
  return {"container:" + id, "console of container " + (name.empty() ? id.substr(0, 12) : name), id};
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
    for (const auto& c : *containers) out.push_back(containerLog(c.id, c.name));
    return out;
  }
  for (const auto& d : dirNames) {
    if (isHex(d, 64, 64)) out.push_back(containerLog(d, ""));
  }
  return out;
}

Result<LogRef> resolveLog(std::string_view name, const std::optional<std::vector<ContainerName>>& containers,
                          const std::vector<std::string>& dirNames) {
  if (name == "endpoint" || name == "vicadmin") return availableLogs(std::nullopt, {})[name == "endpoint" ? 0 : 1];
  constexpr std::string_view kPrefix = "container:";
  std::string shown(name.substr(0, 80));
  if (!name.starts_with(kPrefix)) return Error(Errc::kNotFound, "no log named \"" + shown + "\": logs are endpoint, vicadmin or container:<id>");
  std::string_view id = name.substr(kPrefix.size());
  if (!isHex(id, 1, 64)) return Error(Errc::kNotFound, "no container \"" + std::string(id.substr(0, 80)) + "\": an id is 1 to 64 hex digits");
  std::vector<LogRef> matches;
  if (containers) {
    for (const auto& c : *containers) {
      if (c.id.starts_with(id)) matches.push_back(containerLog(c.id, c.name));
    }
  } else {
    for (const auto& d : dirNames) {
      if (d == id && isHex(d, 64, 64)) matches.push_back(containerLog(d, ""));
    }
  }
  if (matches.empty()) return Error(Errc::kNotFound, "no container " + std::string(id) + (containers ? "" : " (the endpoint is down: give the full id)"));
  if (matches.size() > 1) return Error(Errc::kNotFound, "container id " + std::string(id) + " is ambiguous: give more of it");
  return matches.front();
}

Result<UniqueFd> openLog(const LogRef& log, const LogFiles& files, const std::string& file) {
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

std::vector<std::string> tailLines(int fd, size_t n, uint64_t* end) {
  struct stat st{};
  uint64_t size = ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  if (end) *end = size;
  uint64_t from = size > kTailWindow ? size - kTailWindow : 0;
  auto text = readAt(fd, from, static_cast<size_t>(size - from));
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

json logsModel(const std::vector<LogRef>& logs, const Status& endpoint) {
  json items = json::array();
  for (const auto& l : logs) items.push_back({{"name", l.name}, {"title", l.title}});
  return {{"endpoint", endpointState(endpoint)}, {"items", items}};
}

}  // namespace vic::vicadmin
