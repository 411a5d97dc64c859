// DiskMount: the ext4 filesystem inside a qcow2 disk (and its backing chain), mounted on the
// host without NBD: qemu-storage-daemon exports the qcow2 as a raw file over FUSE, and that
// file is mounted with fuse2fs, or (our own disks, as root) the kernel's ext4 on a loop device. Used to write image layers into their child disks and to
// read or write stopped containers' disks. Why this way: docs/images.md ("Writing layers").
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::hv {

// Whose filesystem a disk holds. A guest's (a container's disk, a volume) may be crafted to
// attack whatever parses it, so the host kernel never mounts it: its journal is replayed by
// e2fsck and it is served by fuse2fs, both in user space. Our own (layer disks, made by mkfs
// and written only by us) get the kernel's ext4 where root may use it. Every mount is
// nosuid,nodev,noexec, in a directory only root can enter.
enum class DiskContent { kOurs, kGuest };

class DiskMount {
 public:
  // `workDir` is an empty directory owned by this mount (export file, mountpoint, logs);
  // a process killed while mounted leaves it for cleanupMountDir().
  static Result<std::unique_ptr<DiskMount>> mount(const std::string& qcow2, const std::string& workDir, bool writable,
                                                  DiskContent content = DiskContent::kOurs);
  // `writable` false: the filesystem is mounted read-only (a guest's journal is still replayed).
  // A running VM's disk as it is now, mounted read-only through a throwaway overlay in
  // `workDir` (the VM's disk is only read, with force-share; the journal replays into the
  // overlay). Consistent as after a crash: flush the guest first.
  static Result<std::unique_ptr<DiskMount>> snapshot(const std::string& busyQcow2, const std::string& workDir);
  ~DiskMount();  // best effort; call unmount() to see errors
  DiskMount(const DiskMount&) = delete;
  DiskMount& operator=(const DiskMount&) = delete;

  const std::string& root() const { return root_; }  // the mounted filesystem
  // Unmounts, waits for fuse2fs to write everything back, then stops the daemon (which
  // flushes the qcow2). After success the disk is consistent and closed.
  Status unmount();

 private:
  DiskMount(std::string workDir, pid_t qsd);
  static Result<std::unique_ptr<DiskMount>> start(const std::string& disk, const std::string& workDir,
                                                  const std::vector<std::string>& blockdevs, bool writable, DiskContent content);
  Status replayJournal();
  Status startFuse2fs(bool writable);
  bool mountLoop(bool writable);

  std::string workDir_, export_, root_;
  pid_t qsd_ = -1, fuse2fs_ = -1;
  bool loopMounted_ = false;
};

// Undoes what a killed process left in a DiskMount work dir: stops its daemons, detaches its
// mounts and removes the directory.
void cleanupMountDir(const std::string& workDir);

}  // namespace vic::hv
