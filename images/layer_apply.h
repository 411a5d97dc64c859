// Applying an image layer (a tar, optionally gzip or zstd) onto a directory tree with
// OCI/Docker whiteout semantics. The tree is a guest's (common/guest_root.h): names, symlinks
// and hard-link targets resolve inside it as they would in the container, whiteouts and
// opaque directories remove only inside it, and libarchive only reads; every write goes
// through a parent directory fd.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace vic::images {

struct ApplyStats {
  uint64_t entries = 0;
  uint64_t whiteouts = 0;
  uint64_t opaqueDirs = 0;
  uint64_t bytes = 0;  // uncompressed tar bytes read
};

struct ExtractOptions {
  bool sameOwner = false;  // keep the archive's uids/gids (needs root); else files belong to the caller
  bool whiteouts = true;   // ".wh." names delete (a layer); else an error-free plain name (an archive)
  bool devices = true;     // device nodes and fifos are made (a layer); else refused
  uint64_t maxEntries = 1'000'000;
  uint64_t maxBytes = UINT64_MAX;  // the sum of regular files' sizes
};

// Extracts `tarFile` into `rootDir` treated as a guest's root.
Result<ApplyStats> extractTar(const std::string& tarFile, const std::string& rootDir, const ExtractOptions& opts);

// `sameOwner`: keep the archive's uids/gids (needs root); else files belong to the caller.
Result<ApplyStats> applyLayer(const std::string& layerFile, const std::string& rootDir, bool sameOwner);

// The layer's diff id: "sha256:<hex>" of its uncompressed tar stream (checked against the
// image config's rootfs.diff_ids before anything is applied).
// A layer that expands beyond `maxBytes` (a tar bomb) is refused before anything is written.
Result<std::string> layerDiffId(const std::string& layerFile, uint64_t maxBytes = UINT64_MAX);

}  // namespace vic::images
