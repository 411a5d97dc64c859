#include "hypervisor/resource_pool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/files.h"
#include "common/process.h"

namespace vic::hv {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kPeriodUs = 100000;

Status writeValue(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  if (!out) return Error::fromErrno("writing " + value + " to " + path);
  return ok();
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<std::string> split(const std::string& pool) {
  std::vector<std::string> parts;
  std::istringstream in(pool);
  for (std::string p; std::getline(in, p, '/');) parts.push_back(p);
  return parts;
}

// libvirt's escaping of a partition's part in a slice name: '-' separates levels there.
std::string sliceEscape(const std::string& part) {
  std::string out;
  for (char c : part) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || (c == '.' && !out.empty())) {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

Status checkLimits(const std::string& pool, const PoolLimits& limits) {
  std::string what = "setting limits of resource pool " + pool;
  if (limits.memoryBytes && *limits.memoryBytes < (64u << 20)) {
    return Error(Errc::kInvalidArgument, what + ": memory limit below 64 MiB");
  }
  if (limits.cpus && *limits.cpus < 0.01) return Error(Errc::kInvalidArgument, what + ": CPU limit below 0.01");
  return ok();
}

Status runCommand(const std::vector<std::string>& argv) {
  std::string what;
  for (const auto& a : argv) what += (what.empty() ? "" : " ") + a;
  auto r = runChecked(argv, what);
  return r ? ok() : Status(std::move(r).error());
}

// What libvirt leaves in a partition when a VM's QEMU dies while libvirtd is down: the VM's
// cgroups, with no process in them. Removed deepest first; one with a process stays.
void removeEmptyChildren(const std::string& d) {
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(d, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory() && !it->is_symlink()) dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) { return a.string().size() > b.string().size(); });
  for (const auto& c : dirs) {
    if (trimmed(readFile((c / "cgroup.procs").string())).empty()) ::rmdir(c.c_str());
  }
}

}  // namespace

ResourcePools::ResourcePools(std::string cgroupRoot)
    : ResourcePools(std::move(cgroupRoot), fs::exists("/run/systemd/system") ? PoolLayout::kSystemdSlices : PoolLayout::kPartitions,
                    "/etc/systemd/system", runCommand) {}

ResourcePools::ResourcePools(std::string cgroupRoot, PoolLayout layout, std::string unitDir, CommandRunner run)
    : root_(std::move(cgroupRoot)), layout_(layout), unitDir_(std::move(unitDir)), run_(std::move(run)) {
  v2_ = fs::exists(root_ + "/cgroup.controllers");
}

Status ResourcePools::validate(const std::string& pool) {
  auto parts = split(pool);
  bool good = !parts.empty() && pool.back() != '/';
  for (const auto& p : parts) {
    good = good && !p.empty() && p.size() <= 64 && (std::islower(static_cast<unsigned char>(p[0])) || std::isdigit(static_cast<unsigned char>(p[0])));
    for (char c : p) good = good && (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  }
  if (!good) return Error(Errc::kInvalidArgument, "invalid resource pool name '" + pool + "': use [a-z0-9][a-z0-9_-]* parts separated by /");
  return ok();
}

std::string ResourcePools::partition(const std::string& pool) { return "/machine/" + pool; }

std::string ResourcePools::cgroupPath(const std::string& pool, PoolLayout layout) {
  if (layout == PoolLayout::kPartitions) {
    std::string out = "machine";
    for (const auto& p : split(pool)) out += "/" + p + ".partition";
    return out;
  }
  std::string out = "machine.slice", prefix = "machine";
  for (const auto& p : split(pool)) {
    prefix += "-" + sliceEscape(p);
    out += "/" + prefix + ".slice";
  }
  return out;
}

std::string ResourcePools::sliceName(const std::string& pool) {
  std::string name = "machine";
  for (const auto& p : split(pool)) name += "-" + sliceEscape(p);
  return name + ".slice";
}

std::vector<std::string> ResourcePools::sliceProperties(const PoolLimits& limits) {
  std::string cpu = limits.cpus ? std::to_string(std::llround(*limits.cpus * 100)) + "%" : "";
  std::string mem = limits.memoryBytes ? std::to_string(*limits.memoryBytes) : "infinity";
  return {"CPUQuota=" + cpu, "MemoryMax=" + mem};
}

std::string ResourcePools::sliceUnitText(const std::string& pool, const PoolLimits& limits) {
  std::string text = "[Unit]\nDescription=vic resource pool " + pool + "\nBefore=slices.target\nWants=machine.slice\n\n[Slice]\n";
  for (const auto& p : sliceProperties(limits)) {
    if (p != "CPUQuota=" && p != "MemoryMax=infinity") text += p + "\n";
  }
  return text;
}

std::vector<std::string> ResourcePools::hierarchies() const {
  if (v2_) return {root_};
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    std::string name = e.path().filename().string();
    if (name == "systemd" || !e.is_directory() || fs::is_symlink(e.path())) continue;
    if (fs::exists(e.path() / "cgroup.procs")) out.push_back(e.path().string());
  }
  return out;
}

