// GuestRoot: the one way host code touches a filesystem a guest or an image controls (a
// container's disk mounted on the host, a layer being applied, an uploaded image archive).
// Every path is resolved by the kernel with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
// absolute and ".." symlinks resolve as they would inside the guest, so no name, symlink or
// ".." in the guest's tree can reach the host's files. The last component of a path that is
// created, replaced or removed is never followed: it is handled through its parent directory's
// fd (openat/unlinkat/mknodat with that fd), never through a host path string.
//
// Assumes nothing changes the tree under us while we work (the guest is stopped, or we hold a
// throwaway snapshot); even if something did, resolution stays inside the root.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace vic {

class GuestRoot {
 public:
  // `hostDir`: where the guest's filesystem is (a mount point, a scratch directory).
  static Result<GuestRoot> open(const std::string& hostDir);

  int fd() const { return root_.get(); }

  // Opens `path` (the guest's view: "/etc/passwd", "etc/passwd" and "../etc/passwd" are the
  // same file) with open(2) `flags`, symlinks followed inside the root only. ENOENT/ENOTDIR
  // become kNotFound.
  Result<UniqueFd> openPath(const std::string& path, int flags) const;

  // A name's place: its parent directory (resolved inside the root) and its last component,
  // which is never followed. "." names the root itself.
  struct Slot {
    UniqueFd dir;
    std::string base;
    // "/proc/self/fd/<dir>/<base>": for calls that take only a path; valid while `dir` is open,
    // and with the l* calls (lstat, lsetxattr) the last component is still not followed.
    std::string procPath() const;
  };
  // `createParents`: missing parent directories are made (mode 0755), each one inside the root.
  Result<Slot> slot(const std::string& path, bool createParents = false) const;

  // Removes `path` and everything under it; a symlink is removed, never followed. A missing
  // path is not an error.
  Status removeAll(const std::string& path) const;
  // Removes every entry of the directory `path` whose name `keep` rejects.
  Status clearDir(const std::string& path, const std::function<bool(const std::string&)>& keep) const;

 private:
  explicit GuestRoot(UniqueFd fd) : root_(std::move(fd)) {}
  UniqueFd root_;
};

// Removes `name` in the directory `dirFd` and everything under it, without following any
// symlink, with a constant number of open fds however deep the tree is (no recursion).
Status removeTreeAt(int dirFd, const std::string& name);

// The directory's entry names (no "." or ".."), unsorted.
Result<std::vector<std::string>> listDirFd(int dirFd);

}  // namespace vic
