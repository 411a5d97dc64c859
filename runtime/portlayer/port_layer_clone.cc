// Execution, instant clone: containerVMs forked from a frozen template (vSphere's VMFork).
// A template is the bootstrap image booted without a container, frozen once its tether waits
// for an identity; a container starts as a clone of it and is told who it is over the tether
// channel. See docs/instant-clone.md.
#include <sys/random.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/files.h"
#include "common/log.h"
#include "common/time.h"
#include "hypervisor/resource_pool.h"
#include "images/manifest.h"
#include "runtime/portlayer/port_layer.h"
#include "runtime/portlayer/port_layer_keys.h"
#include "runtime/portlayer/vsock_cid.h"
#include "vsock/codec.h"

namespace vic::pl {

namespace fs = std::filesystem;
using vsock::Request;
using vsock::TetherConnection;

namespace {

std::string hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string randomSeed() {
  uint8_t buf[64];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::getrandom(buf + got, sizeof buf - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return hex(buf, sizeof buf);
}

// sha256 over the kernel and the bootstrap image: a template of other bytes is never used.
Result<std::string> imageDigest(const std::string& kernel, const std::string& bootstrap) {
  images::Sha256 h;
  for (const auto& path : {kernel, bootstrap}) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error(Errc::kNotFound, "reading " + path + " for the template key");
    char buf[1 << 16];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) h.update(buf, static_cast<size_t>(in.gcount()));
  }
  return h.digest();
}

// "bootstrap image <version>", as tether prints it first on the console.
std::string bootstrapVersion(const std::string& console) {
  const std::string tag = "bootstrap image ";
  size_t at = console.find(tag);
  if (at == std::string::npos) return "";
  size_t end = console.find_first_of(" \r\n", at + tag.size());
  return console.substr(at + tag.size(), end == std::string::npos ? std::string::npos : end - at - tag.size());
}

bool defaultShape(const ContainerSpec& spec) {
  ContainerSpec d;
  return spec.vcpus == d.vcpus && spec.memoryMiB == d.memoryMiB;
}

}  // namespace

// The template inputs of a shape (the image digest is computed once, off the I/O thread).
asio::awaitable<Result<TemplateInputs>> PortLayer::templateInputs(int vcpus, uint64_t memoryMiB) {
  if (imageDigest_.empty()) {
    auto compute = [this]() -> Result<std::pair<std::string, std::string>> {
      auto digest = imageDigest(opts_.kernel, opts_.bootstrap);
      if (!digest) return std::move(digest).error();
      auto host = hv_.hostInfo();
      if (!host) return std::move(host).error();
      return std::make_pair(*digest, host->hypervisorVersion + "/" + host->accelerator);
    };
    auto r = co_await offload(compute);
    if (!r) co_return std::move(r).error();
    imageDigest_ = r->first;
    hostKind_ = r->second;
  }
  TemplateInputs in{imageDigest_, hostKind_, vcpus, memoryMiB, images_.layers().maxLayerBytes()};
  if (opts_.vsock) in.layout += ",vsock@1c";  // its clones have a vsock device there: so must it
  co_return in;
}

// The template's NIC, and the stand-in for it in a container without a network (no carrier,
// and tether unbinds it): a clone always has the template's devices.
hv::NicSpec PortLayer::templateNic() const {
  const Scope* bridge = nets_.byId(nets_.defaultScope());
  return hv::NicSpec{bridge ? bridge->portGroup : "", kTemplateMac, true};
}

std::string PortLayer::templateDir(const TemplateInputs& in) const { return ds_.root() + "/templates/" + templateKey(in); }

// Where `spec` is forked from, or nothing (cold boot, logged with the reason). The default
// shape's template is made when missing; another shape's is made in the background.
asio::awaitable<std::optional<hv::CloneSource>> PortLayer::cloneSource(const ContainerSpec& spec) {
  if (!opts_.instantClone) co_return std::nullopt;
  auto in = co_await templateInputs(spec.vcpus, spec.memoryMiB);
  if (!in) {
    log::warn("portlayer", "cold boot of " + shortId(spec.id) + ": " + in.error().message());
    co_return std::nullopt;
  }
  bool make = defaultShape(spec);
  auto t = co_await templateFor(*in, make);
  if (t) co_return *t;
  log::info("portlayer", "cold boot of " + shortId(spec.id) + ": " + t.error().message() + (make ? "" : " (making one)"));
  if (!make) asio::co_spawn(io_, remakeInBackground(*in), asio::detached);
  co_return std::nullopt;
}

