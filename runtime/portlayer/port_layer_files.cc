// docker cp and export: through tether while the containerVM runs (a tar streamed over a
// channel), through the container's disk when it does not (its qcow2 chain, or the volume's
// disk under the path, mounted on the host). A start waits while a disk is mounted for a copy.
// docker diff and commit: the container's disk (a snapshot of it while it runs) against its
// image's top layer.
#include <fcntl.h>

#include <filesystem>

#include "common/log.h"
#include "common/unique_fd.h"
#include "hypervisor/disk_mount.h"
#include "runtime/portlayer/container_fs.h"
#include "images/layer_apply.h"
#include "runtime/portlayer/port_layer.h"
#include "runtime/portlayer/tree_diff.h"

namespace vic::pl {

namespace fs = std::filesystem;
using vsock::TetherConnection;

struct PortLayer::DiskLease {
  std::shared_ptr<Live> live;
  std::unique_ptr<hv::DiskMount> mount;
  std::optional<ContainerFs> fs;
  std::string path;  // the path inside the mounted disk
  ~DiskLease() {
    if (mount) (void)mount->unmount();  // normally done by releaseDisk on the pool
    if (live && --live->diskUsers == 0) live->changed.notify();
  }
};

bool PortLayer::liveInGuest(const ContainerSpec& spec) {
  return live(spec.id)->starting || statusOf(spec).state == RunState::kRunning;
}

namespace {

// The volume mounted at (or above) `path` ("/data/../etc" is not in /data), and the path inside it.
std::optional<std::pair<VolumeMount, std::string>> volumeAt(const ContainerSpec& spec, const std::string& raw) {
  std::string path = fs::path(raw).lexically_normal().string();
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::optional<std::pair<VolumeMount, std::string>> best;
  for (const auto& m : spec.volumes) {
    std::string t = m.target;
    while (t.size() > 1 && t.back() == '/') t.pop_back();
    bool under = path == t || (path.rfind(t, 0) == 0 && path.size() > t.size() && path[t.size()] == '/');
    if (!under || (best && best->first.target.size() >= t.size())) continue;
    std::string rest = path.substr(t.size());
    best = std::make_pair(m, rest.empty() ? "/" : rest);
  }
  if (best && raw.size() > 1 && raw.back() == '/' && best->second.back() != '/') best->second += "/";  // "follow the link"
  return best;
}

}  // namespace

asio::awaitable<Result<std::shared_ptr<PortLayer::DiskLease>>> PortLayer::leaseDisk(const ContainerSpec& spec,
                                                                                      const std::string& path, bool writable) {
  auto lease = std::make_shared<DiskLease>();
  lease->live = live(spec.id);
  ++lease->live->diskUsers;  // from here a start waits; no co_await between the caller's check and this
  if (!liveInGuest(spec)) co_await vmEnded(lease->live);  // QEMU lets go of the disk
  std::string disk = dir(spec.id) + "/rw.qcow2", work = dir(spec.id) + "/mnt";
  lease->path = path;
  if (auto v = volumeAt(spec, path)) {
    auto vol = vols_.find(v->first.name);
    if (!vol) co_return std::move(vol).error();
    if (writable && v->first.readOnly) co_return Error(Errc::kForbidden, "mounted volume is marked read-only");
    for (const auto& user : volumeUsers(vol->name)) {
      auto other = specs_.find(user);
      if (user != spec.id && other != specs_.end() && liveInGuest(other->second)) {
        co_return Error(Errc::kConflict, "volume " + vol->name + " is in use by running container " + other->second.name +
                                             ": copy through that container, or stop it first");
      }
    }
    disk = vols_.diskPath(*vol);
    work = dir(spec.id) + "/mnt-" + vol->name;
    lease->path = v->second;
  }
  auto made = std::make_shared<Result<std::unique_ptr<hv::DiskMount>>>(Error(Errc::kIo, "not mounted"));
  // The guest wrote this filesystem: user space (e2fsck, fuse2fs) parses it, not the kernel;
  // read-only unless this copy writes (a killed containerVM's journal is replayed either way).
  auto op = [made, disk, work, writable] {
    std::error_code ec;
    fs::create_directories(work, ec);
    *made = hv::DiskMount::mount(disk, work, writable, hv::DiskContent::kGuest);
    return ok();
  };
  (void)co_await offload(op);
  if (!*made) co_return std::move(*made).error().wrap("mounting the disk of container " + spec.name);
  lease->mount = std::move(**made);
  auto cfs = ContainerFs::open(lease->mount->root(), spec.name);
  if (!cfs) co_return std::move(cfs).error();
  lease->fs = std::move(*cfs);
  co_return lease;
}

asio::awaitable<Status> PortLayer::releaseDisk(const std::shared_ptr<DiskLease>& lease) {
  auto m = std::move(lease->mount);
  lease->fs.reset();
  std::shared_ptr<hv::DiskMount> shared(std::move(m));
  std::string work = shared ? fs::path(shared->root()).parent_path().string() : "";
  auto op = [shared, work] {
    Status st = shared ? shared->unmount() : ok();
    if (!st) hv::cleanupMountDir(work);  // never leave the disk locked: a start would fail on it
    return st;
  };
  Status st = co_await offload(op);
  if (!st) log::warn("portlayer", "unmounting a container disk: " + st.error().message());
  co_return st;
}

void PortLayer::cleanupDiskMounts() {
  std::error_code ec;
  for (const auto& c : fs::directory_iterator(ds_.root() + "/containers", ec)) {
    for (const auto& e : fs::directory_iterator(c.path(), ec)) {
      if (e.path().filename().string().rfind("mnt", 0) == 0) hv::cleanupMountDir(e.path().string());
    }
  }
}

// A tether request whose answer comes when its stream ends, with its channel; a failure closes
// the channel so that the side pumping the stream stops too.
struct PortLayer::StreamCall {
  explicit StreamCall(const asio::any_io_executor& ex) : done(ex) {}
  TetherConnection::Ptr conn;
  vsock::ChannelId ch = 0;
  std::optional<Result<vsock::ResultBody>> result;
  vsock::Notifier done;
  asio::awaitable<Result<vsock::ResultBody>> wait() {
    while (!result) co_await done.wait();
    conn->close(ch);
    co_return *result;
  }
};

// `req` is a ReadFiles or a WriteFiles; its channel is filled in here.
asio::awaitable<Result<std::shared_ptr<PortLayer::StreamCall>>> PortLayer::startStream(const std::string& id,
                                                                                        const vsock::Request& request) {
  auto conn = co_await connection(id);
  if (!conn) co_return std::move(conn).error();
  auto call = std::make_shared<StreamCall>(io_.get_executor());
  call->conn = *conn;
  auto ch = call->conn->openChannel();
  if (!ch) co_return std::move(ch).error();
  call->ch = *ch;
  vsock::Request req = request;
  if (auto* r = std::get_if<vsock::ReadFiles>(&req)) r->channel = *ch;
  if (auto* w = std::get_if<vsock::WriteFiles>(&req)) w->channel = *ch;
  // Sent now, before any of the stream: tether must know the channel before its data arrives.
  auto answer = call->conn->call(req);
  auto run = [answer = std::move(answer), call]() mutable -> asio::awaitable<void> {
    auto r = co_await std::move(answer);
    if (!r) call->conn->close(call->ch);
    call->result = std::move(r);
    call->done.notify();
  };
  asio::co_spawn(io_, std::move(run), asio::detached);
  co_return call;
}

asio::awaitable<Status> PortLayer::readFromTether(const std::string& id, const vsock::ReadFiles& request, const ChunkSink& out) {
  vsock::Request req = request;
  auto call = co_await startStream(id, req);
  if (!call) co_return std::move(call).error();
  auto& c = (*call)->conn;
  vsock::ChannelId ch = (*call)->ch;
  std::vector<uint8_t> buf(64 * 1024);
  Status st = ok();
  while (true) {
    auto n = co_await c->read(ch, buf);
    if (!n) st = std::move(n).error();
    if (!n || *n == 0) break;
    if (!co_await out(std::span<const uint8_t>(buf.data(), *n))) {
      st = Error(Errc::kIo, "the reader went away");
      c->close(ch);  // tether stops the copy; its answer still comes
      break;
    }
  }
  auto r = co_await (*call)->wait();
  if (!r) co_return std::move(r).error();
  co_return st;
}

namespace {
// Calls `f(piece)` for each 64 KiB piece of the file at `path` while it returns true.
template <class F>
Status forEachPiece(const std::string& path, F f) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Error::fromErrno("opening the uploaded archive " + path);
  std::vector<uint8_t> buf(64 * 1024);
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::fromErrno("reading the uploaded archive " + path);
    if (n == 0 || !f(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)))) return ok();
  }
}
}  // namespace

