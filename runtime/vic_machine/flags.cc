#include "runtime/vic_machine/flags.h"

#include <arpa/inet.h>

#include <algorithm>
#include <regex>

namespace vic::machine {

std::string Flags::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Flags::all(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

Result<Flags> parseFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs) {
  Flags out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) return Error(Errc::kInvalidArgument, "unexpected argument \"" + a + "\"");
    std::string name = a.substr(2), value;
    bool inlineValue = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inlineValue = true;
    }
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) return Error(Errc::kInvalidArgument, "unknown flag: --" + name);
    if (!spec->takesValue) {
      if (inlineValue && value != "true" && value != "false") return Error(Errc::kInvalidArgument, "--" + name + " takes no value");
      if (!inlineValue || value == "true") out.values[name] = {"true"};
      continue;
    }
    if (!inlineValue) {
      if (i + 1 >= args.size()) return Error(Errc::kInvalidArgument, "flag needs an argument: --" + name);
      value = args[++i];
    }
    auto& slot = out.values[name];
    if (!slot.empty() && !spec->repeatable) return Error(Errc::kInvalidArgument, "--" + name + " given more than once");
    slot.push_back(value);
  }
  return out;
}

Result<uint64_t> parseSizeMiB(const std::string& text) {
  static const std::regex re(R"(^([0-9]{1,12})\s*([mMgGtT]?)(i?[bB])?$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return Error(Errc::kInvalidArgument, "invalid size \"" + text + "\" (e.g. 4096, 512M, 4GiB)");
  uint64_t n = std::stoull(m[1]);
  char unit = m[2].length() ? static_cast<char>(std::tolower(m[2].str()[0])) : 'm';
  uint64_t mult = unit == 'g' ? 1024 : unit == 't' ? 1024 * 1024 : 1;
  if (n == 0) return Error(Errc::kInvalidArgument, "size must be more than 0: \"" + text + "\"");
  return n * mult;
}

Status validateVchName(const std::string& name) {
  static const std::regex re("^[a-z0-9][a-z0-9_-]{0,30}$");
  if (!std::regex_match(name, re)) {
    return Error(Errc::kInvalidArgument, "invalid VCH name \"" + name + "\": use 1 to 31 of [a-z0-9_-], starting with a letter or digit");
  }
  return ok();
}

Result<std::vector<vch::ContainerNetwork>> parseContainerNetworks(const Flags& f) {
  std::vector<vch::ContainerNetwork> out;
  auto split = [](const std::string& v, const std::string& flag) -> Result<std::pair<std::string, std::string>> {
    auto colon = v.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == v.size()) {
      return Error(Errc::kInvalidArgument, "--" + flag + " wants NAME:VALUE, got \"" + v + "\"");
    }
    return std::make_pair(v.substr(0, colon), v.substr(colon + 1));
  };
  for (const auto& v : f.all("container-network")) {
    auto p = split(v, "container-network");
    if (!p) return std::move(p).error();
    static const std::regex aliasRe("^[A-Za-z0-9][A-Za-z0-9_.-]*$");
    if (!std::regex_match(p->second, aliasRe)) return Error(Errc::kInvalidArgument, "invalid container network alias \"" + p->second + "\"");
    out.push_back({p->first, p->second, "", "", {}});
  }
  auto find = [&](const std::string& alias, const std::string& flag) -> Result<vch::ContainerNetwork*> {
    for (auto& n : out) {
      if (n.alias == alias) return &n;
    }
    return Error(Errc::kInvalidArgument, "--" + flag + " names " + alias + ", which no --container-network defines");
  };
  for (const char* flag : {"container-network-gateway", "container-network-ip-range", "container-network-dns"}) {
    for (const auto& v : f.all(flag)) {
      auto p = split(v, flag);
      if (!p) return std::move(p).error();
      auto n = find(p->first, flag);
      if (!n) return std::move(n).error();
      std::string fl = flag;
      if (fl == "container-network-dns") {
        if (!parseIp(p->second)) return Error(Errc::kInvalidArgument, "--" + fl + ": invalid address " + p->second);
        (*n)->dns.push_back(p->second);
        continue;
      }
      auto c = parseCidr(p->second);
      if (!c || p->second.find('/') == std::string::npos) return Error(Errc::kInvalidArgument, "--" + fl + " wants CIDR, got " + p->second);
      (fl == "container-network-gateway" ? (*n)->gateway : (*n)->ipRange) = p->second;
    }
  }
  for (const auto& n : out) {
    if (n.gateway.empty()) {
      return Error(Errc::kInvalidArgument, "container network " + n.alias + " needs --container-network-gateway " + n.alias +
                                               ":<router>/<prefix> (vic gives containers static addresses; no DHCP)");
    }
    auto gw = parseCidr(n.gateway);
    if (!n.ipRange.empty()) {
      auto r = parseCidr(n.ipRange);
      if (r->prefix < gw->prefix || !gw->contains(r->base)) {
        return Error(Errc::kInvalidArgument, "container network " + n.alias + ": ip range " + n.ipRange + " is outside " + gw->str());
      }
    }
  }
  return out;
}

Result<std::pair<std::string, std::string>> parseVolumeStore(const std::string& text) {
  auto colon = text.rfind(':');
  std::string path = colon == std::string::npos ? text : text.substr(0, colon);
  std::string label = colon == std::string::npos ? "default" : text.substr(colon + 1);
  static const std::regex labelRe("^[A-Za-z0-9][A-Za-z0-9_.-]*$");
  if (path.empty() || path[0] != '/') return Error(Errc::kInvalidArgument, "volume store path must be absolute: \"" + text + "\"");
  if (!std::regex_match(label, labelRe)) return Error(Errc::kInvalidArgument, "invalid volume store label in \"" + text + "\"");
  return std::make_pair(path, label);
}

std::string defaultApiAddress(bool tls, bool tlsVerify) { return tls && tlsVerify ? "0.0.0.0" : "127.0.0.1"; }

std::string exposureWarning(const std::string& name, const std::string& address, bool tls, bool tlsVerify) {
  if (tls && tlsVerify) return "";
  auto loopback = parseCidr("127.0.0.0/8");
  auto ip = parseIp(address);
  if (ip && loopback && loopback->contains(*ip)) return "";
  std::string how = tls ? "TLS without client verification (--no-tlsverify)" : "plain HTTP (--no-tls)";
  return "WARNING: VCH " + name + " serves the Docker API on " + address + " with " + how +
         ": anyone who can reach that address can run containers, read their data and fill the host's "
         "disks. Bind it to 127.0.0.1 (the default without client verification) or require client certificates.";
}

}  // namespace vic::machine
