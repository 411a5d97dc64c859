#include "guest/tether/users.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <optional>

namespace vic::tether {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool parseId(std::string_view s, uint32_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Calls f(fields) for each well-formed line of a colon-separated file.
template <class F>
void eachEntry(std::string_view text, size_t minFields, F f) {
  for (auto line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto fields = split(line, ':');
    if (fields.size() >= minFields) f(fields);
  }
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
  bool found = false;
};

PasswdEntry findUser(std::string_view passwd, std::string_view nameOrId, bool byId) {
  PasswdEntry e;
  uint32_t want = 0;
  if (byId) parseId(nameOrId, want);
  eachEntry(passwd, 7, [&](const std::vector<std::string_view>& f) {
    uint32_t uid = 0, gid = 0;
    if (e.found || !parseId(f[2], uid) || !parseId(f[3], gid)) return;
    if (byId ? uid == want : f[0] == nameOrId) e = {std::string(f[0]), uid, gid, std::string(f[5]), true};
  });
  return e;
}

Result<gid_t> findGroup(std::string_view group, std::string_view nameOrId) {
  uint32_t id = 0;
  bool numeric = parseId(nameOrId, id);
  std::optional<gid_t> found;
  eachEntry(group, 3, [&](const std::vector<std::string_view>& f) {
    uint32_t gid = 0;
    if (found || !parseId(f[2], gid)) return;
    if (numeric ? gid == id : f[0] == nameOrId) found = gid;
  });
  if (found) return *found;
  if (numeric) return static_cast<gid_t>(id);
  return Error(Errc::kNotFound, "unable to find group " + std::string(nameOrId) + ": no matching entries in group file");
}

// Groups that list `user` as a member (docker adds them as supplementary groups).
std::vector<gid_t> memberOf(std::string_view group, std::string_view user) {
  std::vector<gid_t> out;
  if (user.empty()) return out;
  eachEntry(group, 4, [&](const std::vector<std::string_view>& f) {
    uint32_t gid = 0;
    if (!parseId(f[2], gid)) return;
    for (auto m : split(f[3], ',')) {
      if (m == user) out.push_back(gid);
    }
  });
  return out;
}

}  // namespace

Result<Identity> resolveUser(std::string_view user, const std::vector<std::string>& extraGroups,
                             std::string_view passwd, std::string_view group) {
  std::string_view userPart = user.substr(0, user.find(':'));
  std::string_view groupPart = user.find(':') == std::string_view::npos ? "" : user.substr(user.find(':') + 1);
  if (userPart.empty()) userPart = "0";
  uint32_t uid = 0;
  bool numeric = parseId(userPart, uid);
  PasswdEntry pw = findUser(passwd, userPart, numeric);
  if (!pw.found && !numeric) {
    return Error(Errc::kNotFound, "unable to find user " + std::string(userPart) + ": no matching entries in passwd file");
  }
  Identity id;
  id.uid = pw.found ? pw.uid : uid;
  id.gid = pw.found ? pw.gid : 0;
  id.home = pw.found && !pw.home.empty() ? pw.home : "/";
  if (!groupPart.empty()) {
    auto g = findGroup(group, groupPart);
    if (!g) return std::move(g).error();
    id.gid = *g;
  }
  id.groups = memberOf(group, pw.name);
  for (const auto& extra : extraGroups) {
    auto g = findGroup(group, extra);
    if (!g) return std::move(g).error();
    id.groups.push_back(*g);
  }
  return id;
}

std::string envValue(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& kv : env) {
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') {
      return kv.substr(key.size() + 1);
    }
  }
  return "";
}

std::vector<std::string> buildEnv(const vsock::SessionSpec& spec, const Identity& id, std::string_view hostname) {
  std::vector<std::string> env = spec.env;
  auto has = [&](std::string_view key) {
    for (const auto& kv : env) {
      if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') return true;
    }
    return false;
  };
  if (!has("PATH")) env.insert(env.begin(), "PATH=" + std::string(kDefaultPath));
  if (!has("HOSTNAME") && !hostname.empty()) env.push_back("HOSTNAME=" + std::string(hostname));
  if (!has("HOME")) env.push_back("HOME=" + id.home);
  if (spec.tty && !has("TERM")) env.push_back("TERM=xterm");
  return env;
}

Result<std::string> lookPath(std::string_view name, std::string_view path, std::string_view root) {
  auto quoted = "exec: \"" + std::string(name) + "\": ";
  auto check = [&](const std::string& candidate) -> Result<std::string> {
    std::string full = std::string(root) + candidate;
    struct stat st{};
    if (::stat(full.c_str(), &st) != 0) return Error::fromErrno(quoted + "stat " + candidate);
    if (S_ISDIR(st.st_mode) || ::access(full.c_str(), X_OK) != 0) {
      return Error(Errc::kConflict, quoted + "permission denied");
    }
    return candidate;
  };
  if (name.empty()) return Error(Errc::kInvalidArgument, "exec: no command given");
  if (name.find('/') != std::string_view::npos) {
    auto r = check(std::string(name));
    if (!r && r.error().code() == Errc::kNotFound) {
      return Error(Errc::kNotFound, quoted + "stat " + std::string(name) + ": no such file or directory");
    }
    return r;
  }
  for (auto dir : split(path.empty() ? kDefaultPath : path, ':')) {
    std::string candidate = std::string(dir.empty() ? "." : dir) + "/" + std::string(name);
    auto r = check(candidate);
    if (r) return r;
  }
  return Error(Errc::kNotFound, quoted + "executable file not found in $PATH");
}

int exitCodeFor(const Error& lookupError) {
  return lookupError.code() == Errc::kNotFound ? 127 : 126;
}

}  // namespace vic::tether
