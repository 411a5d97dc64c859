// A full datastore. QEMU pauses a VM whose disk write fails for want of space rather than fail
// the guest's write (nothing is lost); the port layer says so (docker ps: "(Paused)", inspect:
// State.Error, a "pause" event, the endpoint log) and resumes the VM once space is back. A
// container is not created or started on a datastore without room: docker's words, at once.
#include <sys/statvfs.h>

#include "common/log.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::pl {

namespace {

std::optional<uint64_t> statvfsFree(const std::string& dir) {
  struct statvfs s {};
  if (::statvfs(dir.c_str(), &s) != 0) return std::nullopt;
  return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
}

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

Status PortLayer::roomOnDatastore() const {
  auto free = opts_.freeBytes ? opts_.freeBytes() : statvfsFree(ds_.root());
  if (!free || *free >= opts_.minFreeBytes) return ok();
  return Error(Errc::kIo, "no space left on device: the VCH's datastore " + ds_.root() + " has " + mib(*free) +
                              " free, containers need " + mib(opts_.minFreeBytes));
}

void PortLayer::onIoErrorPause(const std::string& id) {
  auto spec = specOf(id);
  auto l = live(id);
  if (!spec || l->removed) return;
  l->power = hv::PowerState::kPaused;
  if (!l->ioPaused) {
    l->ioPaused = true;
    log::warn("portlayer", "container " + shortId(id) + " is paused: a write to its disk failed, the datastore " + ds_.root() +
                               " is full; it resumes once " + mib(opts_.minFreeBytes) + " are free");
    containerEvent(*spec, "pause");
  }
  l->changed.notify();
  if (!l->watchingSpace) asio::co_spawn(io_, resumeWhenSpace(id), asio::detached);
}

// The VM runs again, whoever resumed it (docker unpause, virsh, this port layer).
void PortLayer::onResumed(const std::string& id) {
  auto l = live(id);
  if (!l->ioPaused) return;  // a pause by hand is left to unpause (events may come late)
  l->ioPaused = false;
  if (l->power == hv::PowerState::kPaused) l->power = hv::PowerState::kRunning;
  l->changed.notify();
}

asio::awaitable<void> PortLayer::resumeWhenSpace(std::string id) {
  auto l = live(id);
  l->watchingSpace = true;
  while (l->ioPaused && !l->removed && l->power == hv::PowerState::kPaused) {
    asio::steady_timer tick(io_, opts_.spaceCheckInterval);
    co_await tick.async_wait(asio::use_awaitable);
    if (!l->ioPaused || l->removed || !roomOnDatastore()) continue;
    auto resumeVm = [this, vm = vmName(id)] { return hv_.resume(vm); };
    auto done = co_await offload(resumeVm);
    if (!done) {
      log::warn("portlayer", "resuming container " + shortId(id) + " after its datastore filled: " + done.error().message());
      continue;
    }
    onResumed(id);
    log::info("portlayer", "container " + shortId(id) + " resumed: its datastore has room again");
    auto spec = specOf(id);
    if (spec) containerEvent(*spec, "unpause");
  }
  l->watchingSpace = false;
}

}  // namespace vic::pl
