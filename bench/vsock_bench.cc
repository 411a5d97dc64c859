// Tether channel throughput and fairness, next to the raw socket baseline, in one run, on each
// host-side transport this host has: a unix socketpair (what the host holds of a virtio-serial
// port: QEMU's chardev socket) and an AF_VSOCK loopback connection (the host's vsock stack; the
// vhost-vsock path into a guest needs a VM). A transport the host lacks is named with the reason.
// Not a test: prints figures (docs/tether-protocol.md records them).
//   vsock_bench [MiB per channel, default 1024]
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "vsock/mux.h"
#include "vsock/pump.h"

namespace {

using namespace vic::vsock;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A connected stream pair on one transport; the error says why the host cannot make one.
struct Pair {
  int fd[2] = {-1, -1};
  std::string error;
};

Pair unixPair() {
  Pair p;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, p.fd) != 0) p.error = std::strerror(errno);
  return p;
}

// Listens on the local CID (VMADDR_CID_LOCAL, the vsock_loopback transport) and connects to it.
Pair vsockLoopbackPair() {
  Pair p;
  int l = socket(AF_VSOCK, SOCK_STREAM, 0);
  if (l < 0) {
    p.error = std::string("no AF_VSOCK: ") + std::strerror(errno);
    return p;
  }
  sockaddr_vm a{};
  a.svm_family = AF_VSOCK;
  a.svm_cid = VMADDR_CID_LOCAL;
  a.svm_port = VMADDR_PORT_ANY;
  socklen_t len = sizeof a;
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    p.error = std::string("no vsock loopback (vsock_loopback): ") + std::strerror(errno);
    close(l);
    return p;
  }
  p.fd[0] = socket(AF_VSOCK, SOCK_STREAM, 0);
  if (connect(p.fd[0], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || (p.fd[1] = accept(l, nullptr, nullptr)) < 0) {
    p.error = std::string("connecting over vsock loopback: ") + std::strerror(errno);
  }
  close(l);
  return p;
}

