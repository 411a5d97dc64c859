// The tether wire format: every byte between the host and tether is a frame.
//
//   offset  size  field
//   0       2     magic 0x7654 ("vT"), big-endian
//   2       1     version: 1 for the handshake frames, the negotiated version after
//   3       1     type (FrameType)
//   4       4     channel id, big-endian (0 = control channel)
//   8       4     payload length, big-endian, at most kMaxPayload
//   12      n     payload
//
// Pure functions over bytes; no I/O. docs/tether-protocol.md explains the design.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace vic::vsock {

using ChannelId = uint32_t;
inline constexpr ChannelId kControlChannel = 0;

inline constexpr uint16_t kMagic = 0x7654;
inline constexpr uint8_t kHandshakeVersion = 1;  // Hello/HelloAck are always framed as v1
inline constexpr uint16_t kMinVersion = 1;       // protocol versions this build speaks
inline constexpr uint16_t kMaxVersion = 1;
inline constexpr size_t kHeaderSize = 12;
inline constexpr uint32_t kMaxPayload = 64 * 1024;  // hard limit, both directions

enum class FrameType : uint8_t {
  kHello = 1,     // host -> guest: versions + nonce + receive window; starts a connection
  kHelloAck = 2,  // guest -> host: chosen version + the host's nonce + receive window
  kData = 3,      // channel bytes; on channel 0 one control message (JSON)
  kCredit = 4,    // receiver -> sender: n more bytes may be sent on the channel
  kEof = 5,       // sender will send no more data on the channel (half-close)
  kClose = 6,     // sender is done with the channel in both directions
};

struct FrameHeader {
  uint8_t version = 0;
  FrameType type = FrameType::kData;
  ChannelId channel = 0;
  uint32_t length = 0;
};

// Handshake payloads (fixed size, binary).
struct Hello {
  uint16_t minVersion = kMinVersion;
  uint16_t maxVersion = kMaxVersion;
  uint64_t nonce = 0;
  uint32_t window = 0;  // the sender's per-channel receive window, in bytes
};
inline constexpr size_t kHelloSize = 16;

struct HelloAck {
  uint16_t version = 0;  // 0: no common version; the connection is refused
  uint64_t nonce = 0;    // echoes Hello.nonce so stale bytes cannot fake an ack
  uint32_t window = 0;
};
inline constexpr size_t kHelloAckSize = 14;

// Encoding appends to `out`.
void appendHeader(std::vector<uint8_t>& out, const FrameHeader& h);
void appendFrame(std::vector<uint8_t>& out, uint8_t version, FrameType type, ChannelId ch,
                 std::span<const uint8_t> payload);
std::array<uint8_t, kHelloSize> encodeHello(const Hello& h);
std::array<uint8_t, kHelloAckSize> encodeHelloAck(const HelloAck& a);
std::array<uint8_t, 4> encodeCredit(uint32_t n);

// Decoding validates everything the peer controls. `bytes` must hold kHeaderSize bytes.
Result<FrameHeader> decodeHeader(std::span<const uint8_t> bytes, uint8_t expectedVersion);
Result<Hello> decodeHello(std::span<const uint8_t> payload);
Result<HelloAck> decodeHelloAck(std::span<const uint8_t> payload);
Result<uint32_t> decodeCredit(std::span<const uint8_t> payload);

// The highest version both sides speak, or 0.
uint16_t chooseVersion(const Hello& h);

std::string frameTypeName(FrameType t);

}  // namespace vic::vsock
