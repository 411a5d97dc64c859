#include "runtime/portlayer/vsock_cid.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <filesystem>

#include "vsock/transport.h"

namespace vic::pl {

Result<uint32_t> allocateVsockCid(const std::set<uint32_t>& inUse) {
  uint32_t cid = vsock::kFirstGuestCid;
  for (auto it = inUse.lower_bound(cid); it != inUse.end() && *it == cid && cid < vsock::kVsockCidAny; ++it) ++cid;  // sorted
  if (cid >= vsock::kVsockCidAny) return Error(Errc::kUnavailable, "no free vsock guest CID on this host");
  return cid;
}

Result<HostLock> HostLock::acquire(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return Error::fromErrno("opening the lock " + path);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return Error::fromErrno("locking " + path);
  }
  return HostLock(std::move(fd));
}

Result<uint32_t> defineWithFreeCid(hv::Hypervisor& hv, const std::string& lockPath,
                                   const std::function<Status(uint32_t cid)>& define) {
  auto lock = HostLock::acquire(lockPath);
  if (!lock) return std::move(lock).error().wrap("choosing a vsock guest CID");
  auto inUse = hv.vsockCids();
  if (!inUse) return std::move(inUse).error().wrap("reading the host's vsock guest CIDs");
  auto cid = allocateVsockCid(*inUse);
  if (!cid) return std::move(cid).error();
  if (auto st = define(*cid); !st) return std::move(st).error();
  return *cid;
}

Result<TetherTransport> chooseTetherTransport(bool hostHasVsock, std::string_view forced) {
  if (forced == "virtio-serial") return TetherTransport{false, "virtio-serial (" + std::string(kTransportEnv) + "=virtio-serial)"};
  if (!forced.empty() && forced != "auto") {
    return Error(Errc::kInvalidArgument, std::string(kTransportEnv) + " must be auto or virtio-serial, not '" + std::string(forced) + "'");
  }
  if (hostHasVsock) return TetherTransport{true, "AF_VSOCK (vhost-vsock)"};
  return TetherTransport{false, "virtio-serial (no /dev/vhost-vsock on this host)"};
}

}  // namespace vic::pl
