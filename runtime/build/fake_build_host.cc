#include "runtime/build/fake_build_host.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>

#include "images/manifest.h"
#include "runtime/build/builder.h"

namespace vic::build {
namespace {

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Error archiveError(archive* a, const std::string& what) {
  const char* why = archive_error_string(a);
  return Error(Errc::kInternal, what + ": " + (why ? why : "libarchive error"));
}

}  // namespace

Result<std::vector<TarEntry>> readTar(const std::string& file) {
  std::unique_ptr<archive, ReadFree> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK) return archiveError(a.get(), "opening " + file);
  std::vector<TarEntry> out;
  archive_entry* e = nullptr;
  int rc = ARCHIVE_OK;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    TarEntry t;
    t.name = archive_entry_pathname(e);
    if (t.name.size() > 1 && t.name.back() == '/') t.name.pop_back();  // a directory's
    t.mode = archive_entry_mode(e);
    t.uid = static_cast<uint32_t>(archive_entry_uid(e));
    t.gid = static_cast<uint32_t>(archive_entry_gid(e));
    if (S_ISLNK(t.mode)) t.data = archive_entry_symlink(e);
    char buf[4096];
    ssize_t n = 0;
    while (S_ISREG(t.mode) && (n = archive_read_data(a.get(), buf, sizeof buf)) > 0) t.data.append(buf, static_cast<size_t>(n));
    if (n < 0) return archiveError(a.get(), "reading " + t.name);
    out.push_back(std::move(t));
  }
  if (rc != ARCHIVE_EOF) return archiveError(a.get(), "reading " + file);
  return out;
}

Status writeTar(const std::string& file, const std::vector<TarEntry>& entries) {
  std::unique_ptr<archive, WriteFree> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), file.c_str()) != ARCHIVE_OK) return archiveError(a.get(), "creating " + file);
  for (const auto& t : entries) {
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), t.name.c_str());
    archive_entry_set_mode(e.get(), t.mode);
    archive_entry_set_uid(e.get(), t.uid);
    archive_entry_set_gid(e.get(), t.gid);
    archive_entry_set_size(e.get(), S_ISREG(t.mode) ? static_cast<la_int64_t>(t.data.size()) : 0);
    if (S_ISLNK(t.mode)) archive_entry_set_symlink(e.get(), t.data.c_str());
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) return archiveError(a.get(), "writing " + t.name);
    if (S_ISREG(t.mode) && archive_write_data(a.get(), t.data.data(), t.data.size()) < 0) return archiveError(a.get(), "writing " + t.name);
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return archiveError(a.get(), "closing " + file);
  return ok();
}

NewLayer FakeBuildHost::newLayer() {
  ++layers_;
  return NewLayer{images::sha256Digest("diff " + std::to_string(layers_)), images::sha256Digest("chain " + std::to_string(layers_))};
}

asio::awaitable<Result<ImageState>> FakeBuildHost::image(std::string ref, bool, Output) {
  pulled.push_back(ref);
  auto it = images_.find(ref);
  if (it == images_.end()) co_return Error(Errc::kNotFound, "pull access denied for " + ref + ", repository does not exist");
  co_return it->second;
}

asio::awaitable<Result<RunResult>> FakeBuildHost::run(ImageState, RunStep step, Output) {
  runs.push_back(step);
  RunResult r;
  if (auto it = exitCodes_.find(step.argv.empty() ? "" : step.argv.back()); it != exitCodes_.end()) r.exitCode = it->second;
  if (r.exitCode == 0) r.layer = newLayer();
  co_return r;
}

asio::awaitable<Result<NewLayer>> FakeBuildHost::copy(ImageState from, std::string dest, TarMaker makeTar) {
  auto tar = makeTar(dirs_.count(dest) > 0);
  if (!tar) co_return std::move(tar).error();
  auto entries = readTar(*tar);
  if (!entries) co_return std::move(entries).error();
  copies.push_back(Copy{from.topLayer, dest, std::move(*entries)});
  co_return newLayer();
}

asio::awaitable<Status> FakeBuildHost::readFiles(ImageState from, std::string path, std::string tarFile) {
  reads.emplace_back(from.topLayer, path);
  auto it = files_.find(path);
  if (it == files_.end()) co_return Error(Errc::kNotFound, "Could not find the file " + path + " in container");
  co_return writeTar(tarFile, it->second);
}

asio::awaitable<Result<std::string>> FakeBuildHost::record(ImageState img, std::vector<std::string> names) {
  recorded = img;
  tags = names;
  co_return cfg::imageId(img.config);
}

}  // namespace vic::build
