#include "runtime/portlayer/port_forward.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "common/io_thread.h"
#include "common/files.h"
#include "common/process.h"

namespace vic::pl {

std::string chainPrefix(const std::string& vch) {
  std::string p = "VIC-" + vch;
  if (p.size() <= 22) return p;
  return "VIC-" + std::to_string(std::hash<std::string>{}(vch) % 1000000000000ull);
}

Result<PortBinding> parsePortSpec(const std::string& key) {
  PortBinding b;
  auto slash = key.find('/');
  std::string port = key.substr(0, slash);
  if (slash != std::string::npos) b.proto = key.substr(slash + 1);
  if (b.proto != "tcp" && b.proto != "udp") return Error(Errc::kInvalidArgument, "invalid proto: " + b.proto + " (vic publishes tcp and udp)");
  if (port.find('-') != std::string::npos) return Error(Errc::kInvalidArgument, "port ranges are not supported by vic: " + port);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    return Error(Errc::kInvalidArgument, "invalid port specification: \"" + key + "\"");
  }
  int n = std::stoi(port);
  if (n < 1 || n > 65535) return Error(Errc::kInvalidArgument, "invalid port specification: \"" + key + "\"");
  b.containerPort = static_cast<uint16_t>(n);
  return b;
}

namespace {
std::string match(const PortBinding& b, uint16_t port) {
  return "-p " + b.proto + " -m " + b.proto + " --dport " + std::to_string(port);
}
}  // namespace

std::string forwardRules(const std::string& prefix, const std::vector<Forward>& forwards) {
  std::ostringstream nat, filter;
  nat << "*nat\n:" << prefix << "-DNAT - [0:0]\n:" << prefix << "-POST - [0:0]\n";
  filter << "*filter\n:" << prefix << "-FWD - [0:0]\n:" << prefix << "-IN - [0:0]\n";
  // route_localnet (below) lets the host's 127.0.0.1 reach containers; without this rule it
  // would also let containers reach services the host keeps on 127.0.0.1 (CVE-2020-8558).
  filter << "-A " << prefix << "-IN ! -i lo -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n";
  std::set<std::string> bridges;
  for (const auto& f : forwards) {
    const auto& b = f.binding;
    std::string to = f.containerIp + ":" + std::to_string(b.containerPort);
    nat << "-A " << prefix << "-DNAT" << (b.hostIp.empty() ? "" : " -d " + b.hostIp + "/32") << " " << match(b, b.hostPort)
        << " -j DNAT --to-destination " << to << "\n";
    // a container reaching a published port on its own bridge: the answer must come back through the host
    nat << "-A " << prefix << "-POST -s " << f.subnet.str() << " -d " << f.containerIp << "/32 " << match(b, b.containerPort)
        << " -j MASQUERADE\n";
    filter << "-A " << prefix << "-FWD -d " << f.containerIp << "/32 -o " << f.bridge << " " << match(b, b.containerPort)
           << " -j ACCEPT\n";
    bridges.insert(f.bridge);
  }
  for (const auto& br : bridges) nat << "-A " << prefix << "-POST -s 127.0.0.0/8 -o " << br << " -j MASQUERADE\n";
  nat << "COMMIT\n";
  filter << "COMMIT\n";
  return nat.str() + filter.str();
}

namespace {
struct Jump {
  const char* table;
  const char* chain;
  std::string rule;
};
std::vector<Jump> jumps(const std::string& prefix) {
  return {{"nat", "PREROUTING", "-m addrtype --dst-type LOCAL -j " + prefix + "-DNAT"},
          {"nat", "OUTPUT", "-m addrtype --dst-type LOCAL -j " + prefix + "-DNAT"},
          {"nat", "POSTROUTING", "-j " + prefix + "-POST"},
          {"filter", "FORWARD", "-j " + prefix + "-FWD"},
          {"filter", "INPUT", "-j " + prefix + "-IN"}};
}
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}
// Deletes every copy of a jump (iptables -D removes one at a time).
void dropJump(const Jump& j) {
  for (int i = 0; i < 10; ++i) {
    auto argv = std::vector<std::string>{"iptables", "-w", "-t", j.table, "-D", j.chain};
    for (auto& w : words(j.rule)) argv.push_back(w);
    auto r = runProcess(argv);
    if (!r || r->exitCode != 0) return;
  }
}

// True when the chain's first rule is this jump (iptables -S prints "-A CHAIN <rule>").
bool jumpIsFirst(const Jump& j) {
  auto r = runProcess({"iptables", "-w", "-t", j.table, "-S", j.chain});
  if (!r || r->exitCode != 0) return false;
  std::istringstream in(r->out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("-A ", 0) == 0) return line == std::string("-A ") + j.chain + " " + j.rule;
  }
  return false;
}

