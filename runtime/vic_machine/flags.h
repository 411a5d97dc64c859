// vic-machine's command line as plain data: flags parsed against a table, sizes and CIDR
// ranges parsed and checked. Pure functions, unit-tested; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/net.h"
#include "common/result.h"
#include "runtime/vch/vch_config.h"

namespace vic::machine {
using vic::Cidr;
using vic::parseCidr;
using vic::ipString;
using vic::gatewayOf;
using vic::pickFreeRange;
using vic::parseIp;

struct FlagSpec {
  std::string name;        // without dashes: "memory"
  bool takesValue = true;  // false: a switch ("force")
  bool repeatable = false;
};

struct Flags {
  std::map<std::string, std::vector<std::string>> values;  // switches hold {"true"}
  bool has(const std::string& name) const { return values.contains(name); }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& name) const;
};

// "--name vch1", "--name=vch1", "-n vch1" is not accepted (one spelling per flag);
// an unknown flag, a missing value or a repeated non-repeatable flag is an error.
Result<Flags> parseFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs);

// "4096" (MiB), "512M", "512MiB", "4G", "4GiB", "1T": in MiB. Zero and junk are errors.
Result<uint64_t> parseSizeMiB(const std::string& text);

// VCH names double as resource pool and file names: [a-z0-9][a-z0-9_-]{0,30}.
Status validateVchName(const std::string& name);

// --container-network BRIDGE:ALIAS with --container-network-gateway ALIAS:CIDR,
// --container-network-ip-range ALIAS:CIDR and --container-network-dns ALIAS:IP (each repeatable).
// vic gives out static addresses, so the gateway is required; the range defaults to the subnet.
Result<std::vector<vch::ContainerNetwork>> parseContainerNetworks(const Flags& f);

// "path:label" (label defaults to "default"); the path must be absolute.
Result<std::pair<std::string, std::string>> parseVolumeStore(const std::string& text);

// The address the API listens on when the admin names none: every address for a VCH that
// requires client certificates, loopback only for one that serves anyone (--no-tls,
// --no-tlsverify).
std::string defaultApiAddress(bool tls, bool tlsVerify);
// A loud warning when a VCH that does not verify its clients listens beyond loopback; ""
// when there is nothing to warn about.
std::string exposureWarning(const std::string& name, const std::string& address, bool tls, bool tlsVerify);

}  // namespace vic::machine
