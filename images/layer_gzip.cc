#include "images/layer_gzip.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <functional>
#include <vector>

#include "common/files.h"
#include "common/unique_fd.h"
#include "images/archive_ptr.h"
#include "images/manifest.h"

namespace vic::images {
namespace {

constexpr int kLevel = 6;  // zlib's default, as Go's gzip.DefaultCompression

// zlib's deflate with a gzip header (no name, mtime 0), handing out what it produced.
class Gzip {
 public:
  template <class Out>
  explicit Gzip(Out out) : out_(std::move(out)) {
    ok_ = deflateInit2(&z_, kLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Gzip() { deflateEnd(&z_); }
  Gzip(const Gzip&) = delete;
  Gzip& operator=(const Gzip&) = delete;

  bool write(const char* p, size_t n) { return ok_ && run(p, n, Z_NO_FLUSH); }
  bool finish() { return ok_ && run(nullptr, 0, Z_FINISH); }

 private:
  bool run(const char* p, size_t n, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
    z_.avail_in = static_cast<uInt>(n);
    char buf[1 << 16];
    int rc = Z_OK;
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) return false;
      size_t have = sizeof buf - z_.avail_out;
      if (have > 0 && !out_(buf, have)) return false;
    } while (z_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    return true;
  }

  std::function<bool(const char*, size_t)> out_;
  z_stream z_{};
  bool ok_ = false;
};

Error archiveError(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return Error(Errc::kIo, what + ": " + (msg ? msg : "unknown libarchive error"));
}

Result<LayerBlob> asIs(const std::string& blob) {
  UniqueFd fd(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("opening " + blob);
  Sha256 hash;
  LayerBlob out{blob, "", 0, false};
  std::vector<char> buf(1 << 16);
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) return Error::fromErrno("reading " + blob);
    if (n == 0) break;
    hash.update(buf.data(), static_cast<size_t>(n));
    out.size += static_cast<uint64_t>(n);
  }
  out.digest = hash.digest();
  return out;
}

}  // namespace

bool isGzipFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  unsigned char magic[2] = {0, 0};
  return fd && ::read(fd.get(), magic, 2) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

std::string gzipBytes(const std::string& data) {
  std::string out;
  Gzip gz([&](const char* p, size_t n) {
    out.append(p, n);
    return true;
  });
  if (!gz.write(data.data(), data.size()) || !gz.finish()) return "";
  return out;
}

Result<LayerBlob> gzipLayer(const std::string& blob, const std::string& diffId, const std::string& workDir) {
  if (isGzipFile(blob)) return asIs(blob);
  std::error_code ec;
  std::filesystem::create_directories(workDir, ec);
  auto file = createUniqueFile(workDir + "/push-");
  if (!file) return std::move(file).error();
  LayerBlob out{file->second, "", 0, true};
  auto fail = [&](Error e) -> Result<LayerBlob> {
    std::filesystem::remove(out.path, ec);
    return e;
  };
  ArchiveReader in(archive_read_new());
  archive_read_support_format_raw(in.get());
  archive_read_support_filter_all(in.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_filename(in.get(), blob.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(archiveError(in.get(), "reading layer " + blob));
  }
  int hr = archive_read_next_header(in.get(), &entry);
  if (hr != ARCHIVE_OK && hr != ARCHIVE_EOF) return fail(archiveError(in.get(), "reading layer " + blob));
  Sha256 compressed, plain;
  Status written = ok();
  Gzip gz([&](const char* p, size_t n) {
    compressed.update(p, n);
    out.size += n;
    written = writeAll(file->first.get(), p, n, out.path);
    return static_cast<bool>(written);
  });
  std::vector<char> buf(1 << 16);
  while (hr == ARCHIVE_OK) {
    la_ssize_t n = archive_read_data(in.get(), buf.data(), buf.size());
    if (n < 0) return fail(archiveError(in.get(), "decompressing layer " + blob));
    if (n == 0) break;
    plain.update(buf.data(), static_cast<size_t>(n));
    if (!gz.write(buf.data(), static_cast<size_t>(n))) {
      return fail(written ? Error(Errc::kInternal, "compressing layer " + blob) : std::move(written).error());
    }
  }
  if (!gz.finish()) return fail(written ? Error(Errc::kInternal, "compressing layer " + blob) : std::move(written).error());
  if (std::string d = plain.digest(); !diffId.empty() && d != diffId) {
    return fail(Error(Errc::kInvalidArgument, "the stored tar of layer " + diffId + " no longer matches it (its sha256 is " + d + ")"));
  }
  out.digest = compressed.digest();
  return out;
}

}  // namespace vic::images