asio::awaitable<Status> PortLayer::writeToTether(const std::string& id, const vsock::WriteFiles& request, const std::string& tarFile) {
  vsock::Request req = request;
  auto call = co_await startStream(id, req);
  if (!call) co_return std::move(call).error();
  auto& c = (*call)->conn;
  vsock::ChannelId ch = (*call)->ch;
  UniqueFd fd(::open(tarFile.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) co_return Error::fromErrno("opening the uploaded archive " + tarFile);
  std::vector<uint8_t> buf(64 * 1024);
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n <= 0) break;  // a read error leaves the tar short: tether's answer says so
    std::span<const uint8_t> piece(buf.data(), static_cast<size_t>(n));
    if (!co_await c->write(ch, piece)) break;  // the answer says why
  }
  c->closeWrite(ch);
  auto r = co_await (*call)->wait();
  if (!r) co_return std::move(r).error();
  co_return ok();
}

asio::awaitable<Result<vsock::FileStat>> PortLayer::statPath(const std::string& id, const std::string& path) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (liveInGuest(*spec)) {
    auto conn = co_await connection(id);
    if (!conn) co_return std::move(conn).error();
    vsock::Request req = vsock::Stat{path};
    auto r = co_await (*conn)->call(req);
    if (!r) co_return std::move(r).error();
    auto* st = std::get_if<vsock::FileStat>(&*r);
    if (!st) co_return Error(Errc::kIo, "tether answered a stat of " + path + " without one");
    co_return *st;
  }
  auto lease = co_await leaseDisk(*spec, path, false);
  if (!lease) co_return std::move(lease).error();
  auto st = (*lease)->fs->stat((*lease)->path);
  if (st) st->name = vsock::pathBase(path);  // the path inside a volume is not the container's
  co_await releaseDisk(*lease);
  co_return st;
}

