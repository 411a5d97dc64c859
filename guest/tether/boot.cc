#include "guest/tether/boot.h"

#include <dirent.h>
#include <linux/random.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/files.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "guest/tether/copy_tree.h"
#include "guest/tether/netlink.h"

namespace vic::tether {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

Status mountOne(const char* src, const char* target, const char* type, unsigned long flags, const char* data) {
  ::mkdir(target, 0755);
  if (::mount(src, target, type, flags, data) != 0 && errno != EBUSY) {
    return Error::fromErrno(std::string("mounting ") + type + " on " + target);
  }
  return ok();
}

Status writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  if (!out) return Error(Errc::kIo, "writing " + path);
  return ok();
}

std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  return out;
}

}  // namespace

Status mountBasics() {
  if (auto st = mountOne("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr); !st) return st;
  if (auto st = mountOne("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr); !st) return st;
  return mountOne("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
}

Status loadModules(const std::string& dir) {
  std::istringstream order(readFile(dir + "/order"));
  for (std::string name; std::getline(order, name);) {
    if (name.empty()) continue;
    std::string path = dir + "/" + name + ".ko";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::fromErrno("opening module " + path);
    if (::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST) {
      return Error::fromErrno("loading module " + name);
    }
  }
  return ok();
}

Result<std::string> readFwCfg(const std::string& name) {
  // Without the device (or qemu_fw_cfg) no entry can be read: that must not look like a
  // template's missing config, or a broken cold boot would wait for an identity forever.
  const std::string dir = "/sys/firmware/qemu_fw_cfg/by_name";
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) {
    return Error(Errc::kUnavailable, "reading " + name + ": no fw_cfg (" + dir + "): " + std::strerror(errno));
  }
  std::string path = dir + "/" + name + "/raw";
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Errc::kNotFound, "no fw_cfg entry " + name + " (" + path + ")");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<std::string> findPortDevice(const std::string& name) {
  for (const auto& port : listDir("/sys/class/virtio-ports")) {
    if (trim(readFile("/sys/class/virtio-ports/" + port + "/name")) == name) return "/dev/" + port;
  }
  return Error(Errc::kNotFound, "no virtio-serial port named " + name);
}

std::string ext4Label(const std::string& sb) {
  // s_magic at 0x38 is 0xEF53; s_volume_name: 16 bytes at 0x78
  if (sb.size() < 0x88 || static_cast<uint8_t>(sb[0x38]) != 0x53 || static_cast<uint8_t>(sb[0x39]) != 0xEF) {
    return "";
  }
  return trim(sb.substr(0x78, 16));
}

Result<std::string> findDisk(const std::string& serialOrLabel) {
  // Disks appear asynchronously after virtio_blk loads: look for up to ~5 s.
  for (int attempt = 0; attempt < 100; ++attempt) {
    for (const auto& dev : listDir("/sys/block")) {
      if (dev.rfind("vd", 0) != 0) continue;
      if (trim(readFile("/sys/block/" + dev + "/serial")) == serialOrLabel) return "/dev/" + dev;
      std::ifstream disk("/dev/" + dev, std::ios::binary);
      std::string sb(1024, '\0');
      if (disk.seekg(1024) && disk.read(sb.data(), 1024) && ext4Label(sb) == serialOrLabel) return "/dev/" + dev;
    }
    ::usleep(50 * 1000);
  }
  return Error(Errc::kNotFound, "no disk with serial or label '" + serialOrLabel + "'");
}

Status switchRoot(const std::string& device) {
  ::mkdir("/newroot", 0755);
  if (::mount(device.c_str(), "/newroot", "ext4", 0, "no_prefetch_block_bitmaps") != 0) {
    return Error::fromErrno("mounting container disk " + device + " (ext4)");
  }
  for (const char* m : {"/proc", "/sys", "/dev"}) {
    std::string target = std::string("/newroot") + m;
    ::mkdir(target.c_str(), 0755);
    if (::mount(m, target.c_str(), nullptr, MS_MOVE, nullptr) != 0) return Error::fromErrno(std::string("moving ") + m);
  }
  if (::chdir("/newroot") != 0) return Error::fromErrno("chdir /newroot");
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) return Error::fromErrno("moving the container root to /");
  if (::chroot(".") != 0 || ::chdir("/") != 0) return Error::fromErrno("chroot into the container root");
  return ok();
}

Status setupContainerDev() {
  if (auto st = mountOne("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
      !st) {
    return st;
  }
  ::unlink("/dev/ptmx");
  if (::symlink("pts/ptmx", "/dev/ptmx") != 0) return Error::fromErrno("linking /dev/ptmx");
  return mountOne("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

Status writeIdentity(const vsock::ContainerConfig& c) {
  std::string host = c.hostname.empty() ? c.id.substr(0, 12) : c.hostname;
  if (!host.empty() && ::sethostname(host.c_str(), host.size()) != 0) return Error::fromErrno("sethostname");
  if (!c.domainname.empty() && ::setdomainname(c.domainname.c_str(), c.domainname.size()) != 0) {
    return Error::fromErrno("setdomainname");
  }
  ::mkdir("/etc", 0755);
  std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& net : c.networks) {
    if (!net.addresses.empty()) hosts += net.addresses[0].substr(0, net.addresses[0].find('/')) + "\t" + host + "\n";
  }
  if (c.networks.empty()) hosts += "127.0.1.1\t" + host + "\n";
  for (const auto& extra : c.extraHosts) {
    auto colon = extra.find(':');
    if (colon != std::string::npos) hosts += extra.substr(colon + 1) + "\t" + extra.substr(0, colon) + "\n";
  }
  std::string resolv;
  for (const auto& ns : c.dns) resolv += "nameserver " + ns + "\n";
  if (c.embeddedDns) resolv = "nameserver 127.0.0.11\noptions ndots:0\n";  // docker's embedded DNS
  if (auto st = writeFile("/etc/hostname", host + "\n"); !st) return st;
  if (auto st = writeFile("/etc/hosts", hosts); !st) return st;
  if (!resolv.empty()) return writeFile("/etc/resolv.conf", resolv);
  return ok();
}

namespace {
void makePath(const std::string& target) {
  std::string path;
  std::istringstream parts(target);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part.empty()) continue;
    path += "/" + part;
    ::mkdir(path.c_str(), 0755);
  }
}

// docker's rule: a new (empty) volume first receives what the image has at its mount point.
Status fillFromImage(const std::string& dev, const std::string& target) {
  if (!hasEntries(target)) return ok();
  const char* tmp = "/.vic-volume";
  ::mkdir(tmp, 0700);
  if (::mount(dev.c_str(), tmp, "ext4", 0, nullptr) != 0) return Error::fromErrno("mounting " + dev + " to fill it");
  Status st = emptyVolume(tmp) ? copyTree(target, tmp) : ok();
  ::umount2(tmp, 0);
  ::rmdir(tmp);
  return st;
}
}  // namespace

Status mountVolumes(const std::vector<vsock::MountSpec>& mounts) {
  for (const auto& m : mounts) {
    auto dev = findDisk(m.disk);
    if (!dev) return std::move(dev).error().wrap("volume for " + m.target);
    makePath(m.target);
    if (auto st = fillFromImage(*dev, m.target); !st) return std::move(st).error().wrap("volume for " + m.target);
    unsigned long flags = m.readOnly ? MS_RDONLY : 0;
    if (::mount(dev->c_str(), m.target.c_str(), "ext4", flags, nullptr) != 0) {
      return Error::fromErrno("mounting volume " + m.disk + " on " + m.target);
    }
  }
  return ok();
}

Status bringUpLoopback() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return Error::fromErrno("socket for lo");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return Error::fromErrno("reading lo flags");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return Error::fromErrno("bringing lo up");
  return ok();
}

namespace {

// What the container left running goes first (PID 1 is spared by kill(-1)), briefly reaped.
void killEverything() {
  ::kill(-1, SIGKILL);
  for (int i = 0; i < 200; ++i) {
    pid_t p = ::waitpid(-1, nullptr, WNOHANG);
    if (p < 0 && errno == ECHILD) return;
    if (p <= 0) ::usleep(10 * 1000);
  }
}

// Unmounts the volumes and remounts the root read-only, so every disk is left clean (no journal
// to replay): the host then reads a stopped container's disks as they are (docker cp, diff).
void unmountDisks() {
  std::ifstream in("/proc/self/mounts");
  std::vector<std::string> ext4;
  for (std::string dev, dir, type, rest; in >> dev >> dir >> type && std::getline(in, rest);) {
    if (type == "ext4" && dir != "/") ext4.push_back(dir);
  }
  for (auto it = ext4.rbegin(); it != ext4.rend(); ++it) ::umount2(it->c_str(), 0);
  ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr);
}

}  // namespace

Result<std::vector<uint8_t>> decodeSeed(std::string_view hex) {
  if (hex.size() != 2 * kCloneSeedBytes) {
    return Error(Errc::kInvalidArgument, "seed has " + std::to_string(hex.size()) + " hex digits, want " +
                                             std::to_string(2 * kCloneSeedBytes));
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return Error(Errc::kInvalidArgument, "seed is not hex (at digit " + std::to_string(i) + ")");
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

Status setClock(int64_t realtimeNs) {
  if (realtimeNs <= 0) return Error(Errc::kInvalidArgument, "no clock given");
  timespec ts{static_cast<time_t>(realtimeNs / 1'000'000'000), static_cast<long>(realtimeNs % 1'000'000'000)};
  if (::clock_settime(CLOCK_REALTIME, &ts) != 0) return Error::fromErrno("clock_settime");
  return ok();
}

Status reseedRandom(std::span<const uint8_t> seed) {
  // Every clone resumes with the template's RNG state: without fresh entropy, two clones would
  // draw the same "random" numbers (keys, UUIDs, the lazily made boot_id).
  UniqueFd fd(::open("/dev/urandom", O_WRONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("opening /dev/urandom");
  std::vector<uint8_t> mem(sizeof(rand_pool_info) + seed.size());
  auto* info = reinterpret_cast<rand_pool_info*>(mem.data());
  info->entropy_count = static_cast<int>(seed.size() * 8);  // bits credited: the host's seed is random
  info->buf_size = static_cast<int>(seed.size());
  std::memcpy(mem.data() + sizeof(rand_pool_info), seed.data(), seed.size());
  if (::ioctl(fd.get(), RNDADDENTROPY, info) != 0) return Error::fromErrno("adding the seed (RNDADDENTROPY)");
  // Credited entropy alone waits for the next scheduled reseed; force it now.
  if (::ioctl(fd.get(), RNDRESEEDCRNG) != 0) return Error::fromErrno("reseeding (RNDRESEEDCRNG)");
  return ok();
}

Status rescanPci() {
  UniqueFd fd(::open("/sys/bus/pci/rescan", O_WRONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("opening /sys/bus/pci/rescan");
  if (::write(fd.get(), "1", 1) != 1) return Error::fromErrno("writing /sys/bus/pci/rescan");
  return ok();
}

Status dropDiskCaches() {
  for (const auto& dev : listDir("/sys/block")) {
    if (dev.rfind("vd", 0) != 0) continue;
    UniqueFd fd(::open(("/dev/" + dev).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::fromErrno("opening /dev/" + dev);
    if (::ioctl(fd.get(), BLKFLSBUF, 0) != 0) return Error::fromErrno("dropping the cached blocks of /dev/" + dev);
  }
  return ok();
}

Status prepareClone(const vsock::Identity& who, std::span<const uint8_t> seed) {
  if (auto st = setClock(who.clockNs); !st) return std::move(st).error().wrap("setting the clone's clock");
  if (auto st = reseedRandom(seed); !st) return std::move(st).error().wrap("reseeding the clone's RNG");
  if (auto st = dropDiskCaches(); !st) return std::move(st).error().wrap("the clone's disks");
  std::string mac = who.config.networks.empty() ? "" : who.config.networks[0].mac;
  if (auto st = adoptTemplateNic(who.templateMac, mac); !st) return std::move(st).error().wrap("the clone's NIC");
  if (who.newDevices) {
    if (auto st = rescanPci(); !st) return std::move(st).error().wrap("finding the clone's devices (PCI rescan)");
  }
  return ok();
}

void powerOff() {
  killEverything();
  ::sync();
  unmountDisks();
  ::sync();
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();  // PID 1 must never exit: that would panic the kernel
}

}  // namespace vic::tether
