// docker diff and commit on a stopped container: its filesystem (the container's qcow2 mounted
// on the host) compared with its image's (the image's top layer disk), as docker compares two
// trees (moby's ChangesDirs): a file changed when its mode, owner, size or mtime differ; a
// directory when something inside it changed; a deleted subtree is reported at its top only.
// The changes become a layer tar with OCI whiteouts for what was deleted.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace vic::pl {

enum class ChangeKind { kModified = 0, kAdded = 1, kDeleted = 2 };  // docker's Kind numbers

struct Change {
  std::string path;  // "/etc/hosts"
  ChangeKind kind;
  bool operator==(const Change&) const = default;
};

// What tether writes into every container (mount points, /etc/hosts...): docker keeps these in
// an init layer that neither diff nor commit shows, and so do we.
inline const std::vector<std::string> kInitPaths = {"/dev", "/proc", "/sys", "/etc/hostname", "/etc/hosts",
                                                    "/etc/resolv.conf"};

// Sorted by path, as docker lists them; `ignore` (and anything below) is left out.
Result<std::vector<Change>> diffTrees(const std::string& baseRoot, const std::string& newRoot,
                                      const std::vector<std::string>& ignore = {});

// The changes as an uncompressed layer tar at `tarFile`: added and modified entries from
// `newRoot` (files with content, directories, symlinks, hard links within the layer), a
// ".wh.<name>" whiteout for each deletion. Sockets and devices are left out.
Status writeLayerTar(const std::string& newRoot, const std::vector<Change>& changes, const std::string& tarFile);

}  // namespace vic::pl
