#include "hypervisor/disk_mount.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/files.h"
#include "common/process.h"
#include "common/unique_fd.h"

namespace vic::hv {
namespace fs = std::filesystem;

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(20);
// Nothing on a guest's filesystem runs, opens a device or gains privileges on the host.
constexpr unsigned long kGuestMountFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

dev_t deviceOf(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? st.st_dev : 0;
}

void writePid(const std::string& file, pid_t pid) { std::ofstream(file) << pid << "\n"; }

std::string logTail(const std::string& file) {
  std::string s = readFile(file);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.size() > 400 ? s.substr(s.size() - 400) : s;
}

// Waits until `path` sits on another device than its directory (a mount appeared there),
// failing early if the process serving it exits.
Status waitMounted(const std::string& path, pid_t server, const std::string& what, const std::string& log) {
  dev_t parent = deviceOf(fs::path(path).parent_path().string());
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    dev_t d = deviceOf(path);
    if (d != 0 && d != parent) return ok();
    if (auto code = tryWaitExit(server)) {
      return Error(Errc::kIo, what + " exited with " + std::to_string(*code) + ": " + logTail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return Error(Errc::kTimeout, what + " did not mount " + path + " within 20 s: " + logTail(log));
}

std::optional<int> exitWithin(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (auto code = tryWaitExit(pid)) return code;
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// SIGTERM, and never a wait without end: qemu-storage-daemon has been seen (under load) to take
// the signal and stay in its FUSE session; detaching its export ends that and it exits, having
// closed the qcow2. Only if it still does not is it killed. False: it had to be killed.
bool stopProcess(pid_t pid, const std::string& fuseExport = "") {
  if (pid <= 0) return true;
  ::kill(pid, SIGTERM);
  if (exitWithin(pid, std::chrono::seconds(10))) return true;
  if (!fuseExport.empty()) ::umount2(fuseExport.c_str(), MNT_DETACH);
  if (exitWithin(pid, std::chrono::seconds(10))) return true;
  ::kill(pid, SIGKILL);
  (void)waitExit(pid);
  return false;
}

bool validForQemuOption(const std::string& path) { return path.find(',') == std::string::npos; }

// A free loop device bound to `file` with autoclear (it detaches itself at unmount).
Result<UniqueFd> attachLoop(const std::string& file, bool writable) {
  UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl) return Error::fromErrno("opening /dev/loop-control");
  UniqueFd backing(::open(file.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  if (!backing) return Error::fromErrno("opening " + file);
  for (int attempt = 0; attempt < 8; ++attempt) {
    int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return Error::fromErrno("finding a free loop device");
    std::string dev = "/dev/loop" + std::to_string(n);
    if (::access(dev.c_str(), F_OK) != 0) ::mknod(dev.c_str(), S_IFBLK | 0600, ::makedev(7, static_cast<unsigned>(n)));
    UniqueFd loop(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop) return Error::fromErrno("opening " + dev);
    loop_config cfg{};
    cfg.fd = static_cast<uint32_t>(backing.get());
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (writable ? 0 : LO_FLAGS_READ_ONLY);
    if (::ioctl(loop.get(), LOOP_CONFIGURE, &cfg) == 0) return loop;
    if (errno != EBUSY) return Error::fromErrno("configuring " + dev);  // EBUSY: another process took it
  }
  return Error(Errc::kUnavailable, "no free loop device");
}

std::string loopName(int fd) { return fs::read_symlink("/proc/self/fd/" + std::to_string(fd)).string(); }

}  // namespace

DiskMount::DiskMount(std::string workDir, pid_t qsd)
    : workDir_(std::move(workDir)), export_(workDir_ + "/export"), root_(workDir_ + "/root"), qsd_(qsd) {}

Result<std::unique_ptr<DiskMount>> DiskMount::mount(const std::string& qcow2, const std::string& workDir,
                                                    bool writable, DiskContent content) {
  if (!validForQemuOption(qcow2)) return Error(Errc::kInvalidArgument, "mounting disk " + qcow2 + ": paths may not contain ','");
  // A guest's disk is opened writable even to be read: its journal may need replaying first.
  std::string ro = writable || content == DiskContent::kGuest ? "off" : "on";
  return start(qcow2, workDir, {"driver=qcow2,node-name=disk,read-only=" + ro + ",file.driver=file,file.filename=" + qcow2},
               writable, content);
}

// The disk as it is now, through a throwaway qcow2 overlay: the running VM keeps its write lock
// (we open its disk read-only with force-share), and ext4's journal replay lands in the overlay.
Result<std::unique_ptr<DiskMount>> DiskMount::snapshot(const std::string& busyDisk, const std::string& workDir) {
  std::string busyQcow2 = fs::absolute(busyDisk).string();  // the overlay names its backing file by it
  std::string what = "taking a snapshot of disk " + busyQcow2;
  if (!validForQemuOption(busyQcow2)) return Error(Errc::kInvalidArgument, what + ": paths may not contain ','");
  auto info = runChecked({"qemu-img", "info", "-U", "--output=json", busyQcow2}, what);
  if (!info) return std::move(info).error();
  auto pos = info->find("\"virtual-size\":");
  if (pos == std::string::npos) return Error(Errc::kIo, what + ": qemu-img gave no virtual size");
  std::string size = std::to_string(std::strtoull(info->c_str() + pos + 15, nullptr, 10));
  std::error_code ec;
  fs::create_directories(workDir, ec);
  std::string overlay = workDir + "/snapshot.qcow2";
  auto made = runChecked({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", busyQcow2, "-u", overlay, size}, what);
  if (!made) return std::move(made).error();
  return start(overlay, workDir,
               {"driver=file,node-name=busyfile,filename=" + busyQcow2 + ",read-only=on,force-share=on",
                "driver=qcow2,node-name=busy,file=busyfile,read-only=on,force-share=on",
                "driver=file,node-name=overlayfile,filename=" + overlay,
                "driver=qcow2,node-name=disk,file=overlayfile,backing=busy"},
               false, DiskContent::kGuest);
}

// Exports the blockdev node "disk" (defined by `blockdevs`) over FUSE and mounts its ext4.
Result<std::unique_ptr<DiskMount>> DiskMount::start(const std::string& disk, const std::string& workDir,
                                                    const std::vector<std::string>& blockdevs, bool writable,
                                                    DiskContent content) {
  std::string what = "mounting disk " + disk;
  if (!validForQemuOption(workDir)) return Error(Errc::kInvalidArgument, what + ": paths may not contain ','");
  std::error_code ec;
  fs::create_directories(workDir + "/root", ec);
  // Only root may reach the mount: what is in a guest's filesystem is the guest's.
  fs::permissions(workDir, fs::perms::owner_all, ec);
  std::ofstream(workDir + "/export").flush();
  if (ec || !fs::exists(workDir + "/export")) return Error(Errc::kIo, what + ": cannot prepare " + workDir);
  std::string log = workDir + "/qsd.log";
  std::vector<std::string> argv{"qemu-storage-daemon"};
  for (const auto& b : blockdevs) argv.insert(argv.end(), {"--blockdev", b});
  bool exportWritable = writable || content == DiskContent::kGuest;
  argv.insert(argv.end(), {"--export", "type=fuse,id=exp,node-name=disk,mountpoint=" + workDir + "/export,writable=" +
                                           std::string(exportWritable ? "on" : "off")});
  auto qsd = spawnProcess(argv, log);
  if (!qsd) return std::move(qsd).error().wrap(what);
  writePid(workDir + "/qsd.pid", *qsd);
  std::unique_ptr<DiskMount> m(new DiskMount(workDir, *qsd));
  if (auto st = waitMounted(m->export_, *qsd, "qemu-storage-daemon", log); !st) {
    m->qsd_ = (st.error().code() == Errc::kTimeout) ? *qsd : -1;
    return std::move(st).error().wrap(what);
  }
  if (content == DiskContent::kOurs && m->mountLoop(writable)) return m;  // the kernel's ext4 (root, /dev/loop-control)
  if (content == DiskContent::kGuest) {  // then served read-only unless the caller writes
    if (auto st = m->replayJournal(); !st) return std::move(st).error().wrap(what);
  }
  if (auto st = m->startFuse2fs(writable); !st) return std::move(st).error().wrap(what);
  return m;
}

bool DiskMount::mountLoop(bool writable) {
  const char* forced = std::getenv("VIC_DISK_MOUNT");  // "fuse2fs": the unprivileged path, for tests
  if (forced && std::string(forced) == "fuse2fs") return false;
  auto loop = attachLoop(export_, writable);
  if (!loop) return false;
  std::string dev = loopName(loop->get());
  unsigned long flags = kGuestMountFlags | (writable ? 0 : MS_RDONLY);
  if (::mount(dev.c_str(), root_.c_str(), "ext4", flags, nullptr) != 0) return false;
  std::ofstream(workDir_ + "/loop") << dev << "\n";
  loopMounted_ = true;
  return true;  // closing our fd is fine: the mount holds the device until unmount clears it
}

// A guest that was killed leaves its journal to replay; fuse2fs will not mount it writable
// until then, and the kernel is not asked to.
Status DiskMount::replayJournal() {
  auto r = runProcess({"e2fsck", "-E", "journal_only", "-p", export_});
  if (!r) return std::move(r).error().wrap("replaying the journal");
  if (r->exitCode >= 4) return Error(Errc::kIo, "replaying the journal: e2fsck exited with " + std::to_string(r->exitCode) + ": " + r->out + r->err);
  return ok();
}

Status DiskMount::startFuse2fs(bool writable) {
  std::string log = workDir_ + "/fuse2fs.log";
  std::string opts = std::string(writable ? "rw,big_writes" : "ro") + ",nosuid,nodev,noexec";
  auto pid = spawnProcess({"fuse2fs", export_, root_, "-f", "-o", opts}, log);
  if (!pid) return std::move(pid).error();
  writePid(workDir_ + "/fuse2fs.pid", *pid);
  fuse2fs_ = *pid;
  auto st = waitMounted(root_, *pid, "fuse2fs", log);
  if (!st && st.error().code() != Errc::kTimeout) fuse2fs_ = -1;  // already reaped
  return st;
}

Status DiskMount::unmount() {
  Status result;
  if (loopMounted_) {
    loopMounted_ = false;
    if (::umount2(root_.c_str(), 0) != 0) {  // writes everything back before returning
      result = Error::fromErrno("unmounting " + root_);
      ::umount2(root_.c_str(), MNT_DETACH);
    }
  }
  if (fuse2fs_ > 0) {
    if (::umount2(root_.c_str(), 0) != 0) {
      result = Error::fromErrno("unmounting " + root_);
      ::umount2(root_.c_str(), MNT_DETACH);
    }
    int code = waitExit(fuse2fs_);  // it exits once everything is written back
    fuse2fs_ = -1;
    if (code != 0 && result) {
      result = Error(Errc::kIo, "fuse2fs exited with " + std::to_string(code) + ": " + logTail(workDir_ + "/fuse2fs.log"));
    }
  }
  if (qsd_ > 0) {
    bool clean = stopProcess(qsd_, export_);  // flushes and closes the qcow2
    qsd_ = -1;
    if (!clean && result) result = Error(Errc::kIo, "qemu-storage-daemon had to be killed: " + logTail(workDir_ + "/qsd.log"));
    ::umount2(export_.c_str(), MNT_DETACH);  // normally gone with the daemon
  }
  return result;
}

DiskMount::~DiskMount() { (void)unmount(); }

void cleanupMountDir(const std::string& workDir) {
  for (const char* name : {"fuse2fs.pid", "qsd.pid"}) {
    std::string text = readFile(workDir + "/" + name);
    pid_t pid = static_cast<pid_t>(std::atol(text.c_str()));
    std::string comm = pid > 0 ? readFile("/proc/" + std::to_string(pid) + "/comm") : "";
    if (name == std::string("fuse2fs.pid")) ::umount2((workDir + "/root").c_str(), MNT_DETACH);  // fuse2fs or loop
    if (comm.rfind("fuse2fs", 0) == 0 || comm.rfind("qemu-storage", 0) == 0) ::kill(pid, SIGTERM);
  }
  ::umount2((workDir + "/export").c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(workDir, ec);
}

}  // namespace vic::hv
