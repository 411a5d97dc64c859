#include "runtime/portlayer/exec_spec.h"

#include <algorithm>

namespace vic::pl {

namespace {
std::string envKey(const std::string& kv) { return kv.substr(0, kv.find('=')); }
}  // namespace

std::vector<std::string> mergeEnv(std::vector<std::string> base, const std::vector<std::string>& extra) {
  for (const auto& e : extra) {
    auto it = std::find_if(base.begin(), base.end(), [&](const std::string& b) { return envKey(b) == envKey(e); });
    if (it != base.end()) *it = e;
    else base.push_back(e);
  }
  return base;
}

vsock::SessionSpec sessionSpec(const ExecSpec& e, const ContainerSpec& c, const std::string& execId) {
  const auto& main = c.config.main;
  vsock::SessionSpec s;
  s.id = execId;
  s.argv = e.argv;
  s.env = mergeEnv(main.env, e.env);
  s.workdir = e.workdir.empty() ? main.workdir : e.workdir;
  s.user = e.user.empty() ? main.user : e.user;
  s.tty = e.tty;
  s.openStdin = s.stdinOnce = e.openStdin;
  s.rows = e.rows;
  s.cols = e.cols;
  return s;
}

}  // namespace vic::pl
