#include "runtime/portlayer/test_vch.h"

#include <fstream>

#include "images/manifest.h"
#include "runtime/portlayer/fake_guest.h"

namespace vic::pl {

Status RecordingFirewall::apply(const std::vector<Forward>& all) {
  requireOffIoThread("RecordingFirewall::apply");
  std::lock_guard lock(mu_);
  last_ = all;
  ++count_;
  return ok();
}

std::vector<Forward> RecordingFirewall::rules() const {
  std::lock_guard lock(mu_);
  return last_;
}

int RecordingFirewall::applied() const {
  std::lock_guard lock(mu_);
  return count_;
}

namespace {

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().message());
  return std::move(*r);
}

void must(Status st, const char* what) {
  if (!st) throw std::runtime_error(std::string(what) + ": " + st.error().message());
}

}  // namespace

TestVch::TestVch(bool clone, bool vsockHost) : instantClone(clone), useVsock(vsockHost) {
  auto onIdentity = [this](const vsock::Identity& who) {
    std::lock_guard lock(identitiesMu_);
    identities_.push_back(who);
  };
  hv.setGuestBoot(fakeTetherGuest(onIdentity, [this](uint32_t cid) { return vsockEndpoint(cid); }));
  std::ofstream(dir.str() + "/vmlinuz") << "kernel";
  std::ofstream(dir.str() + "/bootstrap.img") << "bootstrap";
  ds = must(hv::Datastore::open(dir.str() + "/ds"), "datastore");
  images::LayerStoreOptions layers;
  layers.diskSize = 16ull << 20;
  images = must(images::ImageStore::open(*ds, layers), "image store");
  std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[]}})";
  imageId = images::sha256Digest(config);
  images::ImageRecord rec;
  rec.id = imageId;
  must(images->commit(rec, config, kImage, ""), "image");
  nets = std::make_unique<Networks>(hv, "t", dir.str() + "/networks");
  Scope bridge;
  bridge.name = "bridge";
  bridge.subnet = bridge.pool = must(parseCidr("172.30.0.0/16"), "cidr");
  bridge.gateway = bridge.subnet.base + 1;
  bridge.portGroup = "t-bridge";
  bridge.bridge = "vic-t0";
  must(nets->addBuiltin(bridge), "bridge");
  must(nets->load(), "networks");
  vols = std::make_unique<Volumes>(std::map<std::string, std::string>{{"default", dir.str() + "/volumes"}});
  must(vols->load(), "volumes");
  restartPortLayer();
}

TestVch::~TestVch() {
  pl.reset();
  io_.reset();  // drops the port layer's pending work without running it
}

PortLayerOptions TestVch::options() const {
  PortLayerOptions o;
  o.vch = "t";
  o.bootTimeout = std::chrono::seconds(5);
  o.settleTimeout = std::chrono::milliseconds(300);
  o.runDir = dir.str() + "/run";
  o.kernel = dir.str() + "/vmlinuz";
  o.bootstrap = dir.str() + "/bootstrap.img";
  o.instantClone = instantClone;
  o.vsock = useVsock;
  o.cidLock = dir.str() + "/vsock-cid.lock";
  o.vsockEndpoint = [this](uint32_t cid) { return vsockEndpoint(cid); };
  o.spaceCheckInterval = std::chrono::milliseconds(20);
  o.freeBytes = [this] { return std::optional<uint64_t>(datastoreFree.load()); };
  return o;
}

vsock::Endpoint TestVch::vsockEndpoint(uint32_t cid) const {
  return vsock::Endpoint{vsock::Endpoint::Kind::kUnix, dir.str() + "/vsock-" + std::to_string(cid) + ".sock", 0, 0};
}

std::vector<vsock::Identity> TestVch::identities() const {
  std::lock_guard lock(identitiesMu_);
  return identities_;
}

void TestVch::restartPortLayer() {
  pl.reset();
  io_ = std::make_unique<asio::io_context>();
  pl = std::make_unique<PortLayer>(*io_, hv, *ds, *images, *nets, *vols, firewall, options());
  must(pl->recover(), "recover");  // as the endpoint does: before the io_context runs
}

void TestVch::drive(const bool& done, std::chrono::seconds limit) {
  IoThreadScope mark;
  io_->restart();
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io_->run_one_for(std::chrono::milliseconds(50));
    if (io_->stopped()) io_->restart();
  }
  if (!done) ADD_FAILURE() << "timed out after " << limit.count() << " s";
}

void TestVch::run(asio::awaitable<void> a, std::chrono::seconds limit) {
  bool done = false;
  asio::co_spawn(*io_, std::move(a), [&](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    done = true;
  });
  drive(done, limit);
}

void TestVch::pump(std::chrono::milliseconds d) {
  IoThreadScope mark;
  io_->restart();
  auto deadline = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < deadline) {
    io_->run_one_for(std::chrono::milliseconds(10));
    if (io_->stopped()) io_->restart();
  }
}

ContainerSpec TestVch::spec(std::vector<std::string> argv, const std::string& name) const {
  ContainerSpec s;
  s.id = newContainerId();
  s.name = name;
  s.imageRef = "busybox";
  s.imageId = imageId;
  s.config.main.argv = std::move(argv);
  s.networks.push_back({nets->defaultScope(), "", "", {}});
  s.networkMode = "default";
  return s;
}

ContainerSpec TestVch::created(std::vector<std::string> argv, const std::string& name) {
  auto made = run(pl->create(spec(std::move(argv), name)));
  if (!made) throw std::runtime_error("create: " + made.error().message());
  return *made;
}

}  // namespace vic::pl