std::string ResourcePools::dir(const std::string& hierarchy, const std::string& pool) const {
  return hierarchy + "/" + cgroupPath(pool, layout_);
}

Status ResourcePools::create(const std::string& pool, const PoolLimits& limits) {
  if (auto st = validate(pool); !st) return st;
  if (auto st = checkLimits(pool, limits); !st) return st;
  if (layout_ == PoolLayout::kSystemdSlices) return installSlice(pool, limits);
  return createPartition(pool, limits);
}

Status ResourcePools::createPartition(const std::string& pool, const PoolLimits& limits) {
  auto parts = split(pool);
  std::string parent = parts.size() > 1 ? pool.substr(0, pool.rfind('/')) : "";
  for (const auto& h : hierarchies()) {
    std::string parentDir = parent.empty() ? h + "/machine" : dir(h, parent);
    // libvirt's default partition appears in a hierarchy only once a VM has run; a pool may come first
    if (parent.empty() && !v2_ && ::mkdir(parentDir.c_str(), 0755) == 0 && fs::exists(h + "/cpuset.cpus")) {
      (void)writeValue(parentDir + "/cpuset.cpus", readFile(h + "/cpuset.cpus"));
      (void)writeValue(parentDir + "/cpuset.mems", readFile(h + "/cpuset.mems"));
    }
    if (!fs::exists(parentDir)) {
      return Error(Errc::kNotFound, "creating resource pool " + pool + ": parent " + parentDir + " does not exist");
    }
    if (v2_) (void)writeValue(parentDir + "/cgroup.subtree_control", "+cpu +memory");
    if (::mkdir(dir(h, pool).c_str(), 0755) != 0 && errno != EEXIST) {
      return Error::fromErrno("creating resource pool " + pool + " in " + h);
    }
    if (fs::exists(parentDir + "/cpuset.cpus") && trimmed(readFile(dir(h, pool) + "/cpuset.cpus")).empty()) {
      // v1 cpuset children start empty unless the parent clones: copy so VMs can start
      (void)writeValue(dir(h, pool) + "/cpuset.cpus", readFile(parentDir + "/cpuset.cpus"));
      (void)writeValue(dir(h, pool) + "/cpuset.mems", readFile(parentDir + "/cpuset.mems"));
    }
  }
  return writeLimits(pool, limits);
}

Status ResourcePools::update(const std::string& pool, const PoolLimits& limits) {
  if (auto st = validate(pool); !st) return st;
  if (auto st = checkLimits(pool, limits); !st) return st;
  if (layout_ == PoolLayout::kPartitions) return writeLimits(pool, limits);
  if (!fs::exists(unitDir_ + "/" + sliceName(pool))) {
    return Error(Errc::kNotFound, "setting limits of resource pool " + pool + ": no such pool");
  }
  return installSlice(pool, limits);
}

// The unit file (what a reboot finds), then systemd told: loaded, started, limits applied now.
Status ResourcePools::installSlice(const std::string& pool, const PoolLimits& limits) {
  std::string slice = sliceName(pool), what = "resource pool " + pool + " (" + slice + ")";
  std::string file = unitDir_ + "/" + slice, text = sliceUnitText(pool, limits);
  std::vector<std::vector<std::string>> steps{{"systemctl", "start", slice}, {"systemctl", "set-property", "--runtime", slice}};
  if (!fs::exists(file) || readFile(file) != text) {  // unchanged (an endpoint's start at boot): no reload
    if (auto st = writeFileAtomically(file, text); !st) return st.error().wrap(what);
    steps.insert(steps.begin(), {"systemctl", "daemon-reload"});
  }
  for (const auto& p : sliceProperties(limits)) steps.back().push_back(p);
  for (const auto& argv : steps) {
    if (auto st = run_(argv); !st) return st.error().wrap(what);
  }
  return ok();
}

Status ResourcePools::writeLimits(const std::string& pool, const PoolLimits& limits) {
  std::string what = "setting limits of resource pool " + pool;
  std::string quota = limits.cpus ? std::to_string(static_cast<uint64_t>(std::llround(*limits.cpus * kPeriodUs))) : "";
  std::string mem = limits.memoryBytes ? std::to_string(*limits.memoryBytes) : "";
  if (v2_) {
    std::string d = dir(root_, pool);
    if (!fs::exists(d)) return Error(Errc::kNotFound, what + ": no such pool");
    if (auto st = writeValue(d + "/cpu.max", (quota.empty() ? "max" : quota) + " " + std::to_string(kPeriodUs)); !st) return st;
    return writeValue(d + "/memory.max", mem.empty() ? "max" : mem);
  }
  std::string cpuDir = dir(root_ + "/cpu", pool), memDir = dir(root_ + "/memory", pool);
  if (!fs::exists(cpuDir) || !fs::exists(memDir)) return Error(Errc::kNotFound, what + ": no such pool");
  if (auto st = writeValue(cpuDir + "/cpu.cfs_period_us", std::to_string(kPeriodUs)); !st) return st;
  if (auto st = writeValue(cpuDir + "/cpu.cfs_quota_us", quota.empty() ? "-1" : quota); !st) return st;
  return writeValue(memDir + "/memory.limit_in_bytes", mem.empty() ? "-1" : mem);
}

