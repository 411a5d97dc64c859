#include "vsock/pump.h"

#include <unistd.h>

#include <array>
#include <cerrno>

namespace vic::vsock {

Result<PumpState> pumpIn(int fd, Mux& mux, MuxHandler& handler, size_t budget) {
  std::array<uint8_t, 64 * 1024> buf;
  size_t total = 0;
  while (total < budget) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n == 0) return PumpState::kPeerGone;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return PumpState::kOpen;
      if (errno == ECONNRESET || errno == EPIPE) return PumpState::kPeerGone;
      return Error::fromErrno("reading tether channel");
    }
    total += static_cast<size_t>(n);
    if (auto st = mux.feed(std::span(buf.data(), static_cast<size_t>(n)), handler); !st) {
      return std::move(st).error();
    }
  }
  return PumpState::kOpen;
}

Result<bool> pumpOut(int fd, Mux& mux) {
  while (true) {
    auto out = mux.output();
    if (out.empty()) return false;
    ssize_t n = ::write(fd, out.data(), out.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;
      return Error::fromErrno("writing tether channel");
    }
    mux.consumeOutput(static_cast<size_t>(n));
  }
}

}  // namespace vic::vsock
