// Mux: the sans-IO core of the tether channel. Frames, handshake, channels and credit
// flow control over byte buffers; the caller moves bytes between it and a transport.
//
//   transport -> feed(bytes, handler)   parses frames, calls the handler
//   app       -> send/sendEof/close/consumed/sendControl
//   transport <- output() / consumeOutput(n)
//
// Flow control: each channel direction has a credit window (the receiver's advertised
// window). send() accepts only what the peer can take, so a stalled reader stops only its
// own channel and no side buffers more than one window per channel. The control channel (0)
// has no credits: both sides handle control messages as they arrive, and outbound control
// bytes are capped (sendControl fails beyond MuxLimits::maxControlQueue).
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "vsock/wire.h"

namespace vic::vsock {

enum class Role { kHost, kGuest };

struct MuxLimits {
  uint32_t window = 256 * 1024;        // our receive window per channel, advertised in the handshake
  uint32_t chunk = kMaxPayload;        // largest data frame we send; smaller = finer interleaving
  size_t outputHighWater = 256 * 1024; // encoded bytes kept ready for the transport
  size_t maxControlQueue = 4 << 20;    // outbound control bytes waiting for the transport
  size_t maxChannels = 4096;
};

// Callbacks from feed(). They may call the Mux's send/open/close/consumed, never reset().
class MuxHandler {
 public:
  virtual ~MuxHandler() = default;
  virtual void onConnected(uint16_t /*version*/) {}
  virtual void onControl(std::span<const uint8_t> message) = 0;
  // Bytes stay counted against the window until the app calls Mux::consumed().
  virtual void onData(ChannelId ch, std::span<const uint8_t> data) = 0;
  virtual void onEof(ChannelId /*ch*/) {}
  // The peer closed the channel, or the connection was replaced; the channel is gone.
  virtual void onClosed(ChannelId /*ch*/) {}
  virtual void onWritable(ChannelId /*ch*/) {}
};

class Mux {
 public:
  explicit Mux(Role role, MuxLimits limits = {});

  // A new connection: forget transport state and hunt for the handshake. Returns the
  // channels that were dropped (sessions behind them are the app's to keep or end).
  std::vector<ChannelId> reset();
  // Host only: reset and queue a Hello carrying `nonce`.
  void startHandshake(uint64_t nonce);
  // Host only, while no ack has come and the last Hello is written out: queue another Hello
  // with a new nonce. Only an ack of the latest nonce connects; earlier ones (which a guest
  // sends before the later ack, if it sends them at all) are skipped as stale. For an ack
  // lost on the guest's side: a virtio-serial port's close notice can overtake the data of
  // the host's next connection, so tether may drop the connection it has just acked.
  // Returns false (and does nothing) when connected or output is still pending.
  bool retryHandshake(uint64_t nonce);

  Status feed(std::span<const uint8_t> bytes, MuxHandler& handler);

  bool connected() const { return state_ == State::kConnected; }
  uint16_t version() const { return version_; }

  Status open(ChannelId ch);
  bool isOpen(ChannelId ch) const;
  size_t writable(ChannelId ch) const;  // bytes send() accepts now
  size_t send(ChannelId ch, std::span<const uint8_t> data);  // returns bytes accepted
  void sendEof(ChannelId ch);     // after the queued data
  void close(ChannelId ch);       // drops queued data; the peer answers with its own close
  void consumed(ChannelId ch, size_t n);  // app is done with n delivered bytes: grant credit
  Status sendControl(std::span<const uint8_t> message);

  // Encoded bytes for the transport; consumeOutput(n) after writing n of them.
  std::span<const uint8_t> output();
  void consumeOutput(size_t n);
  bool hasOutput();

  size_t channelCount() const { return channels_.size(); }
  uint64_t discardedWhileHunting() const { return discarded_; }

 private:
  enum class State { kHunting, kConnected, kFailed };
  struct Channel {
    std::vector<uint8_t> pending;  // accepted by send(), not yet framed
    size_t pendingPos = 0;
    uint64_t sendCredit = 0;       // bytes we may still frame
    uint64_t recvAllowance = 0;    // bytes the peer may still send
    uint64_t uncredited = 0;       // consumed by the app, not yet granted back
    bool eofQueued = false, eofSent = false, peerEof = false;
    bool closedByUs = false;
    bool inReady = false;
    size_t pendingSize() const { return pending.size() - pendingPos; }
  };

  size_t parse(std::span<const uint8_t> data, MuxHandler& h);
  size_t hunt(std::span<const uint8_t> data, MuxHandler& h);
  Status handleFrame(const FrameHeader& hdr, std::span<const uint8_t> payload, MuxHandler& h);
  Status handleHello(std::span<const uint8_t> payload, MuxHandler& h);
  Status handleChannelFrame(const FrameHeader& hdr, std::span<const uint8_t> payload, MuxHandler& h);
  void fail(Error e);
  void markReady(ChannelId ch, Channel& c);
  void queueSmall(FrameType type, ChannelId ch, std::span<const uint8_t> payload = {});
  void fillOutput();
  void frameChannel(ChannelId ch, Channel& c);
  void dropChannels(MuxHandler* h);
  std::vector<ChannelId> clearConnection();

  Role role_;
  MuxLimits limits_;
  State state_ = State::kHunting;
  Status failure_;
  uint16_t version_ = 0;
  uint64_t nonce_ = 0;
  uint32_t peerWindow_ = 0;
  uint64_t discarded_ = 0;

  std::vector<uint8_t> in_;    // unparsed input tail
  std::vector<uint8_t> out_;   // encoded frames for the transport
  size_t outPos_ = 0;
  std::vector<uint8_t> prio_;  // control, credit and close frames: sent before channel data
  std::unordered_map<ChannelId, Channel> channels_;
  std::deque<ChannelId> ready_;  // channels with data and credit, round-robin
};

}  // namespace vic::vsock
