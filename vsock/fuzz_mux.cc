// libFuzzer target: the tether decoder (Mux::feed and the control codec) fed hostile bytes.
// The first byte picks the scenario; the rest is the peer's stream, split at points the
// fuzzer also controls. Any crash, leak, UB or unbounded allocation is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "vsock/codec.h"
#include "vsock/mux.h"

namespace {

using namespace vic::vsock;

struct Handler : MuxHandler {
  Mux* mux = nullptr;
  void onControl(std::span<const uint8_t> m) override {
    auto msg = decode(m);
    // An app reaction: open the channels a request names, as tether does.
    if (msg && std::holds_alternative<RequestMsg>(*msg)) {
      if (auto* l = std::get_if<Launch>(&std::get<RequestMsg>(*msg).body)) {
        (void)mux->open(l->channels.stdinCh);
        (void)mux->open(l->channels.stdoutCh);
      }
    }
  }
  void onData(ChannelId ch, std::span<const uint8_t> d) override {
    if (d.size() % 2 == 0) mux->consumed(ch, d.size());
    uint8_t echo[16] = {};
    mux->send(ch, std::span(echo, d.size() % 16));
  }
  void onEof(ChannelId ch) override { mux->close(ch); }
};

void connectGuest(Mux& guest, Handler& h) {
  std::vector<uint8_t> hello;
  appendFrame(hello, 1, FrameType::kHello, 0, encodeHello({1, 1, 42, 4096}));
  (void)guest.feed(hello, h);
  for (ChannelId ch = 1; ch <= 4; ++ch) (void)guest.open(ch);
}

void connectHost(Mux& host, Handler& h) {
  host.startHandshake(42);
  std::vector<uint8_t> ack;
  appendFrame(ack, 1, FrameType::kHelloAck, 0, encodeHelloAck({1, 42, 4096}));
  (void)host.feed(ack, h);
  for (ChannelId ch = 1; ch <= 4; ++ch) (void)host.open(ch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t mode = data[0] % 4;
  size_t split = 1 + data[1];
  std::span<const uint8_t> stream(data + 2, size - 2);
  if (mode == 3) {
    (void)decode(stream);
    (void)decodeConfig(std::string_view(reinterpret_cast<const char*>(stream.data()), stream.size()));
    return 0;
  }
  MuxLimits limits;
  limits.window = 4096;
  limits.maxChannels = 8;
  Mux mux(mode == 2 ? Role::kHost : Role::kGuest, limits);
  Handler h;
  h.mux = &mux;
  if (mode == 1) connectGuest(mux, h);
  if (mode == 2) connectHost(mux, h);
  for (size_t at = 0; at < stream.size(); at += split) {
    if (!mux.feed(stream.subspan(at, std::min(split, stream.size() - at)), h)) break;
    auto out = mux.output();
    mux.consumeOutput(out.size());
  }
  return 0;
}
