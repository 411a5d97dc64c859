// A stopped container's filesystem, mounted on the host, seen as the container sees it: every
// path is resolved inside the mounted root (common/guest_root.h: openat2 RESOLVE_IN_ROOT), so an absolute or ".."
// symlink in the container can never lead to the host's files. docker cp and export on
// stopped containers use the same tar code as tether does inside a running one.
#pragma once

#include <memory>
#include <string>

#include "common/guest_root.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "vsock/archive.h"
#include "vsock/messages.h"

namespace vic::pl {

class ContainerFs {
 public:
  // `root`: the mounted filesystem; `who`: the container's name for docker's messages.
  static Result<ContainerFs> open(const std::string& root, std::string who);

  // lstat of `path` as docker's archive HEAD does (the last component is not followed).
  Result<vsock::FileStat> stat(const std::string& path) const;
  Result<std::unique_ptr<vsock::ArchiveSource>> read(const std::string& path, vsock::SourceOptions opts = {}) const;
  // Extracts into the directory `path` (followed inside the root, as docker does).
  Result<std::unique_ptr<vsock::ArchiveSink>> write(const std::string& path, vsock::SinkOptions opts) const;

 private:
  struct Resolved {
    UniqueFd dir;      // the parent directory, inside the root
    std::string base;  // the last component, never followed here ("." for the directory itself)
    std::string name;  // what docker names it in an archive
    std::string hostPath() const;  // /proc/self/fd/<dir>/<base>
  };
  Result<Resolved> resolve(const std::string& path) const;
  Result<UniqueFd> openDir(const std::string& path) const;
  std::string notFound(const std::string& path) const { return "Could not find the file " + path + " in container " + who_; }

  ContainerFs(GuestRoot root, std::string who) : root_(std::move(root)), who_(std::move(who)) {}

  GuestRoot root_;
  std::string who_;
};

}  // namespace vic::pl