asio::awaitable<void> PortLayer::prepareTemplate(int vcpus, uint64_t memoryMiB) {
  auto in = co_await templateInputs(vcpus, memoryMiB);
  if (!in) {
    log::warn("portlayer", "no template: " + in.error().message());
    co_return;
  }
  auto dropStale = [root = ds_.root() + "/templates", current = *in, making = makingTemplates_] {  // from before an upgrade
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root, ec)) {
      if (making.count(e.path().string())) continue;
      if (!staleTemplateRecord(readFile((e.path() / "template.json").string()), current)) continue;
      log::info("portlayer", "removing stale template " + e.path().filename().string());
      fs::remove_all(e.path(), ec);
    }
  };
  co_await offload(dropStale);
  co_await remakeInBackground(*in);
}

asio::awaitable<void> PortLayer::remakeInBackground(TemplateInputs in) {
  auto t = co_await templateFor(in, true);
  if (!t) log::warn("portlayer", "making a template: " + t.error().message());
}

asio::awaitable<Result<hv::CloneSource>> PortLayer::templateFor(const TemplateInputs& in, bool make) {
  std::string dir = templateDir(in);
  while (makingTemplates_.count(dir)) co_await templatesChanged_.wait();
  auto check = [dir, in]() -> Status {
    std::string record = readFile(dir + "/template.json");
    if (record.empty()) return Error(Errc::kNotFound, "no template for " + std::to_string(in.vcpus) + " vCPU and " +
                                                   std::to_string(in.memoryMiB) + " MiB yet");
    if (auto st = checkTemplateRecord(record, in); !st) return std::move(st).error().wrap("template " + dir);
    for (const char* f : {"/memory", "/state"}) {
      if (!fs::exists(dir + f)) return Error(Errc::kNotFound, "template " + dir + " has no " + (f + 1));
    }
    return ok();
  };
  Status usable = co_await offload(check);
  hv::CloneSource source{dir + "/memory", dir + "/state", in.memoryMiB};
  if (usable) co_return source;
  if (!make) co_return std::move(usable).error();
  makingTemplates_.insert(dir);
  Status made = co_await makeTemplate(in, dir);
  makingTemplates_.erase(dir);
  templatesChanged_.notify();
  if (!made) co_return std::move(made).error();
  co_return source;
}

hv::VmSpec PortLayer::templateVmSpec(const TemplateInputs& in, const std::string& dir) const {
  hv::VmSpec vm;
  std::string key = templateKey(in);
  vm.name = opts_.vch + "-template-" + key;
  vm.vcpus = in.vcpus;
  vm.memoryMiB = in.memoryMiB;
  vm.kernel = opts_.kernel;
  vm.initrd = opts_.bootstrap;
  vm.cmdline = kGuestCmdline;
  vm.tetherSocket = opts_.runDir + "/t-" + key.substr(0, 12) + ".sock";
  vm.outputLog = dir + "/output.log";
  vm.consoleLog = dir + "/console.log";
  vm.templateMemoryFile = dir + "/memory";
  // Probed by its kernel now, so that a clone finds its own root disk and first NIC in their
  // place without a PCI rescan (tether drops the disk's cached blocks and sets the NIC's MAC).
  vm.disks.push_back({dir + "/disk.qcow2", "", "qcow2", false});  // read-write: the guest notes read-only at probe
  // Up: virtio-net migrates its link status, and each clone's first NIC must have a carrier.
  // The template's tether never configures it, so nothing is sent on it.
  vm.nics.push_back(templateNic());
  vm.nics.back().linkDown = false;
  if (!opts_.pool.empty()) vm.partition = hv::ResourcePools::partition(opts_.pool);
  vm.metadata[kVchKey] = opts_.vch;  // vic-machine delete finds a leftover one
  return vm;
}

