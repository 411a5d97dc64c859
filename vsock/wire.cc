#include "vsock/wire.h"

#include <algorithm>

namespace vic::vsock {
namespace {

template <class T>
void putBe(uint8_t* p, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
}

template <class T>
T getBe(const uint8_t* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | p[i]);
  return v;
}

bool knownType(uint8_t t) { return t >= 1 && t <= 6; }

Error protocolError(std::string message) { return Error(Errc::kProtocol, std::move(message)); }

}  // namespace

void appendHeader(std::vector<uint8_t>& out, const FrameHeader& h) {
  size_t at = out.size();
  out.resize(at + kHeaderSize);
  uint8_t* p = out.data() + at;
  putBe<uint16_t>(p, kMagic);
  p[2] = h.version;
  p[3] = static_cast<uint8_t>(h.type);
  putBe<uint32_t>(p + 4, h.channel);
  putBe<uint32_t>(p + 8, h.length);
}

void appendFrame(std::vector<uint8_t>& out, uint8_t version, FrameType type, ChannelId ch,
                 std::span<const uint8_t> payload) {
  appendHeader(out, {version, type, ch, static_cast<uint32_t>(payload.size())});
  out.insert(out.end(), payload.begin(), payload.end());
}

std::array<uint8_t, kHelloSize> encodeHello(const Hello& h) {
  std::array<uint8_t, kHelloSize> b{};
  putBe<uint16_t>(b.data(), h.minVersion);
  putBe<uint16_t>(b.data() + 2, h.maxVersion);
  putBe<uint64_t>(b.data() + 4, h.nonce);
  putBe<uint32_t>(b.data() + 12, h.window);
  return b;
}

std::array<uint8_t, kHelloAckSize> encodeHelloAck(const HelloAck& a) {
  std::array<uint8_t, kHelloAckSize> b{};
  putBe<uint16_t>(b.data(), a.version);
  putBe<uint64_t>(b.data() + 2, a.nonce);
  putBe<uint32_t>(b.data() + 10, a.window);
  return b;
}

std::array<uint8_t, 4> encodeCredit(uint32_t n) {
  std::array<uint8_t, 4> b{};
  putBe<uint32_t>(b.data(), n);
  return b;
}

Result<FrameHeader> decodeHeader(std::span<const uint8_t> bytes, uint8_t expectedVersion) {
  const uint8_t* p = bytes.data();
  uint16_t magic = getBe<uint16_t>(p);
  if (magic != kMagic) return protocolError("bad frame magic 0x" + [&] {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (int shift = 12; shift >= 0; shift -= 4) s += hex[(magic >> shift) & 0xf];
    return s;
  }());
  FrameHeader h;
  h.version = p[2];
  if (!knownType(p[3])) return protocolError("unknown frame type " + std::to_string(p[3]));
  h.type = static_cast<FrameType>(p[3]);
  h.channel = getBe<uint32_t>(p + 4);
  h.length = getBe<uint32_t>(p + 8);
  bool handshake = h.type == FrameType::kHello || h.type == FrameType::kHelloAck;
  uint8_t want = handshake ? kHandshakeVersion : expectedVersion;
  if (h.version != want) {
    return protocolError("frame version " + std::to_string(h.version) + ", expected " +
                         std::to_string(want));
  }
  if (h.length > kMaxPayload) {
    return protocolError("frame of " + std::to_string(h.length) + " bytes exceeds the maximum of " +
                         std::to_string(kMaxPayload));
  }
  return h;
}

Result<Hello> decodeHello(std::span<const uint8_t> payload) {
  if (payload.size() != kHelloSize) return protocolError("hello of wrong size");
  Hello h;
  h.minVersion = getBe<uint16_t>(payload.data());
  h.maxVersion = getBe<uint16_t>(payload.data() + 2);
  h.nonce = getBe<uint64_t>(payload.data() + 4);
  h.window = getBe<uint32_t>(payload.data() + 12);
  if (h.window == 0) return protocolError("hello with an empty receive window");
  return h;
}

Result<HelloAck> decodeHelloAck(std::span<const uint8_t> payload) {
  if (payload.size() != kHelloAckSize) return protocolError("hello-ack of wrong size");
  HelloAck a;
  a.version = getBe<uint16_t>(payload.data());
  a.nonce = getBe<uint64_t>(payload.data() + 2);
  a.window = getBe<uint32_t>(payload.data() + 10);
  return a;
}

Result<uint32_t> decodeCredit(std::span<const uint8_t> payload) {
  if (payload.size() != 4) return protocolError("credit frame of wrong size");
  return getBe<uint32_t>(payload.data());
}

uint16_t chooseVersion(const Hello& h) {
  uint16_t hi = std::min(h.maxVersion, kMaxVersion);
  uint16_t lo = std::max(h.minVersion, kMinVersion);
  return hi >= lo ? hi : 0;
}

std::string frameTypeName(FrameType t) {
  switch (t) {
    case FrameType::kHello: return "hello";
    case FrameType::kHelloAck: return "hello-ack";
    case FrameType::kData: return "data";
    case FrameType::kCredit: return "credit";
    case FrameType::kEof: return "eof";
    case FrameType::kClose: return "close";
  }
  return "unknown";
}

}  // namespace vic::vsock
