// PID 1 duties of tether in a containerVM: the initramfs side (mount the basics, load
// modules, read the configuration, find and switch into the container disk) and the
// container side (/dev/pts, /dev/shm, hostname, hosts, resolv.conf, volumes, power-off).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "vsock/messages.h"

namespace vic::tether {

inline constexpr const char* kConfigFwCfg = "opt/org.vic/config";
inline constexpr const char* kLogPortName = "org.vic.log";

Status mountBasics();                                    // /proc, /sys, /dev in the initramfs
Status loadModules(const std::string& dir);              // <dir>/order lists them, in load order
// /sys/firmware/qemu_fw_cfg/by_name/...: kNotFound when fw_cfg has no such entry (an instant
// clone template boots without its container config), kUnavailable when there is no fw_cfg.
Result<std::string> readFwCfg(const std::string& name);
Result<std::string> findPortDevice(const std::string& name);  // /dev/vportNpM by port name
Result<std::string> findDisk(const std::string& serialOrLabel);  // /dev/vdX by serial or ext4 label
Status switchRoot(const std::string& device);          // mount it, move /proc /sys /dev, chroot
Status setupContainerDev();                             // /dev/pts, /dev/ptmx, /dev/shm
Status writeIdentity(const vsock::ContainerConfig& c);  // hostname, /etc/hostname, hosts, resolv.conf
Status mountVolumes(const std::vector<vsock::MountSpec>& mounts);
Status bringUpLoopback();
[[noreturn]] void powerOff();

// ---- instant clone: a fork of the template becomes its own machine (before entering its container) ----

inline constexpr size_t kCloneSeedBytes = 64;
// The Identity request's seed: exactly 2*kCloneSeedBytes hex digits (pure).
Result<std::vector<uint8_t>> decodeSeed(std::string_view hex);
Status setClock(int64_t realtimeNs);                // the template's clock stood still while frozen
Status reseedRandom(std::span<const uint8_t> seed);  // credited entropy, then a CRNG reseed
Status rescanPci();  // the clone's disks and NICs were not there when the template booted
// All three, in that order: the clone's clock, its own random numbers, its devices.
// A fork of the template becomes its own machine: clock, RNG, devices (see vsock::Identity).
Status prepareClone(const vsock::Identity& who, std::span<const uint8_t> seed);
// Forgets what the template cached of its disks: the clone's disks sit where the template's were.
Status dropDiskCaches();

// ext4 volume label from a superblock (pure; 1024 bytes from offset 1024).
std::string ext4Label(const std::string& superblock);

}  // namespace vic::tether
