#include "guest/tether/netlink.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "common/net.h"
#include "common/unique_fd.h"

namespace vic::tether {
namespace {

// One rtnetlink request: header + fixed part + attributes, sent and acknowledged.
class Request {
 public:
  Request(uint16_t type, uint16_t flags, const void* fixed, size_t fixedLen) {
    buf_.resize(NLMSG_HDRLEN + NLMSG_ALIGN(fixedLen));
    auto* h = header();
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    std::memcpy(buf_.data() + NLMSG_HDRLEN, fixed, fixedLen);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    size_t at = buf_.size();
    buf_.resize(at + RTA_ALIGN(RTA_LENGTH(len)));
    auto* rta = reinterpret_cast<rtattr*>(buf_.data() + at);
    rta->rta_type = type;
    rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    std::memcpy(RTA_DATA(rta), data, len);
  }
  Status send(int fd, uint32_t seq, const std::string& what) {
    header()->nlmsg_len = static_cast<uint32_t>(buf_.size());
    header()->nlmsg_seq = seq;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
      return Error::fromErrno(what);
    }
    char reply[4096];
    ssize_t n = ::recv(fd, reply, sizeof reply, 0);
    if (n < 0) return Error::fromErrno(what);
    auto* r = reinterpret_cast<nlmsghdr*>(reply);
    if (r->nlmsg_type == NLMSG_ERROR) {
      int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(r))->error;
      if (err != 0 && err != EEXIST) return Error::fromErrno(what, err);
    }
    return ok();
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  std::vector<uint8_t> buf_;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<std::string> linkByMac(const std::string& mac) {
  if (DIR* d = ::opendir("/sys/class/net")) {
    while (dirent* e = ::readdir(d)) {
      std::ifstream in(std::string("/sys/class/net/") + e->d_name + "/address");
      std::string addr;
      if (in >> addr && lower(addr) == lower(mac)) {
        std::string name = e->d_name;
        ::closedir(d);
        return name;
      }
    }
    ::closedir(d);
  }
  return Error(Errc::kNotFound, "no network interface with MAC " + mac);
}

Status configureOne(int fd, uint32_t& seq, const vsock::NetworkInterface& nic) {
  auto current = linkByMac(nic.mac);
  if (!current) return std::move(current).error();
  int index = static_cast<int>(::if_nametoindex(current->c_str()));
  ifinfomsg link{};
  link.ifi_index = index;
  if (!nic.name.empty() && nic.name != *current) {
    Request rename(RTM_NEWLINK, 0, &link, sizeof link);
    rename.attr(IFLA_IFNAME, nic.name.c_str(), nic.name.size() + 1);
    if (auto st = rename.send(fd, ++seq, "renaming " + *current + " to " + nic.name); !st) return st;
  }
  if (nic.mtu != 0) {
    Request mtu(RTM_NEWLINK, 0, &link, sizeof link);
    mtu.attr(IFLA_MTU, &nic.mtu, sizeof nic.mtu);
    if (auto st = mtu.send(fd, ++seq, "setting MTU " + std::to_string(nic.mtu)); !st) return st;
  }
  for (const auto& a : nic.addresses) {
    auto cidr = parseIpPrefix(a);
    if (!cidr) return std::move(cidr).error();
    ifaddrmsg msg{};
    msg.ifa_family = static_cast<uint8_t>(cidr->family);
    msg.ifa_prefixlen = cidr->prefix;
    msg.ifa_index = static_cast<uint32_t>(index);
    Request add(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &msg, sizeof msg);
    size_t len = cidr->family == AF_INET ? 4 : 16;
    add.attr(IFA_LOCAL, cidr->addr.data(), len);
    add.attr(IFA_ADDRESS, cidr->addr.data(), len);
    if (auto st = add.send(fd, ++seq, "adding address " + a); !st) return st;
  }
  ifinfomsg up{};
  up.ifi_index = index;
  up.ifi_flags = IFF_UP;
  up.ifi_change = IFF_UP;
  if (auto st = Request(RTM_NEWLINK, 0, &up, sizeof up).send(fd, ++seq, "bringing up " + nic.name); !st) return st;
  if (nic.gateway.empty()) return ok();
  auto gw = parseIpPrefix(nic.gateway);
  if (!gw) return std::move(gw).error();
  rtmsg rt{};
  rt.rtm_family = static_cast<uint8_t>(gw->family);
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  Request route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rt, sizeof rt);
  route.attr(RTA_GATEWAY, gw->addr.data(), gw->family == AF_INET ? 4 : 16);
  route.attr(RTA_OIF, &index, sizeof index);
  return route.send(fd, ++seq, "adding the default route via " + nic.gateway);
}

// A NIC shows up a moment after its device: hot-plugged, or found by an instant clone's PCI rescan.
void awaitLink(const std::string& mac, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (!linkByMac(mac) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status configureAll(const std::vector<vsock::NetworkInterface>& nics, std::chrono::milliseconds wait) {
  if (nics.empty()) return ok();
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return Error::fromErrno("netlink socket");
  uint32_t seq = 0;
  for (const auto& nic : nics) {
    awaitLink(nic.mac, wait);
    if (auto st = configureOne(fd.get(), seq, nic); !st) return std::move(st).error().wrap("network " + nic.name);
  }
  return ok();
}

}  // namespace

Status configureNetworks(const std::vector<vsock::NetworkInterface>& nics) {
  return configureAll(nics, std::chrono::seconds(5));
}

Status configureAddedNetworks(const std::vector<vsock::NetworkInterface>& before,
                              const std::vector<vsock::NetworkInterface>& now, std::chrono::milliseconds wait) {
  std::vector<vsock::NetworkInterface> added;
  for (const auto& n : now) {
    bool known = false;
    for (const auto& b : before) known = known || lower(b.mac) == lower(n.mac);
    if (!known) added.push_back(n);
  }
  return configureAll(added, wait);
}

namespace {

Status setMac(const std::string& ifname, const std::string& mac) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  unsigned b[6];
  if (std::sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
    return Error(Errc::kInvalidArgument, "not a MAC address: " + mac);
  }
  for (int i = 0; i < 6; ++i) ifr.ifr_hwaddr.sa_data[i] = static_cast<char>(b[i]);
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::fromErrno("socket");
  if (::ioctl(s.get(), SIOCSIFHWADDR, &ifr) != 0) return Error::fromErrno("setting the MAC of " + ifname);
  return ok();
}

// Unbinds a NIC's PCI device from its driver: the interface disappears from the guest.
Status unbindNic(const std::string& ifname) {
  char pci[PATH_MAX];
  std::string link = "/sys/class/net/" + ifname + "/device/..";  // virtioN, whose parent is the PCI device
  if (::realpath(link.c_str(), pci) == nullptr) return Error::fromErrno("finding the PCI device of " + ifname);
  std::string address = std::string(pci).substr(std::string(pci).rfind('/') + 1);
  std::ofstream unbind("/sys/bus/pci/devices/" + address + "/driver/unbind");
  if (!(unbind << address << std::flush)) return Error(Errc::kIo, "unbinding " + ifname + " (" + address + ")");
  return ok();
}

}  // namespace

Status adoptTemplateNic(const std::string& templateMac, const std::string& mac) {
  if (templateMac.empty()) return ok();
  auto ifname = linkByMac(templateMac);
  if (!ifname) return Error(Errc::kNotFound, "the template's NIC (" + templateMac + ") is missing");
  return mac.empty() ? ok() : setMac(*ifname, mac);  // without a network: unbindOtherNics removes it
}

Status unbindOtherNics(const std::vector<vsock::NetworkInterface>& networks) {
  std::vector<std::string> others;
  if (DIR* d = ::opendir("/sys/class/net")) {
    while (dirent* e = ::readdir(d)) {
      std::string dir = std::string("/sys/class/net/") + e->d_name;
      if (e->d_name[0] == '.' || ::access((dir + "/device").c_str(), F_OK) != 0) continue;  // lo, virtual ones
      std::string address;
      std::ifstream(dir + "/address") >> address;
      bool wanted = false;
      for (const auto& n : networks) wanted = wanted || lower(n.mac) == lower(address);
      if (!wanted) others.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  for (const auto& ifname : others) {
    if (auto st = unbindNic(ifname); !st) return st;
  }
  return ok();
}

}  // namespace vic::tether