void closePair(Pair& p) {
  for (int& fd : p.fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

double rawBaseline(size_t total, Pair sv) {
  auto t0 = Clock::now();
  std::thread writer([&] {
    std::vector<char> buf(64 * 1024, 'x');
    for (size_t sent = 0; sent < total;) {
      ssize_t n = write(sv.fd[0], buf.data(), std::min(buf.size(), total - sent));
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
  });
  std::vector<char> buf(64 * 1024);
  for (size_t got = 0; got < total;) {
    ssize_t n = read(sv.fd[1], buf.data(), buf.size());
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  double s = secondsSince(t0);
  writer.join();
  closePair(sv);
  return static_cast<double>(total) / s / 1e6;
}

struct Counter : MuxHandler {
  Mux* mux = nullptr;
  std::vector<size_t> got;
  size_t perChannel = 0;
  std::vector<size_t> snapshot;  // per-channel bytes when the first channel finished
  Clock::time_point firstDone;
  void onConnected(uint16_t) override {
    for (ChannelId ch = 1; ch < got.size(); ++ch) (void)mux->open(ch);
  }
  void onControl(std::span<const uint8_t>) override {}
  void onData(ChannelId ch, std::span<const uint8_t> d) override {
    got[ch] += d.size();
    mux->consumed(ch, d.size());
    if (snapshot.empty() && got[ch] >= perChannel) {
      snapshot = got;
      firstDone = Clock::now();
    }
  }
};

struct Sender : MuxHandler {
  Mux* mux = nullptr;
  int channels = 0;
  bool ready = false;
  void onConnected(uint16_t) override {
    for (ChannelId ch = 1; ch <= static_cast<ChannelId>(channels); ++ch) (void)mux->open(ch);
    ready = true;
  }
  void onControl(std::span<const uint8_t>) override {}
  void onData(ChannelId, std::span<const uint8_t>) override {}
};

// Runs one pump loop on `fd` until `done()`; `produce()` queues data before each poll.
template <class Done, class Produce>
void loop(int fd, Mux& mux, MuxHandler& h, Done done, Produce produce) {
  while (!done()) {
    produce();
    auto more = pumpOut(fd, mux);
    pollfd p{fd, static_cast<short>(POLLIN | (more && *more ? POLLOUT : 0)), 0};
    poll(&p, 1, 100);
    if (p.revents & POLLIN) {
      auto st = pumpIn(fd, mux, h);
      if (!st || *st == PumpState::kPeerGone) return;
    }
  }
}

struct MuxResult {
  double totalMBs = 0;
  std::vector<double> perChannelMBs;  // at the moment the first channel finished
};

MuxResult muxRun(int channels, size_t perChannel, Pair pair) {
  int* sv = pair.fd;
  for (int i = 0; i < 2; ++i) fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK);
  Mux host(Role::kHost), guest(Role::kGuest);
  Counter counter;
  counter.mux = &host;
  counter.got.assign(static_cast<size_t>(channels) + 1, 0);
  counter.perChannel = perChannel;
  Sender sender;
  sender.mux = &guest;
  sender.channels = channels;
  size_t total = perChannel * static_cast<size_t>(channels);
  auto t0 = Clock::now();

  std::thread guestThread([&] {
    std::vector<uint8_t> chunk(64 * 1024, 'y');
    std::vector<size_t> sent(static_cast<size_t>(channels) + 1, 0);
    size_t sentTotal = 0;
    loop(sv[1], guest, sender, [&] { return sentTotal >= total && !guest.hasOutput(); }, [&] {
      if (!sender.ready) return;
      for (ChannelId ch = 1; ch <= static_cast<ChannelId>(channels); ++ch) {
        size_t want = std::min(chunk.size(), perChannel - sent[ch]);
        size_t n = guest.send(ch, std::span(chunk.data(), want));
        sent[ch] += n;
        sentTotal += n;
      }
    });
  });
  host.startHandshake(1);
  size_t received = 0;
  loop(sv[0], host, counter, [&] { return received >= total; }, [&] {
    received = 0;
    for (size_t g : counter.got) received += g;
  });
  double s = secondsSince(t0);
  guestThread.join();
  closePair(pair);
  MuxResult r;
  r.totalMBs = static_cast<double>(total) / s / 1e6;
  double firstS = std::chrono::duration<double>(counter.firstDone - t0).count();
  for (int ch = 1; ch <= channels; ++ch) {
    r.perChannelMBs.push_back(static_cast<double>(counter.snapshot[static_cast<size_t>(ch)]) / firstS / 1e6);
  }
  return r;
}

// The figures of one transport; `makePair` gives a fresh connected pair for each run.
void runTransport(const char* name, Pair (*makePair)(), size_t bytes) {
  Pair probe = makePair();
  if (!probe.error.empty()) {
    std::printf("%s: not measured on this host: %s\n", name, probe.error.c_str());
    closePair(probe);
    return;
  }
  std::printf("%s:\n", name);
  double raw = rawBaseline(bytes, probe);
  std::printf("  %-34s %8.0f MB/s\n", "baseline: raw socket", raw);
  auto one = muxRun(1, bytes, makePair());
  std::printf("  %-34s %8.0f MB/s   (%.0f%% of raw)\n", "mux, 1 channel", one.totalMBs, 100 * one.totalMBs / raw);
  auto eight = muxRun(8, bytes / 8, makePair());
  double lo = 1e18, hi = 0, sum = 0;
  for (double v : eight.perChannelMBs) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  std::printf("  %-34s %8.0f MB/s   per channel min %.0f / max %.0f MB/s\n", "mux, 8 busy channels",
              eight.totalMBs, lo, hi);
  std::printf("  %-34s %8.1f%%       (target: no channel below 1/16 = 6.25%%)\n",
              "  smallest channel share", 100 * lo / sum);
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1024;
  size_t bytes = mib << 20;
  std::printf("tether channel benchmark: %u KiB frames, %u KiB window, %zu MiB per run\n",
              kMaxPayload / 1024, MuxLimits{}.window / 1024, mib);
  runTransport("unix socketpair (the host end of virtio-serial)", unixPair, bytes);
  runTransport("AF_VSOCK loopback (the host's vsock stack, no guest)", vsockLoopbackPair, bytes);
  return 0;
}
