// tether: PID 1 of a containerVM. Only wiring: boot, serve, power off.
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/files.h"
#include "common/log.h"
#include "guest/tether/boot.h"
#include "guest/tether/dns_proxy.h"
#include "guest/tether/netlink.h"
#include "guest/tether/server.h"
#include "vsock/codec.h"

using namespace vic;
using namespace vic::tether;

namespace {

// "vic.tether=<endpoint>" on the kernel command line overrides the transport choice.
std::string transportOverride() {
  std::istringstream words(readFile("/proc/cmdline"));
  for (std::string w; words >> w;) {
    if (w.rfind("vic.tether=", 0) == 0) return w.substr(11);
  }
  return "";
}

// AF_VSOCK when the VM has a vsock device (the host gave it a CID and connects to that), else
// the virtio-serial port; "vic.tether=" overrides. A clone keeps its template's choice: the
// listener is bound to any CID, and the driver takes the clone's CID after the migration.
Result<vsock::Endpoint> tetherEndpoint() {
  auto port = findPortDevice(std::string(vsock::kTetherPortName));
  auto cid = vsock::guestVsockCid();
  auto ep = vsock::chooseGuestEndpoint(transportOverride(), port ? *port : "", cid);
  if (ep) log::info("tether", "host channel: " + ep->str() + (cid ? " (guest CID " + std::to_string(*cid) + ")" : ""));
  return ep;
}

// Everything between the initramfs and the container's first process; errors end the boot.
// Logs how long each step took (the boot's share of a container start).
Status enterContainer(const vsock::ContainerConfig& config) {
  log::Steps t(log::Level::kInfo, "tether", "entered the container");
  auto disk = findDisk(config.rootDisk);
  if (!disk) return std::move(disk).error().wrap("finding the container disk");
  t.step("disk");
  if (auto st = switchRoot(*disk); !st) return st;
  t.step("mount");
  if (auto st = setupContainerDev(); !st) return st;
  if (auto st = writeIdentity(config); !st) return st.error().wrap("writing hostname and hosts");
  t.step("root");
  if (auto st = bringUpLoopback(); !st) log::warn("tether", st.error().message());
  if (auto st = configureNetworks(config.networks); !st) return st;
  if (auto st = unbindOtherNics(config.networks); !st) log::warn("tether", st.error().message());
  if (config.embeddedDns) {
    if (auto st = serveEmbeddedDns(config.dns); !st) log::warn("tether", st.error().message());
  }
  t.step("network");
  Status st = mountVolumes(config.mounts);
  t.step("volumes");
  return st;
}

// The channel devices stay open; their nodes leave the container's view (the tether port's
// too when the host talks over AF_VSOCK: nothing in the container may open it).
void hideChannelDevices() {
  if (auto tetherPort = findPortDevice(std::string(vsock::kTetherPortName))) ::unlink(tetherPort->c_str());
  if (auto logPort = findPortDevice(kLogPortName)) ::unlink(logPort->c_str());
}

// The container's configuration from fw_cfg; none (not an error) when the VM was booted as an
// instant clone template, whose forks receive theirs in an Identity request.
Result<std::optional<vsock::ContainerConfig>> bootConfig() {
  auto raw = readFwCfg(kConfigFwCfg);
  if (!raw && raw.error().code() == Errc::kNotFound) return std::optional<vsock::ContainerConfig>();
  if (!raw) return std::move(raw).error();
  auto config = vsock::decodeConfig(*raw);
  if (!config) return std::move(config).error();
  return std::optional(std::move(*config));
}

}  // namespace

int main() {
  if (auto st = mountBasics(); !st) log::error("tether", st.error().message());
  if (auto st = loadModules("/lib/modules"); !st) log::error("tether", st.error().message());
  std::string version = readFile("/VERSION");
  while (!version.empty() && version.back() == '\n') version.pop_back();
  log::info("tether", "bootstrap image " + version);

  auto config = bootConfig();
  bool isTemplate = config && !config->has_value();
  ServerOptions opts;
  opts.version = version;
  opts.awaitIdentity = isTemplate;
  opts.prepareClone = tether::prepareClone;
  if (auto logPort = findPortDevice(kLogPortName)) opts.logFd.reset(::open(logPort->c_str(), O_WRONLY | O_CLOEXEC));
  auto endpoint = tetherEndpoint();
  if (!endpoint) {
    log::error("tether", endpoint.error().message());
    powerOff();
  }
  opts.endpoint = *endpoint;
  opts.enter = [](const vsock::ContainerConfig& c) {
    Status st = enterContainer(c);
    hideChannelDevices();
    return st;
  };
  auto server = Server::create(std::move(opts));
  if (!server) {
    log::error("tether", server.error().message());
    powerOff();
  }
  if (!config) {
    hideChannelDevices();
    (*server)->failBoot(125, config.error().message());
  } else if (isTemplate) {
    log::info("tether", std::string("no container configuration: ") + vsock::kTemplateReadyLine);
  } else {
    (void)(*server)->boot(std::move(**config));  // a failure is the main session's exit
  }
  (*server)->run();
  powerOff();
}
