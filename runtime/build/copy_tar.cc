#include "runtime/build/copy_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>

#include "common/unique_fd.h"

namespace vic::build {
namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// Lexically cleaned components; false when ".." climbs above the top.
bool clean(const std::string& path, std::vector<std::string>& out) {
  for (const auto& c : components(path)) {
    if (c == ".") continue;
    if (c == "..") {
      if (out.empty()) return false;
      out.pop_back();
      continue;
    }
    out.push_back(c);
  }
  return true;
}

bool hasWildcard(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string baseName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct WriterFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

class TarOut {
 public:
  Status open(const std::string& file) {
    a_.reset(archive_write_new());
    archive_write_set_format_pax_restricted(a_.get());
    if (archive_write_open_filename(a_.get(), file.c_str()) != ARCHIVE_OK) return fail("creating " + file);
    return ok();
  }
  // One entry from `st` (its type, mode and mtime), named `name`, owned by `owner`; a regular
  // file's bytes come from `fd`, a symlink's target is `link`.
  Status add(const std::string& name, const struct stat& st, const Owner& given, int fd, const std::string& link) {
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    Owner owner = keepOwner ? Owner{st.st_uid, st.st_gid} : given;
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_mode(e.get(), st.st_mode & (S_IFMT | 07777));
    archive_entry_set_uid(e.get(), owner.uid);
    archive_entry_set_gid(e.get(), owner.gid);
    if (times) archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    archive_entry_set_size(e.get(), S_ISREG(st.st_mode) ? st.st_size : 0);
    if (S_ISLNK(st.st_mode)) archive_entry_set_symlink(e.get(), link.c_str());
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) return fail("writing " + name);
    if (!S_ISREG(st.st_mode)) return ok();
    std::array<char, 65536> buf{};
    int64_t left = st.st_size;  // exactly the size in the header, whatever the file does meanwhile
    while (left > 0) {
      ssize_t n = ::read(fd, buf.data(), static_cast<size_t>(std::min<int64_t>(left, buf.size())));
      if (n < 0) return Error::fromErrno("reading " + name);
      if (n == 0) break;
      if (archive_write_data(a_.get(), buf.data(), static_cast<size_t>(n)) < 0) return fail("writing " + name);
      left -= n;
    }
    if (left > 0) return Error(Errc::kInternal, "COPY failed: " + name + " shrank while it was read");
    return ok();
  }
  Status close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) return fail("finishing the copy");
    return ok();
  }
  bool keepOwner = false, times = true;  // CopyOptions'

 private:
  Error fail(const std::string& what) {
    const char* why = archive_error_string(a_.get());
    return Error(Errc::kInternal, what + ": " + (why ? why : "libarchive error"));
  }
  std::unique_ptr<archive, WriterFree> a_;
};

std::string readLinkAt(int dir, const std::string& name) {
  std::string buf(4096, '\0');
  ssize_t n = ::readlinkat(dir, name.c_str(), buf.data(), buf.size());
  return n < 0 ? std::string() : buf.substr(0, static_cast<size_t>(n));
}

struct Walk {
  const GuestRoot& root;
  const DockerIgnore& ignore;
  const CopyOptions& opts;
  TarOut& out;

  bool skip(const std::string& rel) const { return opts.ignoreApplies && !rel.empty() && ignore.ignored(rel); }

  // The tree under the directory `rel` (a context path) goes under `target`, iteratively.
  Status tree(const std::string& rel, const std::string& target) {
    std::vector<std::pair<std::string, std::string>> pending{{rel, target}};
    while (!pending.empty()) {
      auto [dirRel, dirTarget] = pending.back();
      pending.pop_back();
      int follow = dirRel == rel ? 0 : O_NOFOLLOW;  // the source itself is followed (inside the root)
      auto dir = root.openPath(dirRel.empty() ? "." : dirRel, O_RDONLY | O_DIRECTORY | follow | O_CLOEXEC);
      if (!dir) return std::move(dir).error().wrap("COPY failed: reading " + dirRel);
      auto names = listDirFd(dir->get());
      if (!names) return std::move(names).error();
      std::sort(names->begin(), names->end());
      for (const auto& name : *names) {
        std::string childRel = dirRel.empty() ? name : dirRel + "/" + name;
        std::string childTarget = dirTarget.empty() ? name : dirTarget + "/" + name;
        if (skip(childRel) && !(opts.ignoreApplies && ignore.hasExclusions())) continue;
        struct stat st{};
        if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Error::fromErrno("COPY failed: " + childRel);
        if (S_ISDIR(st.st_mode)) {
          if (opts.ignoreApplies && ignore.skipsSubtree(childRel)) continue;
          if (!skip(childRel)) {
            if (auto s = out.add(childTarget, st, opts.owner, -1, ""); !s) return s;
          }
          pending.emplace_back(childRel, childTarget);
          continue;
        }
        if (skip(childRel)) continue;
        if (auto s = entry(dir->get(), name, st, childTarget); !s) return s;
      }
    }
    return ok();
  }