Result<PoolLimits> ResourcePools::limits(const std::string& pool) {
  PoolLimits l;
  std::string quota, period, mem;
  if (v2_) {
    std::istringstream cpu(readFile(dir(root_, pool) + "/cpu.max"));
    cpu >> quota >> period;
    mem = trimmed(readFile(dir(root_, pool) + "/memory.max"));
  } else {
    quota = trimmed(readFile(dir(root_ + "/cpu", pool) + "/cpu.cfs_quota_us"));
    period = trimmed(readFile(dir(root_ + "/cpu", pool) + "/cpu.cfs_period_us"));
    mem = trimmed(readFile(dir(root_ + "/memory", pool) + "/memory.limit_in_bytes"));
  }
  if (quota.empty() || mem.empty()) return Error(Errc::kNotFound, "resource pool " + pool + " does not exist");
  if (quota != "max" && quota != "-1") l.cpus = std::stod(quota) / std::stod(period);
  // v1 reports "no limit" as a huge page-rounded number
  if (mem != "max" && std::stoull(mem) < (uint64_t{1} << 62)) l.memoryBytes = std::stoull(mem);
  return l;
}

Result<PoolUsage> ResourcePools::usage(const std::string& pool) {
  PoolUsage u;
  // cgroup2's cpu.stat counts CPU time whatever controllers are enabled; on a hybrid host
  // libvirt places VMs in the unified tree too, while cpuacct may not be used.
  auto cpuStat = [&](const std::string& d) {
    std::istringstream stat(readFile(d + "/cpu.stat"));
    for (std::string k, v; stat >> k >> v;) {
      if (k == "usage_usec") u.cpuNanos = std::stoull(v) * 1000;
    }
  };
  if (v2_) {
    cpuStat(dir(root_, pool));
    std::string mem = trimmed(readFile(dir(root_, pool) + "/memory.current"));
    if (mem.empty()) return Error(Errc::kNotFound, "resource pool " + pool + " does not exist");
    u.memoryBytes = std::stoull(mem);
    return u;
  }
  std::string cpu = trimmed(readFile(dir(root_ + "/cpuacct", pool) + "/cpuacct.usage"));
  std::string mem = trimmed(readFile(dir(root_ + "/memory", pool) + "/memory.usage_in_bytes"));
  if (mem.empty()) return Error(Errc::kNotFound, "resource pool " + pool + " does not exist");
  u.cpuNanos = cpu.empty() ? 0 : std::stoull(cpu);
  if (u.cpuNanos == 0 && fs::exists(root_ + "/unified/cgroup.controllers")) cpuStat(dir(root_ + "/unified", pool));
  u.memoryBytes = std::stoull(mem);
  return u;
}

Status ResourcePools::remove(const std::string& pool) {
  if (auto st = validate(pool); !st) return st;
  if (layout_ == PoolLayout::kSystemdSlices) return removeSlice(pool);
  for (const auto& h : hierarchies()) {
    std::string d = dir(h, pool);
    if (!fs::exists(d)) continue;
    removeEmptyChildren(d);
    if (::rmdir(d.c_str()) != 0) {
      if (errno == EBUSY || errno == ENOTEMPTY) {
        return Error(Errc::kConflict, "removing resource pool " + pool + ": VMs or pools are still in it");
      }
      return Error::fromErrno("removing resource pool " + pool + " in " + h);
    }
  }
  return ok();
}

Status ResourcePools::removeSlice(const std::string& pool) {
  for (const auto& h : hierarchies()) {  // a VM's scope or a nested pool's slice still in it
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir(h, pool), ec)) {
      std::string name = e.path().filename().string();
      if (e.is_directory() && (name.ends_with(".scope") || name.ends_with(".slice"))) {
        return Error(Errc::kConflict, "removing resource pool " + pool + ": VMs or pools are still in it");
      }
    }
  }
  std::string slice = sliceName(pool), file = unitDir_ + "/" + slice;
  if (!fs::exists(file)) return ok();
  if (auto st = run_({"systemctl", "stop", slice}); !st) return st.error().wrap("removing resource pool " + pool);
  std::error_code ec;
  fs::remove(file, ec);
  if (ec) return Error(Errc::kIo, "removing " + file + ": " + ec.message());
  return run_({"systemctl", "daemon-reload"});
}

}  // namespace vic::hv
