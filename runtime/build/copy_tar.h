// COPY and ADD: the files a step takes from the build context (or from another stage's files)
// written as one tar whose names are where they land in the image (relative to /). Sources are
// read inside their root (common/guest_root.h): a context's symlinks and ".." never reach the
// host's files, and nothing but regular files, directories and symlinks is copied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/guest_root.h"
#include "common/result.h"
#include "runtime/build/dockerignore.h"

namespace vic::build {

// --chown: the owner every copied entry gets (docker's default is 0:0).
struct Owner {
  uint32_t uid = 0, gid = 0;
};

// A COPY source as written, cleaned to a path inside the context ("./a/../b" -> "b", "/x" ->
// "x", "." -> ""). Leaving the context is docker's "forbidden path outside the build context".
Result<std::string> cleanSource(const std::string& word);

// An absolute, cleaned destination: `dest` as written, relative to `workdir` when it is not
// absolute. `dirLike`: it ended with "/" (or "/." or was "."), which makes it a directory.
struct Destination {
  std::string path;  // "/app/x"
  bool dirLike = false;
};
Destination destination(const std::string& dest, const std::string& workdir);

// Where a source lands: a directory's contents go under `dest`; a file goes to `dest` itself,
// or under it when `destIsDir` (then by its own name). No leading "/" (a tar name).
std::string copyTarget(const std::string& source, bool sourceIsDir, const std::string& dest, bool destIsDir);

// The context paths `words` name: each cleaned, wildcards (* ? [) matched against the
// context's names (a match in an ignored file does not count). A name that matches nothing is
// docker's "file not found in build context or excluded by .dockerignore".
Result<std::vector<std::string>> matchSources(const GuestRoot& root, const std::vector<std::string>& words,
                                              const DockerIgnore& ignore);

struct CopyOptions {
  Owner owner;
  bool keepOwner = false;     // entries keep their own uid/gid, not `owner` (COPY --from without --chown)
  bool times = true;          // mtimes in the tar; none for a cache key (docker hashes contents, not times)
  bool ignoreApplies = true;  // the context's .dockerignore (not for files from another stage)
};

// Writes `tarFile`: each of `sources` (paths inside `root`, as matchSources gives them) as COPY
// puts it at `dest`. A source that is a symlink is followed (inside the root); symlinks under a
// copied directory stay symlinks. Ignored names are left out. Modes and mtimes are kept.
Status writeCopyTar(const GuestRoot& root, const std::vector<std::string>& sources, const std::string& dest,
                    bool destIsDir, const DockerIgnore& ignore, const CopyOptions& opts, const std::string& tarFile);

}  // namespace vic::build
