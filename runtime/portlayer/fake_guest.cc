#include "runtime/portlayer/fake_guest.h"

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "vsock/codec.h"
#include "vsock/fake_tether.h"

namespace vic::pl {
namespace {

constexpr const char* kConfigKey = "opt/org.vic/config";

class TetherGuest : public hv::FakeGuest {
 public:
  explicit TetherGuest(std::unique_ptr<vsock::FakeTether> t) : tether_(std::move(t)) {
    thread_ = std::thread([this] { tether_->run(stop_); });
  }
  ~TetherGuest() override {
    stop_ = true;
    thread_.join();
  }

 private:
  std::unique_ptr<vsock::FakeTether> tether_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Result<vsock::ContainerConfig> readConfig(const hv::VmSpec& spec) {
  auto it = spec.fwCfg.find(kConfigKey);
  if (it == spec.fwCfg.end()) return Error(Errc::kNotFound, spec.name + " has no container config");
  std::ifstream in(it->second);
  std::stringstream text;
  text << in.rdbuf();
  return vsock::decodeConfig(text.str());
}

}  // namespace

hv::FakeHypervisor::GuestBoot fakeTetherGuest(std::function<void(const vsock::Identity&)> onIdentity,
                                              std::function<vsock::Endpoint(uint32_t cid)> vsockEndpoint) {
  return [onIdentity, vsockEndpoint](const hv::VmSpec& spec, bool cloned,
                                     std::function<void()> halt) -> std::unique_ptr<hv::FakeGuest> {
    vsock::FakeGuestOptions opts;
    opts.outputLog = spec.outputLog;
    opts.halt = std::move(halt);
    opts.onIdentity = onIdentity;
    // a template boots without a container, and its clones resume waiting for one
    opts.awaitIdentity = cloned || !spec.fwCfg.count(kConfigKey);
    if (!opts.awaitIdentity) {
      auto cfg = readConfig(spec);
      if (!cfg) {
        log::warn("fake-guest", cfg.error().message());
        return nullptr;
      }
      opts.main = cfg->main;
    }
    vsock::Endpoint ep;
    ep.kind = vsock::Endpoint::Kind::kUnix;
    ep.path = spec.tetherSocket;
    if (spec.vsockCid && vsockEndpoint) ep = vsockEndpoint(*spec.vsockCid);
    bool isTemplate = opts.awaitIdentity && !cloned;
    auto tether = vsock::FakeTether::boot(ep, std::move(opts));
    if (!tether) {
      log::warn("fake-guest", tether.error().message());
      return nullptr;
    }
    if (isTemplate && !spec.consoleLog.empty()) {  // what tether prints when a template is ready
      std::ofstream(spec.consoleLog, std::ios::app) << "tether: bootstrap image fake\n"
                                                     << "tether: " << vsock::kTemplateReadyLine << "\n";
    }
    return std::make_unique<TetherGuest>(std::move(*tether));
  };
}

}  // namespace vic::pl
