// docker cp inside a running containerVM: a path streamed out as a tar, a tar extracted into
// a directory. Extraction never leaves the destination: names with ".." or a leading "/" are
// refused, and no component is followed through a symlink.
#pragma once

#include <sys/types.h>

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "vsock/messages.h"
#include "vsock/tar.h"

namespace vic::vsock {

// The last component of `path` as docker names it ("/a/b/" -> "b", "/a/b/." -> ".", "/" -> "/").
std::string pathBase(const std::string& path);

// The tar entry for a file, directory or symlink at `fsPath` (lstat'ed into `st`), named
// `name`; nullopt for what a copy leaves out (devices, sockets, fifos).
std::optional<TarEntry> tarEntryOf(const std::string& name, const std::string& fsPath, const struct stat& st);

// docker's stat of a path (lstat: a symlink is described, with its target), named `name`;
// kNotFound with `notFound` as the message when it does not exist.
Result<FileStat> statPath(const std::string& path, const std::string& name, const std::string& notFound);

struct SourceOptions {
  bool contentOnly = false;    // entries named relative to `path` itself (docker export), not "<base>/..."
  bool oneFilesystem = false;  // mount points are listed but not entered (export leaves out volumes, /proc)
  std::string rootName;        // names the top entry instead of the path's last component
};

class ArchiveSource {
 public:
  // `notFound` is the message for a missing path (docker's, naming the container).
  static Result<std::unique_ptr<ArchiveSource>> open(const std::string& path, const std::string& notFound,
                                                     SourceOptions opts = {});
  // Up to `cap` bytes of the archive; 0 once it is complete (trailer included).
  Result<size_t> read(uint8_t* out, size_t cap);
  // Keeps `fd` open as long as the source: the directory a /proc/self/fd path goes through.
  void keepOpen(UniqueFd fd) { held_ = std::move(fd); }

 private:
  struct Item {
    std::string fsPath, name;
  };
  Status next();  // prepares the next entry's header (and file)

  SourceOptions opts_;
  UniqueFd held_;
  dev_t device_ = 0;
  std::vector<Item> stack_;
  std::vector<uint8_t> pending_;
  size_t pendingPos_ = 0;
  UniqueFd file_;
  uint64_t fileLeft_ = 0;
  size_t filePad_ = 0;
  bool trailerQueued_ = false;
};

struct SinkOptions {
  bool keepOwner = false;             // docker cp -a: the archive's uid/gid; else root owns what is written
  bool noOverwriteDirNonDir = false;  // refuse to replace a directory by a file or a file by a directory
};

class ArchiveSink : public TarSink {
 public:
  static Result<std::unique_ptr<ArchiveSink>> open(const std::string& dir, SinkOptions opts = {});
  Status begin(const TarEntry& e) override;
  Status data(std::span<const uint8_t> bytes) override;
  Status end() override;
  size_t entries() const { return entries_; }

 private:
  Result<UniqueFd> parentOf(const std::string& name, std::string& base, bool create);

  SinkOptions opts_;
  UniqueFd dir_;
  UniqueFd file_;
  TarEntry current_;
  UniqueFd currentParent_;
  std::string currentBase_;
  size_t entries_ = 0;
};

}  // namespace vic::vsock