asio::awaitable<Status> PortLayer::readArchive(const std::string& id, const std::string& path,
                                               const vsock::SourceOptions& options, const ChunkSink& out) {
  vsock::SourceOptions opts = options;
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (liveInGuest(*spec)) {
    vsock::ReadFiles req{path, 0, opts.contentOnly, opts.oneFilesystem};
    co_return co_await readFromTether(id, req, out);
  }
  std::string at = path;
  if (opts.oneFilesystem) at = "/";  // export: the root disk alone
  auto lease = co_await leaseDisk(*spec, at, false);
  if (!lease) co_return std::move(lease).error();
  std::string base = vsock::pathBase(path);
  if (opts.rootName.empty()) opts.rootName = base == "/" ? "." : base;
  auto src = (*lease)->fs->read((*lease)->path, opts);
  Status st = ok();
  if (!src) st = std::move(src).error();
  auto buf = std::make_shared<std::vector<uint8_t>>(1 << 20);  // one pool hop per MiB, not per 64 KiB
  auto n = std::make_shared<size_t>(0);
  while (st) {
    auto* source = src->get();
    auto op = [source, buf, n]() -> Status {
      auto r = source->read(buf->data(), buf->size());
      if (!r) return std::move(r).error();
      *n = *r;
      return ok();
    };
    st = co_await offload(op);
    if (!st || *n == 0) break;
    if (!co_await out(std::span<const uint8_t>(buf->data(), *n))) st = Error(Errc::kIo, "the reader went away");
  }
  src = Error(Errc::kIo, "done");  // closes its files before the unmount
  co_await releaseDisk(*lease);
  co_return st;
}

asio::awaitable<Status> PortLayer::writeArchive(const std::string& id, const std::string& path, const std::string& tarFile,
                                                const vsock::SinkOptions& opts) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  if (liveInGuest(*spec)) {
    if (auto v = volumeAt(*spec, path); v && v->first.readOnly) {  // tether would meet EROFS; say it as docker does
      co_return Error(Errc::kForbidden, "mounted volume is marked read-only");
    }
    vsock::WriteFiles req{path, 0, opts.keepOwner, opts.noOverwriteDirNonDir};
    co_return co_await writeToTether(id, req, tarFile);
  }
  auto lease = co_await leaseDisk(*spec, path, true);
  if (!lease) co_return std::move(lease).error();
  auto sink = (*lease)->fs->write((*lease)->path, opts);
  Status st = ok();
  if (!sink) st = std::move(sink).error();
  if (st) {
    auto* target = sink->get();
    const std::string* file = &tarFile;  // the caller's, alive until we return
    auto op = [target, file]() -> Status {
      vsock::TarReader reader;
      Status fed = ok();
      Status read = forEachPiece(*file, [&](std::span<const uint8_t> piece) { return bool(fed = reader.feed(piece, *target)); });
      return fed ? read : fed;
    };
    st = co_await offload(op);
  }
  sink = Error(Errc::kIo, "done");  // closes the destination before the unmount
  Status unmounted = co_await releaseDisk(*lease);
  if (st && !unmounted) st = std::move(unmounted).error().wrap("writing to the disk of container " + spec->name);
  co_return st;
}

// ---- diff and commit: the container's disk against its image's top layer ----