  // One non-directory entry of the directory `dir`: a file, a symlink (kept as one); others skipped.
  Status entry(int dir, const std::string& name, const struct stat& st, const std::string& target) {
    if (S_ISLNK(st.st_mode)) return out.add(target, st, opts.owner, -1, readLinkAt(dir, name));
    if (!S_ISREG(st.st_mode)) return ok();  // sockets, fifos, devices: not from a context
    UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return Error::fromErrno("COPY failed: opening " + target);
    return out.add(target, st, opts.owner, fd.get(), "");
  }
};

}  // namespace

Result<std::string> cleanSource(const std::string& word) {
  std::vector<std::string> parts;
  if (!clean(word, parts)) return Error(Errc::kInvalidArgument, "forbidden path outside the build context: " + word + " ()");
  return join(parts);
}

Destination destination(const std::string& dest, const std::string& workdir) {
  Destination d;
  d.dirLike = dest.empty() || dest.back() == '/' || dest == "." || (dest.size() >= 2 && dest.ends_with("/."));
  std::string full = !dest.empty() && dest[0] == '/' ? dest : (workdir.empty() ? "/" : workdir) + "/" + dest;
  std::vector<std::string> parts;
  (void)clean(full, parts);  // an absolute path: ".." stops at /
  d.path = "/" + join(parts);
  return d;
}

std::string copyTarget(const std::string& source, bool sourceIsDir, const std::string& dest, bool destIsDir) {
  std::string d = dest.size() > 1 ? dest.substr(1) : "";  // no leading "/"
  if (sourceIsDir || !destIsDir) return d;
  std::string base = baseName(source);
  return d.empty() ? base : d + "/" + base;
}

Result<std::vector<std::string>> matchSources(const GuestRoot& root, const std::vector<std::string>& words,
                                              const DockerIgnore& ignore) {
  std::vector<std::string> out;
  for (const auto& word : words) {
    auto cleaned = cleanSource(word);
    if (!cleaned) return std::move(cleaned).error();
    if (!hasWildcard(*cleaned)) {
      if (!cleaned->empty() && ignore.ignored(*cleaned)) {
        return Error(Errc::kNotFound, "file not found in build context or excluded by .dockerignore: stat " + *cleaned +
                                          ": file does not exist");
      }
      if (auto probe = root.openPath(cleaned->empty() ? "." : *cleaned, O_PATH | O_CLOEXEC); !probe) {
        return Error(Errc::kNotFound, "file not found in build context or excluded by .dockerignore: stat " + *cleaned +
                                          ": file does not exist");
      }
      out.push_back(*cleaned);
      continue;
    }
    // A pattern: the names at its depth, level by level, each level's directories only.
    auto parts = components(*cleaned);
    std::vector<std::string> level{""};
    for (size_t depth = 0; depth < parts.size() && !level.empty(); ++depth) {
      std::vector<std::string> next;
      for (const auto& dirRel : level) {
        auto dir = root.openPath(dirRel.empty() ? "." : dirRel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (!dir) continue;
        auto names = listDirFd(dir->get());
        if (!names) continue;
        for (const auto& name : *names) {
          if (::fnmatch(parts[depth].c_str(), name.c_str(), 0) != 0) continue;  // Go's Match: '*' takes a leading dot
          std::string rel = dirRel.empty() ? name : dirRel + "/" + name;
          if (depth + 1 == parts.size() && ignore.ignored(rel)) continue;
          next.push_back(rel);
        }
      }
      level = std::move(next);
    }
    if (level.empty()) return Error(Errc::kNotFound, "no source files were specified");  // the caller says "COPY failed"
    std::sort(level.begin(), level.end());
    out.insert(out.end(), level.begin(), level.end());
  }
  return out;
}

Status writeCopyTar(const GuestRoot& root, const std::vector<std::string>& sources, const std::string& dest,
                    bool destIsDir, const DockerIgnore& ignore, const CopyOptions& opts, const std::string& tarFile) {
  TarOut out;
  out.keepOwner = opts.keepOwner;
  out.times = opts.times;
  if (auto s = out.open(tarFile); !s) return s;
  Walk walk{root, ignore, opts, out};
  for (const auto& src : sources) {
    // The source itself is followed (inside the root), as docker follows a COPY source's symlink.
    auto fd = root.openPath(src.empty() ? "." : src, O_RDONLY | O_CLOEXEC);
    if (!fd) return std::move(fd).error().wrap("COPY failed: " + src);
    struct stat st{};
    if (::fstat(fd->get(), &st) != 0) return Error::fromErrno("COPY failed: " + src);
    bool isDir = S_ISDIR(st.st_mode);
    std::string target = copyTarget(src, isDir, dest, destIsDir);
    if (isDir) {
      if (auto s = walk.tree(src, target); !s) return s;
      continue;
    }
    if (!S_ISREG(st.st_mode)) return Error(Errc::kInvalidArgument, "COPY failed: " + src + " is not a regular file or directory");
    if (auto s = out.add(target, st, opts.owner, fd->get(), ""); !s) return s;
  }
  return out.close();
}

}  // namespace vic::build
