#include "images/layer_apply.h"
#include "images/archive_ptr.h"

#include "images/manifest.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <vector>

namespace vic::images {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

// Cleans an entry name to a root-relative path, or "" when it leaves the root.
std::string cleanName(const std::string& raw) {
  fs::path p = fs::path(raw).lexically_normal();
  std::string s = p.string();
  while (!s.empty() && s.front() == '/') s.erase(0, 1);  // docker treats "/a" as "a"
  if (s.empty() || s == ".") return ".";
  for (const auto& part : fs::path(s)) {
    if (part == "..") return "";
  }
  if (s.back() == '/') s.pop_back();
  return s;
}

// Removes everything under `dir` that this layer did not itself create.
void clearLower(const fs::path& root, const std::string& dir, const std::set<std::string>& fromThisLayer) {
  std::error_code ec;
  fs::path abs = root / dir;
  if (!fs::is_directory(fs::symlink_status(abs, ec))) return;
  for (const auto& e : fs::directory_iterator(abs, ec)) {
    std::string rel = (fs::path(dir) / e.path().filename()).string();
    if (fromThisLayer.count(rel)) continue;
    fs::remove_all(e.path(), ec);
  }
}

Error archiveError(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return Error(Errc::kInvalidArgument, what + ": " + (msg ? msg : "unknown archive error"));
}

}  // namespace

Result<ApplyStats> applyLayer(const std::string& layerFile, const std::string& rootDir, bool sameOwner) {
  ArchiveReader in(archive_read_new());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  archive_read_support_filter_gzip(in.get());
  archive_read_support_filter_zstd(in.get());
  archive_read_support_filter_none(in.get());
  if (archive_read_open_filename(in.get(), layerFile.c_str(), 1 << 16) != ARCHIVE_OK) {
    return archiveError(in.get(), "opening layer " + layerFile);
  }
  ArchiveWriter out(archive_write_disk_new());
  int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_UNLINK |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT;  // names are cleaned and prefixed with the root above
  if (sameOwner) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(out.get(), flags);

  fs::path root = fs::path(rootDir);
  ApplyStats stats;
  std::set<std::string> fromThisLayer;
  std::vector<std::string> opaque;
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archiveError(in.get(), "reading layer " + layerFile);
    std::string raw = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    std::string name = cleanName(raw);
    if (name.empty()) return Error(Errc::kInvalidArgument, "layer entry " + raw + " leaves the image root");
    ++stats.entries;
    std::string base = fs::path(name).filename().string();
    std::string parent = fs::path(name).parent_path().string();
    if (base == kOpaque) {
      opaque.push_back(parent);
      ++stats.opaqueDirs;
      continue;
    }
    if (base.rfind(kWhiteoutPrefix, 0) == 0) {
      std::error_code ec;
      fs::remove_all(root / parent / base.substr(kWhiteoutPrefix.size()), ec);
      ++stats.whiteouts;
      continue;
    }
    if (name == ".") continue;
    archive_entry_set_pathname(entry, (root / name).c_str());
    if (const char* link = archive_entry_hardlink(entry)) {
      std::string target = cleanName(link);
      if (target.empty()) return Error(Errc::kInvalidArgument, "layer hardlink " + raw + " points outside the image root");
      archive_entry_set_hardlink(entry, (root / target).c_str());
    }
    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
      return archiveError(out.get(), "extracting " + raw);
    }
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    while ((r = archive_read_data_block(in.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_OK) return archiveError(out.get(), "writing " + raw);
    }
    if (r != ARCHIVE_EOF) return archiveError(in.get(), "reading " + raw);
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) return archiveError(out.get(), "finishing " + raw);
    fromThisLayer.insert(name);
    for (fs::path p = fs::path(name).parent_path(); !p.empty(); p = p.parent_path()) fromThisLayer.insert(p.string());
  }
  // Opaque directories hide lower layers' content, not what this layer put there.
  for (const auto& dir : opaque) clearLower(root, dir, fromThisLayer);
  stats.bytes = static_cast<uint64_t>(archive_filter_bytes(in.get(), 0));
  return stats;
}

Result<std::string> layerDiffId(const std::string& layerFile) {
  ArchiveReader in(archive_read_new());
  archive_read_support_format_raw(in.get());
  archive_read_support_filter_gzip(in.get());
  archive_read_support_filter_zstd(in.get());
  archive_read_support_filter_none(in.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_filename(in.get(), layerFile.c_str(), 1 << 16) != ARCHIVE_OK ||
      archive_read_next_header(in.get(), &entry) != ARCHIVE_OK) {
    return archiveError(in.get(), "reading layer " + layerFile);
  }
  Sha256 hash;
  std::vector<char> buf(1 << 16);
  while (true) {
    la_ssize_t n = archive_read_data(in.get(), buf.data(), buf.size());
    if (n < 0) return archiveError(in.get(), "decompressing layer " + layerFile);
    if (n == 0) break;
    hash.update(buf.data(), static_cast<size_t>(n));
  }
  return hash.digest();
}

}  // namespace vic::images