// Runs `f(imageRoot, containerRoot)` on the pool with both disks mounted. A running container is
// paused (as docker commit does, unless `pause` is false: --pause=false) after tether flushed its
// filesystems (not when the user paused it: then its view is as after a crash), and its disk is seen
// through a throwaway snapshot (the journal replays into the snapshot; the VM's disk is only
// read); it resumes when `f` is done.
template <class F>
asio::awaitable<Status> PortLayer::withTrees(const ContainerSpec& spec, F f, bool pause) {
  if (!spec.topLayer.empty() && !images_.layers().has(spec.topLayer)) {
    co_return Error(Errc::kNotFound, "the image layer of container " + spec.name + " is gone: " + spec.topLayer);
  }
  bool running = liveInGuest(spec);
  bool pausedByUser = live(spec.id)->power == hv::PowerState::kPaused;  // its guest cannot flush: as after a crash
  if (running && !pausedByUser) {
    auto conn = co_await connection(spec.id);
    if (!conn) co_return std::move(conn).error();
    vsock::Request flush = vsock::Stat{"/", true};
    auto r = co_await (*conn)->call(flush);
    if (!r) co_return std::move(r).error().wrap("flushing container " + spec.name + "'s disk");
  }
  std::string base = ds_.root() + "/" + images_.layers().diskOf(spec.topLayer);  // its disk's parent
  std::string disk = dir(spec.id) + "/rw.qcow2", work = dir(spec.id);
  auto l = live(spec.id);
  ++l->diskUsers;
  if (!running) co_await vmEnded(l);  // QEMU lets go of the disk
  auto op = [this, vm = vmName(spec.id), base, disk, work, running, f, pause = pause && !pausedByUser]() -> Status {
    bool paused = running && pause && hv_.pause(vm).hasValue();  // unpaused, writes may land while it is read
    Status st = compareTrees(base, disk, work, running, f);
    if (paused) {
      if (auto r = hv_.resume(vm); !r) log::warn("portlayer", r.error().message());
    }
    return st;
  };
  Status st = co_await offload(op);
  if (--l->diskUsers == 0) l->changed.notify();
  co_return st;
}

template <class F>
Status PortLayer::compareTrees(const std::string& base, const std::string& disk, const std::string& work, bool running,
                               F f) {
  std::error_code ec;
  fs::create_directories(work + "/mnt-image", ec);
  auto img = hv::DiskMount::mount(base, work + "/mnt-image", false);
  if (!img) return std::move(img).error().wrap("mounting the image's top layer");
  auto mine = running ? hv::DiskMount::snapshot(disk, work + "/mnt-snapshot")
                      : hv::DiskMount::mount(disk, work + "/mnt", false, hv::DiskContent::kGuest);
  if (!mine) return std::move(mine).error().wrap("mounting the container's disk");
  Status st = f((*img)->root(), (*mine)->root());
  Status a = (*mine)->unmount(), b = (*img)->unmount();
  if (running) fs::remove_all(work + "/mnt-snapshot", ec);
  if (st && !a) st = std::move(a).error();
  if (st && !b) st = std::move(b).error();
  return st;
}

asio::awaitable<Result<std::vector<Change>>> PortLayer::diff(const std::string& id) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  auto changes = std::make_shared<std::vector<Change>>();
  auto compare = [changes](const std::string& image, const std::string& mine) -> Status {
    auto d = diffTrees(image, mine, kInitPaths);
    if (!d) return std::move(d).error();
    *changes = std::move(*d);
    return ok();
  };
  Status st = co_await withTrees(*spec, compare);
  if (!st) co_return std::move(st).error();
  co_return *changes;
}

asio::awaitable<Result<images::LayerRecord>> PortLayer::commitLayer(const std::string& id, bool pause) {
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  std::string tar = dir(id) + "/commit.tar";
  auto write = [tar](const std::string& image, const std::string& mine) -> Status {
    auto d = diffTrees(image, mine, kInitPaths);
    if (!d) return std::move(d).error();
    return writeLayerTar(mine, *d, tar);
  };
  Status st = co_await withTrees(*spec, write, pause);
  auto rec = std::make_shared<Result<images::LayerRecord>>(Error(Errc::kIo, "not committed"));
  if (st) {
    std::string parent = spec->topLayer;
    auto add = [this, rec, tar, parent]() -> Status {
      auto diffId = images::layerDiffId(tar);
      if (!diffId) return std::move(diffId).error();
      *rec = images_.layers().add(parent, *diffId, tar);  // keeps the tar as the layer's blob
      if (!*rec) return rec->error();
      return ok();
    };
    st = co_await offload(add);
  }
  std::error_code ec;
  fs::remove(tar, ec);
  if (!st) co_return std::move(st).error().wrap("committing container " + spec->name);
  co_return *rec;
}

}  // namespace vic::pl
