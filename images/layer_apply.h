// Applying an image layer (a tar, optionally gzip or zstd) onto a directory tree with
// OCI/Docker whiteout semantics. Nothing is ever written outside the root: absolute and ".."
// names are refused, and extraction never follows a symlink (libarchive's secure flags).
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

// `sameOwner`: keep the archive's uids/gids (needs root); else files belong to the caller.
Result<ApplyStats> applyLayer(const std::string& layerFile, const std::string& rootDir, bool sameOwner);

// The layer's diff id: "sha256:<hex>" of its uncompressed tar stream (checked against the
// image config's rootfs.diff_ids before anything is applied).
Result<std::string> layerDiffId(const std::string& layerFile);

}  // namespace vic::images
