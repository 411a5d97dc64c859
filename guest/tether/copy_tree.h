// Copies a directory tree with what docker keeps when it fills a new volume from the image:
// modes, owners, times, symlinks (as links, never followed), device nodes and fifos.
#pragma once

#include <string>

#include "common/result.h"

namespace vic::tether {

// Copies the contents of `src` into the existing directory `dst` (which takes src's mode,
// owner and times too).
Status copyTree(const std::string& src, const std::string& dst);
// True when `dir` holds nothing but ext4's lost+found.
bool emptyVolume(const std::string& dir);
// True when `dir` is a directory with at least one entry.
bool hasEntries(const std::string& dir);

}  // namespace vic::tether