Result<UniqueFd> bindPort(const PortBinding& b) {
  UniqueFd fd(::socket(AF_INET, (b.proto == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
  if (!fd) return Error::fromErrno("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(b.hostPort);
  if (!b.hostIp.empty()) {
    auto ip = parseIp(b.hostIp);
    if (!ip) return std::move(ip).error();
    sa.sin_addr.s_addr = htonl(*ip);
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::string where = (b.hostIp.empty() ? "0.0.0.0" : b.hostIp) + ":" + std::to_string(b.hostPort);
    return Error(Errc::kConflict, "Error starting userland proxy: listen " + b.proto + "4 " + where + ": bind: " + std::strerror(errno));
  }
  return fd;
}

uint16_t boundPort(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

bool clash(const PortBinding& a, const PortBinding& b) {
  return a.proto == b.proto && a.hostPort == b.hostPort && (a.hostIp.empty() || b.hostIp.empty() || a.hostIp == b.hostIp);
}
}  // namespace

PortForwarder::PortForwarder(std::string vch) : vch_(std::move(vch)) {}

Result<std::vector<PortBinding>> PortForwarder::reserve(const std::string& owner, const std::string& name,
                                                        const std::vector<PortBinding>& wanted) {
  release(owner);
  std::string prefix = "driver failed programming external connectivity on endpoint " + name + " (" + owner + "): ";
  std::vector<Held> got;
  std::vector<PortBinding> out;
  for (const auto& w : wanted) {
    if (w.hostPort != 0) {
      for (const auto& [other, list] : held_) {
        for (const auto& h : list) {
          if (clash(h.binding, w)) {
            return Error(Errc::kConflict, prefix + "Bind for " + (w.hostIp.empty() ? "0.0.0.0" : w.hostIp) + ":" +
                                              std::to_string(w.hostPort) + " failed: port is already allocated");
          }
        }
      }
    }
    auto fd = bindPort(w);
    if (!fd) return std::move(fd).error().wrap(prefix.substr(0, prefix.size() - 2));
    PortBinding b = w;
    b.hostPort = boundPort(fd->get());
    out.push_back(b);
    got.push_back({b, std::move(*fd)});
  }
  held_[owner] = std::move(got);
  return out;
}

void PortForwarder::release(const std::string& owner) { held_.erase(owner); }

Status IptablesFirewall::apply(const std::vector<Forward>& all) {
  requireOffIoThread("iptables-restore");
  std::string prefix = chainPrefix(vch_);
  std::string file = "/run/vic/" + vch_ + "/iptables.rules";
  if (auto st = writeFileAtomically(file, forwardRules(prefix, all)); !st) return st;
  if (auto r = runChecked({"iptables-restore", "-w", "--noflush", file}, "loading port forwarding rules"); !r) return std::move(r).error();
  // the jumps go first in their chains, ahead of libvirt's own (which would reject new
  // connections into a NAT network); re-inserting also puts them back in front
  for (const auto& j : jumps(prefix)) {
    if (jumpIsFirst(j)) continue;
    dropJump(j);
    auto argv = std::vector<std::string>{"iptables", "-w", "-t", j.table, "-I", j.chain, "1"};
    for (auto& w : words(j.rule)) argv.push_back(w);
    if (auto r = runChecked(argv, "adding the jump to " + prefix); !r) return std::move(r).error();
  }
  std::set<std::string> bridges;
  for (const auto& f : all) bridges.insert(f.bridge);
  for (const auto& br : bridges) {  // lets 127.0.0.1:<port> reach a container (then masqueraded)
    std::ofstream("/proc/sys/net/ipv4/conf/" + br + "/route_localnet") << "1\n";
  }
  return ok();
}

Status PortForwarder::removeAll(const std::string& vch) {
  std::string prefix = chainPrefix(vch);
  for (const auto& j : jumps(prefix)) dropJump(j);
  for (const auto& [table, chain] : std::vector<std::pair<std::string, std::string>>{
           {"nat", prefix + "-DNAT"}, {"nat", prefix + "-POST"}, {"filter", prefix + "-FWD"}, {"filter", prefix + "-IN"}}) {
    (void)runProcess({"iptables", "-w", "-t", table, "-F", chain});
    (void)runProcess({"iptables", "-w", "-t", table, "-X", chain});
  }
  return ok();
}

}  // namespace vic::pl
