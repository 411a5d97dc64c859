// The log bundle: one .tar.gz an admin attaches to a bug report. Every log, vch.json with
// secrets removed, each VM's libvirt definition, docker info and version, the status page's
// facts. Never a private key, the admin token or registry credentials: only files named here
// are read (vch.json names key files, but none is opened), and PEM private-key blocks are cut
// from whatever is packed.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "runtime/vch/vch_config.h"
#include "runtime/vicadmin/logs.h"
#include "runtime/vicadmin/probe.h"

namespace vic::vicadmin {
using nlohmann::json;

// vch.json for the bundle (pure): each value under a key naming a secret (token, password,
// secret, credential, auth, key) is kept only when it is a plain absolute path; any string
// holding a PEM block is replaced. Paths stay, so a reader sees where things are.
json redactConfig(const json& config);
// Cuts every "-----BEGIN ... PRIVATE KEY-----" block (to its END line, or to the end) (pure).
std::string redactPrivateKeys(std::string text);

struct BundleMember {
  std::string name;                          // path inside the archive
  std::string content;                       // when `open` is empty
  std::function<Result<UniqueFd>()> open;    // a log: its last 32 MiB are packed
};

// "vch-<name>-<UTC yyyymmddThhmmssZ>.tar.gz" (pure).
std::string bundleName(const std::string& vch, int64_t unixSeconds);

// What goes in (blocking: the probe's calls; logs are opened when written). `logs` as
// availableLogs gives them: each container's console.log and output.log are packed.
std::vector<BundleMember> bundleMembers(const vch::VchConfig& cfg, Probe& probe, const LogFiles& files, const json& status,
                                        const std::vector<LogRef>& logs);

// Writes the members as a gzipped tar to `fd`; a log that cannot be opened becomes a
// "<name>.error" member saying why.
Status writeBundle(const std::vector<BundleMember>& members, int fd, int64_t mtime);

}  // namespace vic::vicadmin
