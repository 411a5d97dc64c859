#include "vsock/mux.h"

#include <algorithm>
#include <cstring>

namespace vic::vsock {
namespace {

Error protocolError(std::string message) { return Error(Errc::kProtocol, std::move(message)); }

std::string chName(ChannelId ch) { return "channel " + std::to_string(ch); }

// The 12 header bytes a handshake frame must start with.
std::array<uint8_t, kHeaderSize> handshakeHeader(FrameType type, size_t len) {
  std::vector<uint8_t> v;
  appendHeader(v, {kHandshakeVersion, type, kControlChannel, static_cast<uint32_t>(len)});
  std::array<uint8_t, kHeaderSize> a{};
  std::copy(v.begin(), v.end(), a.begin());
  return a;
}

}  // namespace

Mux::Mux(Role role, MuxLimits limits) : role_(role), limits_(limits) {
  limits_.chunk = std::clamp<uint32_t>(limits_.chunk, 1, kMaxPayload);
}

std::vector<ChannelId> Mux::reset() {
  in_.clear();
  failure_ = ok();
  return clearConnection();
}

// Everything but the input buffer, which parse() may be reading from.
std::vector<ChannelId> Mux::clearConnection() {
  std::vector<ChannelId> dropped;
  for (auto& [id, c] : channels_) dropped.push_back(id);
  std::sort(dropped.begin(), dropped.end());
  channels_.clear();
  ready_.clear();
  state_ = State::kHunting;
  version_ = 0;
  peerWindow_ = 0;
  out_.clear();
  outPos_ = 0;
  prio_.clear();
  return dropped;
}

void Mux::startHandshake(uint64_t nonce) {
  reset();
  nonce_ = nonce;
  auto hello = encodeHello({kMinVersion, kMaxVersion, nonce, limits_.window});
  appendFrame(out_, kHandshakeVersion, FrameType::kHello, kControlChannel, hello);
}

bool Mux::retryHandshake(uint64_t nonce) {
  if (role_ != Role::kHost || state_ != State::kHunting || outPos_ < out_.size()) return false;
  out_.clear();
  outPos_ = 0;
  nonce_ = nonce;
  auto hello = encodeHello({kMinVersion, kMaxVersion, nonce, limits_.window});
  appendFrame(out_, kHandshakeVersion, FrameType::kHello, kControlChannel, hello);
  return true;
}

void Mux::fail(Error e) {
  state_ = State::kFailed;
  failure_ = std::move(e);
}

Status Mux::feed(std::span<const uint8_t> bytes, MuxHandler& h) {
  if (state_ == State::kFailed) return failure_;
  if (in_.empty()) {
    // Fast path: parse straight from the caller's buffer, keep only the incomplete tail.
    size_t used = parse(bytes, h);
    if (state_ != State::kFailed) in_.assign(bytes.begin() + static_cast<long>(used), bytes.end());
  } else {
    in_.insert(in_.end(), bytes.begin(), bytes.end());
    size_t used = parse(in_, h);
    if (state_ != State::kFailed) in_.erase(in_.begin(), in_.begin() + static_cast<long>(used));
  }
  return failure_;
}

// Returns the number of bytes fully handled; stops at an incomplete frame or a failure.
size_t Mux::parse(std::span<const uint8_t> data, MuxHandler& h) {
  size_t pos = 0;
  while (state_ != State::kFailed) {
    if (state_ == State::kHunting) {
      size_t used = hunt(data.subspan(pos), h);
      pos += used;
      if (state_ == State::kHunting) return pos;
      continue;
    }
    if (data.size() - pos < kHeaderSize) break;
    auto hdr = decodeHeader(data.subspan(pos, kHeaderSize), static_cast<uint8_t>(version_));
    if (!hdr) {
      fail(std::move(hdr).error());
      break;
    }
    if (data.size() - pos - kHeaderSize < hdr->length) break;
    auto payload = data.subspan(pos + kHeaderSize, hdr->length);
    pos += kHeaderSize + hdr->length;
    if (auto st = handleFrame(*hdr, payload, h); !st) fail(std::move(st).error());
  }
  return pos;
}

// Scans for the peer's handshake frame, discarding whatever precedes it (stale bytes of an
// earlier connection). Returns the bytes consumed.
size_t Mux::hunt(std::span<const uint8_t> data, MuxHandler& h) {
  bool host = role_ == Role::kHost;
  auto type = host ? FrameType::kHelloAck : FrameType::kHello;
  size_t len = host ? kHelloAckSize : kHelloSize;
  auto want = handshakeHeader(type, len);
  size_t pos = 0;
  while (data.size() - pos >= kHeaderSize) {
    auto* hit = static_cast<const uint8_t*>(
        std::memchr(data.data() + pos, want[0], data.size() - pos - kHeaderSize + 1));
    if (hit == nullptr) {
      pos = data.size() - kHeaderSize + 1;
      break;
    }
    pos = static_cast<size_t>(hit - data.data());
    if (std::memcmp(hit, want.data(), kHeaderSize) != 0) {
      ++pos;
      continue;
    }
    if (data.size() - pos < kHeaderSize + len) break;  // wait for the payload
    auto payload = data.subspan(pos + kHeaderSize, len);
    if (host) {
      auto ack = decodeHelloAck(payload);
      if (ack && ack->nonce == nonce_) {
        discarded_ += pos;
        if (ack->version < kMinVersion || ack->version > kMaxVersion || ack->window == 0) {
          fail(protocolError("tether refused the connection: no common protocol version (host speaks " +
                             std::to_string(kMinVersion) + "-" + std::to_string(kMaxVersion) + ")"));
          return pos + kHeaderSize + len;
        }
        version_ = ack->version;
        peerWindow_ = ack->window;
        state_ = State::kConnected;
        h.onConnected(version_);
        return pos + kHeaderSize + len;
      }
    } else if (decodeHello(payload)) {
      discarded_ += pos;
      if (auto st = handleHello(payload, h); !st) fail(std::move(st).error());
      return pos + kHeaderSize + len;
    }
    ++pos;  // looked like a handshake, was not one
  }
  discarded_ += pos;
  return pos;
}

Status Mux::handleHello(std::span<const uint8_t> payload, MuxHandler& h) {
  auto hello = decodeHello(payload);
  if (!hello) return std::move(hello).error();
  // A hello always starts a new connection: the old one's channels and output are void.
  dropChannels(&h);
  version_ = chooseVersion(*hello);
  auto ack = encodeHelloAck({version_, hello->nonce, limits_.window});
  appendFrame(out_, kHandshakeVersion, FrameType::kHelloAck, kControlChannel, ack);
  if (version_ == 0) {
    return protocolError("host speaks protocol versions " + std::to_string(hello->minVersion) + "-" +
                         std::to_string(hello->maxVersion) + ", tether " +
                         std::to_string(kMinVersion) + "-" + std::to_string(kMaxVersion));
  }
  peerWindow_ = hello->window;
  state_ = State::kConnected;
  h.onConnected(version_);
  return ok();
}

void Mux::dropChannels(MuxHandler* h) {
  auto ids = clearConnection();
  if (h != nullptr) {
    for (ChannelId id : ids) h->onClosed(id);
  }
}

Status Mux::handleFrame(const FrameHeader& hdr, std::span<const uint8_t> payload, MuxHandler& h) {
  switch (hdr.type) {
    case FrameType::kHello:
      if (role_ == Role::kHost) return protocolError("hello sent to the host");
      if (hdr.channel != kControlChannel) return protocolError("hello on " + chName(hdr.channel));
      return handleHello(payload, h);
    case FrameType::kHelloAck:
      return protocolError("unexpected hello-ack on an established connection");
    case FrameType::kData:
      if (hdr.channel == kControlChannel) {
        h.onControl(payload);
        return ok();
      }
      [[fallthrough]];
    case FrameType::kCredit:
    case FrameType::kEof:
    case FrameType::kClose:
      return handleChannelFrame(hdr, payload, h);
  }
  return protocolError("unknown frame type");
}

Status Mux::handleChannelFrame(const FrameHeader& hdr, std::span<const uint8_t> payload,
                               MuxHandler& h) {
  ChannelId ch = hdr.channel;
  std::string what = frameTypeName(hdr.type) + " on " + chName(ch);
  if (ch == kControlChannel) return protocolError(what + ": the control channel has no credits");
  auto it = channels_.find(ch);
  if (it == channels_.end()) return protocolError(what + ", which is not open");
  Channel& c = it->second;
  if (hdr.type == FrameType::kClose) {
    if (!payload.empty()) return protocolError(what + " with a payload");
    bool wasAck = c.closedByUs;
    channels_.erase(it);
    if (!wasAck) {
      queueSmall(FrameType::kClose, ch);
      h.onClosed(ch);
    }
    return ok();
  }
  if (c.closedByUs) return ok();  // in flight before the peer saw our close
  switch (hdr.type) {
    case FrameType::kData:
      if (c.peerEof) return protocolError(what + " after eof");
      if (payload.size() > c.recvAllowance) return protocolError(what + " exceeds the credit window");
      c.recvAllowance -= payload.size();
      if (!payload.empty()) h.onData(ch, payload);
      return ok();
    case FrameType::kCredit: {
      auto n = decodeCredit(payload);
      if (!n) return std::move(n).error().wrap(what);
      if (c.sendCredit + *n > (uint64_t{1} << 32)) return protocolError(what + " overflows the window");
      c.sendCredit += *n;
      if (c.pendingSize() > 0) markReady(ch, c);
      h.onWritable(ch);
      return ok();
    }
    case FrameType::kEof:
      if (!payload.empty()) return protocolError(what + " with a payload");
      if (c.peerEof) return protocolError("second " + what);
      c.peerEof = true;
      h.onEof(ch);
      return ok();
    default:
      return protocolError(what + ": unexpected");
  }
}

Status Mux::open(ChannelId ch) {
  if (ch == kControlChannel) return Error(Errc::kInvalidArgument, "channel 0 is the control channel");
  if (state_ != State::kConnected) return Error(Errc::kUnavailable, "tether channel not connected");
  if (channels_.size() >= limits_.maxChannels) {
    return Error(Errc::kConflict, "too many open channels (" + std::to_string(channels_.size()) + ")");
  }
  auto [it, inserted] = channels_.try_emplace(ch);
  if (!inserted) return Error(Errc::kConflict, chName(ch) + " is already open");
  it->second.sendCredit = peerWindow_;
  it->second.recvAllowance = limits_.window;
  return ok();
}

bool Mux::isOpen(ChannelId ch) const {
  auto it = channels_.find(ch);
  return it != channels_.end() && !it->second.closedByUs;
}

size_t Mux::writable(ChannelId ch) const {
  auto it = channels_.find(ch);
  if (state_ != State::kConnected || it == channels_.end()) return 0;
  const Channel& c = it->second;
  if (c.closedByUs || c.eofQueued) return 0;
  return static_cast<size_t>(c.sendCredit - std::min<uint64_t>(c.sendCredit, c.pendingSize()));
}

size_t Mux::send(ChannelId ch, std::span<const uint8_t> data) {
  size_t n = std::min(writable(ch), data.size());
  if (n == 0) return 0;
  Channel& c = channels_.at(ch);
  c.pending.insert(c.pending.end(), data.begin(), data.begin() + static_cast<long>(n));
  markReady(ch, c);
  return n;
}

void Mux::sendEof(ChannelId ch) {
  auto it = channels_.find(ch);
  if (it == channels_.end() || it->second.closedByUs || it->second.eofQueued) return;
  it->second.eofQueued = true;
  markReady(ch, it->second);
}

void Mux::close(ChannelId ch) {
  auto it = channels_.find(ch);
  if (it == channels_.end() || it->second.closedByUs) return;
  Channel& c = it->second;
  c.closedByUs = true;
  c.pending.clear();
  c.pendingPos = 0;
  if (state_ == State::kConnected) queueSmall(FrameType::kClose, ch);
}

void Mux::consumed(ChannelId ch, size_t n) {
  auto it = channels_.find(ch);
  if (it == channels_.end() || it->second.closedByUs || n == 0) return;
  Channel& c = it->second;
  c.uncredited += n;
  // Grant in batches so credit frames stay a small fraction of the traffic.
  if (c.uncredited >= limits_.window / 4 || c.recvAllowance == 0) {
    auto grant = static_cast<uint32_t>(std::min<uint64_t>(c.uncredited, limits_.window));
    c.recvAllowance += grant;
    c.uncredited -= grant;
    queueSmall(FrameType::kCredit, ch, encodeCredit(grant));
  }
}

Status Mux::sendControl(std::span<const uint8_t> message) {
  if (message.size() > kMaxPayload) {
    return Error(Errc::kInvalidArgument, "control message of " + std::to_string(message.size()) +
                                             " bytes exceeds the frame limit");
  }
  if (prio_.size() + message.size() > limits_.maxControlQueue) {
    return Error(Errc::kUnavailable, "control queue full: the peer is not reading");
  }
  queueSmall(FrameType::kData, kControlChannel, message);
  return ok();
}

void Mux::queueSmall(FrameType type, ChannelId ch, std::span<const uint8_t> payload) {
  appendFrame(prio_, static_cast<uint8_t>(version_), type, ch, payload);
}

void Mux::markReady(ChannelId ch, Channel& c) {
  if (c.inReady) return;
  c.inReady = true;
  ready_.push_back(ch);
}

void Mux::frameChannel(ChannelId ch, Channel& c) {
  size_t n = static_cast<size_t>(std::min<uint64_t>({c.pendingSize(), c.sendCredit, limits_.chunk}));
  if (n > 0) {
    appendFrame(out_, static_cast<uint8_t>(version_), FrameType::kData, ch,
                std::span(c.pending).subspan(c.pendingPos, n));
    c.pendingPos += n;
    c.sendCredit -= n;
    if (c.pendingSize() == 0) {
      c.pending.clear();
      c.pendingPos = 0;
    }
  }
  if (c.pendingSize() == 0 && c.eofQueued && !c.eofSent) {
    appendFrame(out_, static_cast<uint8_t>(version_), FrameType::kEof, ch, {});
    c.eofSent = true;
  }
}

void Mux::fillOutput() {
  if (state_ != State::kConnected) return;
  if (!prio_.empty()) {
    // Frames queued before the handshake finished carry version 0: stamp the real one.
    for (size_t at = 0; at + kHeaderSize <= prio_.size();) {
      prio_[at + 2] = static_cast<uint8_t>(version_);
      uint32_t len = (uint32_t{prio_[at + 8]} << 24) | (uint32_t{prio_[at + 9]} << 16) |
                     (uint32_t{prio_[at + 10]} << 8) | prio_[at + 11];
      at += kHeaderSize + len;
    }
    out_.insert(out_.end(), prio_.begin(), prio_.end());
    prio_.clear();
  }
  while (out_.size() - outPos_ < limits_.outputHighWater && !ready_.empty()) {
    ChannelId ch = ready_.front();
    ready_.pop_front();
    auto it = channels_.find(ch);
    if (it == channels_.end()) continue;
    Channel& c = it->second;
    c.inReady = false;
    if (c.closedByUs) continue;
    frameChannel(ch, c);
    if (c.pendingSize() > 0 && c.sendCredit > 0) markReady(ch, c);
  }
}

std::span<const uint8_t> Mux::output() {
  fillOutput();
  return std::span(out_).subspan(outPos_);
}

void Mux::consumeOutput(size_t n) {
  outPos_ = std::min(outPos_ + n, out_.size());
  if (outPos_ == out_.size()) {
    out_.clear();
    outPos_ = 0;
  } else if (outPos_ > (1 << 20)) {
    out_.erase(out_.begin(), out_.begin() + static_cast<long>(outPos_));
    outPos_ = 0;
  }
}

bool Mux::hasOutput() { return !output().empty(); }

}  // namespace vic::vsock