// Boots the bootstrap image without a container, waits until its tether waits for an
// identity, and freezes it into `dir`. Nothing is left running, whatever happens.
asio::awaitable<Status> PortLayer::makeTemplate(const TemplateInputs& in, std::string dir) {
  hv::VmSpec vm = templateVmSpec(in, dir);
  log::info("portlayer", "making template " + vm.name);
  auto boot = [this, vm, dir]() -> Status {
    (void)hv_.destroy(vm.name);  // a leftover of an endpoint killed while making it
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    if (auto st = hv::shareWithQemu(dir, 0770); !st) return st;  // QEMU creates the memory file here
    auto rel = fs::relative(vm.disks[0].path, ds_.root()).string();
    if (auto st = ds_.createDisk(rel, images_.layers().maxLayerBytes()); !st) return st;  // the size of every root disk
    if (auto st = hv::shareWithQemu(vm.disks[0].path, 0660); !st) return st;
    if (!opts_.vsock) {
      if (auto st = hv_.defineVm(vm); !st) return st;
    } else {  // a CID of its own while it runs; each clone is given its own (the guest re-reads it)
      auto withCid = [this, &vm](uint32_t cid) {
        hv::VmSpec v = vm;
        v.vsockCid = cid;
        return hv_.defineVm(v);
      };
      if (auto cid = defineWithFreeCid(hv_, opts_.cidLock, withCid); !cid) return Status(std::move(cid).error());
    }
    return hv_.powerOn(vm.name);
  };
  auto cleanup = [this, name = vm.name] { (void)hv_.destroy(name); };
  Status st = co_await offload(boot);
  std::string tetherVersion;
  if (st) {
    auto ping = co_await templateReady(vm.consoleLog);
    if (ping) tetherVersion = *ping;
    else st = std::move(ping).error();
  }
  if (st) {
    auto freeze = [this, vm, dir, in, tetherVersion]() -> Status {
      if (auto f = hv_.freezeTemplate(vm.name, dir + "/state"); !f) return f;
      if (auto f = hv::shareWithQemu(dir + "/memory", 0660); !f) return f;  // QEMU made it 0644
      return writeFileAtomically(dir + "/template.json", encodeTemplateRecord(in, tetherVersion));
    };
    st = co_await offload(freeze);
  }
  co_await offload(cleanup);
  if (!st) co_return std::move(st).error().wrap("making template " + vm.name);
  log::info("portlayer", "template " + vm.name + " ready");
  co_return ok();
}

// The template's tether is ready once its console says it waits for an identity (the bootstrap
// version is on the console too). The host never connects to a template: a clone's tether, which
// resumes where the template's was, must meet its first host with no earlier session in flight.
asio::awaitable<Result<std::string>> PortLayer::templateReady(std::string consoleLog) {
  auto deadline = std::chrono::steady_clock::now() + opts_.bootTimeout;
  while (true) {
    auto read = [consoleLog] { return readFile(consoleLog); };
    std::string console = co_await offload(read);
    if (console.find(vsock::kTemplateReadyLine) != std::string::npos) {
      asio::steady_timer settle(io_, std::chrono::milliseconds(200));  // into its poll loop
      co_await settle.async_wait(asio::use_awaitable);
      co_return bootstrapVersion(console);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      co_return Error(Errc::kTimeout, "the template's tether did not get ready in " +
                                          std::to_string(opts_.bootTimeout.count()) + " s (see " + consoleLog + ")");
    }
    asio::steady_timer t(io_, std::chrono::milliseconds(50));
    co_await t.async_wait(asio::use_awaitable);
  }
}

// Powers the container's VM on: as a clone when there is a template, else (or when the clone
// fails: the template is then dropped, to be remade) by a cold boot.
Result<PortLayer::PoweredOn> PortLayer::powerOnVm(const std::string& id, const std::optional<hv::CloneSource>& source) {
  std::string vm = vmName(id);
  PoweredOn on;
  if (source) {
    auto cloned = hv_.instantClone(vm, *source);
    on.cloned = cloned.hasValue();
    if (!cloned) {
      log::warn("portlayer", "cold boot of " + shortId(id) + ": instant clone failed: " + cloned.error().message());
      std::error_code ec;  // the template is remade, unless it was the container's VM that did not fit
      if (cloned.error().code() != Errc::kInvalidArgument) fs::remove(fs::path(source->stateFile).parent_path() / "template.json", ec);
    }
  }
  if (!on.cloned) {
    if (auto st = hv_.powerOn(vm); !st) return std::move(st).error();
  }
  on.runId = hv_.runId(vm).valueOr(0);
  return on;
}

// A clone's tether waits for its identity: the first connection after the clone tells it
// (also after an endpoint restart between the clone and this). A cold-booted tether has one.
asio::awaitable<Status> PortLayer::deliverIdentity(const std::string& id, TetherConnection::Ptr conn) {
  Request ping = vsock::Ping{};
  auto r = co_await conn->call(ping);
  if (!r) co_return std::move(r).error().wrap("asking container " + shortId(id) + "'s tether who it is");
  auto* p = std::get_if<vsock::PingResult>(&*r);
  if (!p || !p->awaitingIdentity) co_return ok();
  auto spec = specOf(id);
  if (!spec) co_return std::move(spec).error();
  vsock::Identity who{tetherConfig(*spec, live(id)->runBlock), nowNs(), randomSeed(), kTemplateMac, false};
  who.newDevices = who.config.networks.size() > 1 || !who.config.mounts.empty();  // beyond the template's
  Request identity = who;
  auto told = co_await conn->call(identity);
  if (!told) co_return std::move(told).error().wrap("giving container " + shortId(id) + " its identity");
  co_return ok();
}

}  // namespace vic::pl
