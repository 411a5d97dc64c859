// Moving bytes between a non-blocking fd and a Mux: the guest side's I/O (tether's event
// loop and the fake tether call these when poll() says the fd is ready).
#pragma once

#include "common/result.h"
#include "vsock/mux.h"

namespace vic::vsock {

enum class PumpState { kOpen, kPeerGone };

// Reads until the fd would block (at most `budget` bytes, so one busy peer cannot starve the
// loop). kPeerGone on EOF, ECONNRESET, or a virtio-serial port whose host side went away.
Result<PumpState> pumpIn(int fd, Mux& mux, MuxHandler& handler, size_t budget = 1 << 20);

// Writes pending output until the fd would block. Returns true if output remains.
Result<bool> pumpOut(int fd, Mux& mux);

}  // namespace vic::vsock
