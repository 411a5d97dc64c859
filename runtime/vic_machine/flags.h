// vic-machine's command line as plain data: flags parsed against a table, sizes and CIDR
// ranges parsed and checked. Pure functions, unit-tested; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::machine {

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

// IPv4 ranges.
struct Cidr {
  uint32_t base = 0;  // host order, masked
  int prefix = 0;
  std::string str() const;
  uint32_t size() const { return prefix == 0 ? 0xffffffffu : (1u << (32 - prefix)); }
  bool overlaps(const Cidr& o) const;
};
Result<Cidr> parseCidr(const std::string& text);
std::string ipString(uint32_t addr);
// The gateway of a bridge range (its first host address) in CIDR form: "172.16.0.1/16".
std::string gatewayOf(const Cidr& c);
// The first /16 from 172.16.0.0 up to 172.31.0.0, then 10.x.0.0/16, that overlaps nothing in `used`.
std::optional<Cidr> pickBridgeRange(const std::vector<Cidr>& used);

// "path:label" (label defaults to "default"); the path must be absolute.
Result<std::pair<std::string, std::string>> parseVolumeStore(const std::string& text);

}  // namespace vic::machine
