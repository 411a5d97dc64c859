// Published ports: host port -> containerVM address, with iptables DNAT as VIC did (see
// docs/networking.md for why not a userspace proxy). A VCH owns three chains of its own,
// rebuilt whole from the running containers' bindings on every change, so a rule can never be
// left behind by a container that stopped while nobody watched.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/net.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "runtime/portlayer/network.h"

namespace vic::pl {

struct Forward {
  PortBinding binding;  // hostPort already chosen
  std::string containerIp;
  std::string bridge;  // the Linux bridge the container sits on
  Cidr subnet;         // that bridge's subnet (hairpin: a container calling a published port)
};

// "VIC-<vch>" (or a hash of a long name): at most 24 characters, so "-DNAT" etc. fit iptables' 28.
std::string chainPrefix(const std::string& vch);
// iptables-restore input (with --noflush) that replaces the VCH's chains with these forwards. Pure.
std::string forwardRules(const std::string& prefix, const std::vector<Forward>& forwards);
// "-p tcp --dport 80" style parse of docker's "80/tcp"; the protocol must be tcp or udp.
Result<PortBinding> parsePortSpec(const std::string& key);

// The kernel's half of port forwarding, behind an interface so port-layer unit tests can
// record the rules instead of loading them.
class Firewall {
 public:
  virtual ~Firewall() = default;
  // Makes the kernel's rules match `all` (every running container's forwards). Blocks.
  virtual Status apply(const std::vector<Forward>& all) = 0;
};

// iptables-restore into the VCH's own chains (written to /run/vic/<vch>/iptables.rules first).
class IptablesFirewall : public Firewall {
 public:
  explicit IptablesFirewall(std::string vch) : vch_(std::move(vch)) {}
  Status apply(const std::vector<Forward>& all) override;

 private:
  std::string vch_;
};

// The host ports: held with bound sockets while their containers run.
class PortForwarder {
 public:
  explicit PortForwarder(std::string vch);

  // Takes the host ports for `owner` (a container id), choosing free ones where hostPort is 0,
  // and holds them with bound sockets so no host process can take them. All or nothing; docker's
  // messages: "Bind for 0.0.0.0:8080 failed: port is already allocated".
  Result<std::vector<PortBinding>> reserve(const std::string& owner, const std::string& name,
                                           const std::vector<PortBinding>& wanted);
  void release(const std::string& owner);
  // Removes the VCH's chains and the jumps to them (vic-machine delete).
  static Status removeAll(const std::string& vch);

 private:
  struct Held {
    PortBinding binding;
    UniqueFd fd;
  };
  std::string vch_;
  std::map<std::string, std::vector<Held>> held_;  // owner -> its ports
};

}  // namespace vic::pl
