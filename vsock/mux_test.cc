#include "vsock/mux.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace vic::vsock {
namespace {

struct Recorder : MuxHandler {
  std::vector<std::string> control;
  std::map<ChannelId, std::string> data;
  std::vector<ChannelId> eofs, closed, writable;
  int connects = 0;
  bool autoConsume = true;
  Mux* mux = nullptr;

  void onConnected(uint16_t) override { ++connects; }
  void onControl(std::span<const uint8_t> m) override { control.emplace_back(m.begin(), m.end()); }
  void onData(ChannelId ch, std::span<const uint8_t> d) override {
    data[ch].append(d.begin(), d.end());
    if (autoConsume) mux->consumed(ch, d.size());
  }
  void onEof(ChannelId ch) override { eofs.push_back(ch); }
  void onClosed(ChannelId ch) override { closed.push_back(ch); }
  void onWritable(ChannelId ch) override { writable.push_back(ch); }
};

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A host and a guest mux joined by an in-memory "wire" with configurable read sizes.
struct Pair {
  Mux host{Role::kHost}, guest{Role::kGuest};
  Recorder hostRec, guestRec;
  size_t maxRead = SIZE_MAX;
  std::mt19937 rng{42};
  bool randomSplit = false;

  explicit Pair(MuxLimits limits = {}) : host(Role::kHost, limits), guest(Role::kGuest, limits) {
    hostRec.mux = &host;
    guestRec.mux = &guest;
  }

  // Moves output from `from` into `to` in pieces; returns bytes moved.
  size_t move(Mux& from, Mux& to, Recorder& rec) {
    size_t total = 0;
    while (true) {
      auto out = from.output();
      if (out.empty()) break;
      size_t n = std::min(out.size(), maxRead);
      if (randomSplit) n = std::min(out.size(), size_t{1} + rng() % 300);
      std::vector<uint8_t> piece(out.begin(), out.begin() + static_cast<long>(n));
      from.consumeOutput(n);
      EXPECT_TRUE(to.feed(piece, rec)) << "feed failed";
      total += n;
    }
    return total;
  }

  void pump() {
    while (move(host, guest, guestRec) + move(guest, host, hostRec) > 0) {}
  }

  void connect(uint64_t nonce = 7) {
    host.startHandshake(nonce);
    pump();
    ASSERT_TRUE(host.connected());
    ASSERT_TRUE(guest.connected());
  }

  void openBoth(ChannelId ch) {
    ASSERT_TRUE(host.open(ch));
    ASSERT_TRUE(guest.open(ch));
  }
};

TEST(Mux, HandshakeConnectsBothSides) {
  Pair p;
  EXPECT_FALSE(p.host.connected());
  p.connect();
  EXPECT_EQ(p.host.version(), 1);
  EXPECT_EQ(p.hostRec.connects, 1);
  EXPECT_EQ(p.guestRec.connects, 1);
}

TEST(Mux, ControlMessagesBothWays) {
  Pair p;
  p.connect();
  ASSERT_TRUE(p.host.sendControl(bytes("{\"ping\":1}")));
  ASSERT_TRUE(p.guest.sendControl(bytes("{\"pong\":1}")));
  p.pump();
  EXPECT_EQ(p.guestRec.control, std::vector<std::string>{"{\"ping\":1}"});
  EXPECT_EQ(p.hostRec.control, std::vector<std::string>{"{\"pong\":1}"});
}

TEST(Mux, ControlQueuedBeforeHandshakeIsSentAfter) {
  Pair p;
  p.host.startHandshake(9);
  ASSERT_TRUE(p.host.sendControl(bytes("early")));
  p.pump();
  EXPECT_EQ(p.guestRec.control, std::vector<std::string>{"early"});
}

TEST(Mux, ReassemblyAcrossArbitraryReadBoundaries) {
  for (size_t split : {size_t{1}, size_t{3}, size_t{11}, size_t{12}, size_t{13}, size_t{4097}}) {
    Pair p;
    p.maxRead = split;
    p.connect();
    p.openBoth(5);
    std::string payload(200000, '\0');
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 31 + 7);
    size_t sent = 0;
    while (sent < payload.size()) {
      sent += p.host.send(5, bytes(payload).subspan(sent));
      p.pump();
    }
    EXPECT_EQ(p.guestRec.data[5], payload) << "split " << split;
  }
}

TEST(Mux, RandomSplitsManyChannelsAndControl) {
  Pair p;
  p.randomSplit = true;
  p.connect();
  std::map<ChannelId, std::string> want;
  for (ChannelId ch = 1; ch <= 64; ++ch) {
    p.openBoth(ch);
    want[ch] = std::string(1000 + ch * 97, static_cast<char>('a' + ch % 26));
  }
  std::map<ChannelId, size_t> offset;
  bool more = true;
  for (int round = 0; more; ++round) {
    more = false;
    for (auto& [ch, s] : want) {
      offset[ch] += p.guest.send(ch, bytes(s).subspan(offset[ch]));
      if (offset[ch] < s.size()) more = true;
    }
    ASSERT_TRUE(p.guest.sendControl(bytes("round " + std::to_string(round))));
    p.pump();
  }
  for (auto& [ch, s] : want) EXPECT_EQ(p.hostRec.data[ch], s) << "channel " << ch;
  EXPECT_EQ(p.hostRec.control.front(), "round 0");
}

TEST(Mux, CreditExhaustionStallsOnlyThatChannel) {
  MuxLimits limits;
  limits.window = 64 * 1024;
  Pair p(limits);
  p.connect();
  p.openBoth(1);
  p.openBoth(2);
  p.hostRec.autoConsume = false;  // the host app stops reading channel 1 (stalled attach client)
  std::string big(limits.window * 3, 'x');
  size_t sent1 = p.guest.send(1, bytes(big));
  EXPECT_EQ(sent1, limits.window);         // accepts exactly one window
  EXPECT_EQ(p.guest.writable(1), 0u);
  p.pump();
  EXPECT_EQ(p.hostRec.data[1].size(), limits.window);
  EXPECT_EQ(p.guest.send(1, bytes(big)), 0u);  // still stalled

  // Channel 2 and the control channel keep flowing while channel 1 is stalled.
  size_t sent2 = 0;
  for (int i = 0; i < 10 && sent2 < big.size(); ++i) {
    sent2 += p.guest.send(2, bytes(big).subspan(sent2));
    if (!p.hostRec.data[2].empty()) p.host.consumed(2, p.hostRec.data[2].size() - 0);
    p.hostRec.data[2].clear();
    p.pump();
  }
  EXPECT_EQ(sent2, big.size());
  ASSERT_TRUE(p.guest.sendControl(bytes("still alive")));
  p.pump();
  EXPECT_EQ(p.hostRec.control.back(), "still alive");

  // Release: the host consumes channel 1's data, credit flows back, more is accepted.
  p.host.consumed(1, limits.window);
  p.pump();
  EXPECT_EQ(p.guest.writable(1), limits.window);
  EXPECT_NE(std::find(p.guestRec.writable.begin(), p.guestRec.writable.end(), 1u),
            p.guestRec.writable.end());
}

TEST(Mux, PeerOverrunningTheWindowIsAProtocolError) {
  Pair p;
  p.connect();
  p.openBoth(3);
  std::vector<uint8_t> raw;
  std::vector<uint8_t> chunk(kMaxPayload, 'z');
  for (int i = 0; i < 5; ++i) appendFrame(raw, 1, FrameType::kData, 3, chunk);  // 320 KiB > 256 KiB
  p.hostRec.autoConsume = false;
  auto st = p.host.feed(raw, p.hostRec);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Errc::kProtocol);
  EXPECT_EQ(st.error().message(), "data on channel 3 exceeds the credit window");
  EXPECT_FALSE(p.host.feed(std::vector<uint8_t>{1}, p.hostRec));  // stays failed
}

TEST(Mux, EofAfterQueuedDataThenCloseFromGuest) {
  Pair p;
  p.connect();
  p.openBoth(4);
  p.guest.send(4, bytes("last words"));
  p.guest.sendEof(4);
  EXPECT_EQ(p.guest.send(4, bytes("more")), 0u);  // nothing after eof
  p.pump();
  EXPECT_EQ(p.hostRec.data[4], "last words");
  EXPECT_EQ(p.hostRec.eofs, std::vector<ChannelId>{4});
  // host closes after reading everything; guest learns and both forget the channel
  p.host.close(4);
  p.pump();
  EXPECT_EQ(p.guestRec.closed, std::vector<ChannelId>{4});
  EXPECT_FALSE(p.guest.isOpen(4));
  EXPECT_EQ(p.host.channelCount(), 0u);
  EXPECT_EQ(p.guest.channelCount(), 0u);
}

TEST(Mux, CloseFromHostDropsQueuedGuestDataAndInFlightFramesAreIgnored) {
  Pair p;
  p.connect();
  p.openBoth(6);
  p.guest.send(6, bytes("in flight"));
  auto guestOut = std::vector<uint8_t>(p.guest.output().begin(), p.guest.output().end());
  p.guest.consumeOutput(guestOut.size());
  p.host.close(6);  // host closes while the guest's data is on the wire
  ASSERT_TRUE(p.host.feed(guestOut, p.hostRec));
  EXPECT_TRUE(p.hostRec.data[6].empty());  // discarded, not an error
  p.pump();
  EXPECT_EQ(p.guestRec.closed, std::vector<ChannelId>{6});
  EXPECT_EQ(p.guest.channelCount(), 0u);
  EXPECT_EQ(p.host.channelCount(), 0u);
}

TEST(Mux, FramesForUnknownChannelsAndOutOfOrderFramesAreErrors) {
  Pair p;
  p.connect();
  std::vector<uint8_t> raw;
  appendFrame(raw, 1, FrameType::kData, 99, bytes("x"));
  auto st = p.guest.feed(raw, p.guestRec);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "data on channel 99, which is not open");

  Pair q;
  q.connect();
  q.openBoth(2);
  raw.clear();
  appendFrame(raw, 1, FrameType::kEof, 2, {});
  appendFrame(raw, 1, FrameType::kData, 2, bytes("late"));
  st = q.host.feed(raw, q.hostRec);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "data on channel 2 after eof");

  Pair r;
  r.connect();
  raw.clear();
  appendFrame(raw, 1, FrameType::kHelloAck, 0, encodeHelloAck({1, 7, 1}));
  EXPECT_EQ(r.host.feed(raw, r.hostRec).error().message(),
            "unexpected hello-ack on an established connection");
}

TEST(Mux, GuestDiscardsGarbageBeforeHello) {
  Pair p;
  p.host.startHandshake(1234);
  std::vector<uint8_t> wire = {0x76, 0x54, 0x01, 0x03, 0xff, 0x00, 0x76};  // stale partial frame
  auto hello = p.host.output();
  wire.insert(wire.end(), hello.begin(), hello.end());
  p.host.consumeOutput(hello.size());
  ASSERT_TRUE(p.guest.feed(wire, p.guestRec));
  EXPECT_TRUE(p.guest.connected());
  EXPECT_EQ(p.guest.discardedWhileHunting(), 7u);
}

TEST(Mux, HostReconnectMidStreamResynchronises) {
  Pair p;
  p.connect(1);
  p.openBoth(1);
  std::string big(100000, 'q');
  p.guest.send(1, bytes(big));
  // The host goes away after reading part of a frame; the guest keeps its session.
  auto out = p.guest.output();
  std::vector<uint8_t> partial(out.begin(), out.begin() + 5000);
  p.guest.consumeOutput(5000);
  ASSERT_TRUE(p.host.feed(partial, p.hostRec));

  // New host process: fresh mux, new nonce. The guest still has stale bytes queued, and the
  // host's hunt must skip them; the guest sees a hello in the middle of a frame it was reading.
  Mux newHost(Role::kHost);
  Recorder newRec;
  newRec.mux = &newHost;
  newHost.startHandshake(2);
  std::vector<uint8_t> toGuest(newHost.output().begin(), newHost.output().end());
  newHost.consumeOutput(toGuest.size());
  p.guest.reset();  // the guest's transport reported the disconnect (virtio-serial HUP)
  ASSERT_TRUE(p.guest.feed(toGuest, p.guestRec));
  EXPECT_TRUE(p.guest.connected());
  std::vector<uint8_t> stale(partial.begin() + 100, partial.end());  // leftovers of the old stream
  auto ack = p.guest.output();
  stale.insert(stale.end(), ack.begin(), ack.end());
  p.guest.consumeOutput(ack.size());
  ASSERT_TRUE(newHost.feed(stale, newRec));
  EXPECT_TRUE(newHost.connected());
  EXPECT_EQ(newRec.connects, 1);
  // Channels of the old connection are gone; new ones work.
  EXPECT_EQ(p.guest.channelCount(), 0u);
  ASSERT_TRUE(newHost.open(9));
  ASSERT_TRUE(p.guest.open(9));
  newHost.send(9, bytes("after reconnect"));
  std::vector<uint8_t> w(newHost.output().begin(), newHost.output().end());
  ASSERT_TRUE(p.guest.feed(w, p.guestRec));
  EXPECT_EQ(p.guestRec.data[9], "after reconnect");
}

TEST(Mux, HelloWhileConnectedRestartsTheConnection) {
  Pair p;
  p.connect(1);
  p.openBoth(3);
  Mux other(Role::kHost);
  other.startHandshake(77);
  std::vector<uint8_t> hello(other.output().begin(), other.output().end());
  ASSERT_TRUE(p.guest.feed(hello, p.guestRec));
  EXPECT_EQ(p.guestRec.closed, std::vector<ChannelId>{3});
  EXPECT_EQ(p.guestRec.connects, 2);
}

TEST(Mux, HostIgnoresAckWithWrongNonce) {
  Mux host(Role::kHost);
  Recorder rec;
  rec.mux = &host;
  host.startHandshake(5);
  std::vector<uint8_t> fake;
  appendFrame(fake, 1, FrameType::kHelloAck, 0, encodeHelloAck({1, 6, 1000}));
  ASSERT_TRUE(host.feed(fake, rec));
  EXPECT_FALSE(host.connected());
  std::vector<uint8_t> real;
  appendFrame(real, 1, FrameType::kHelloAck, 0, encodeHelloAck({1, 5, 1000}));
  ASSERT_TRUE(host.feed(real, rec));
  EXPECT_TRUE(host.connected());
}

// The guest's ack of the first Hello is lost (tether dropped that connection); the host's
// repeated Hello, with a new nonce, connects, and a stale ack of the first is not taken for it.
TEST(Mux, ARepeatedHelloConnectsOnItsOwnNonceOnly) {
  Pair p;
  p.host.startHandshake(1);
  EXPECT_FALSE(p.host.retryHandshake(2)) << "the first hello is not written out yet";
  std::vector<uint8_t> hello1(p.host.output().begin(), p.host.output().end());
  p.host.consumeOutput(hello1.size());
  ASSERT_TRUE(p.guest.feed(hello1, p.guestRec));
  std::vector<uint8_t> ack1(p.guest.output().begin(), p.guest.output().end());
  p.guest.consumeOutput(ack1.size());  // lost on the way
  ASSERT_TRUE(p.host.retryHandshake(2));
  std::vector<uint8_t> hello2(p.host.output().begin(), p.host.output().end());
  p.host.consumeOutput(hello2.size());
  ASSERT_TRUE(p.guest.feed(hello2, p.guestRec));
  EXPECT_EQ(p.guestRec.connects, 2);
  ASSERT_TRUE(p.host.feed(ack1, p.hostRec));  // a late copy of the stale ack
  EXPECT_FALSE(p.host.connected());
  p.pump();
  EXPECT_TRUE(p.host.connected());
  EXPECT_EQ(p.hostRec.connects, 1);
  EXPECT_FALSE(p.host.retryHandshake(3)) << "no hello once connected";
  // and the connection works
  ASSERT_TRUE(p.host.sendControl(bytes("{\"ping\":1}")));
  p.pump();
  EXPECT_EQ(p.guestRec.control, std::vector<std::string>{"{\"ping\":1}"});
}

TEST(Mux, IncompatibleVersionIsRefusedWithAClearError) {
  Mux guest(Role::kGuest);
  Recorder rec;
  rec.mux = &guest;
  std::vector<uint8_t> hello;
  appendFrame(hello, 1, FrameType::kHello, 0, encodeHello({5, 6, 1, 1000}));
  auto st = guest.feed(hello, rec);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "host speaks protocol versions 5-6, tether 1-1");
  // the refusal (version 0) is still sent so the host can report it
  Mux host(Role::kHost);
  Recorder hrec;
  hrec.mux = &host;
  host.startHandshake(1);
  std::vector<uint8_t> ack(guest.output().begin(), guest.output().end());
  auto hst = host.feed(ack, hrec);
  ASSERT_FALSE(hst);
  EXPECT_NE(hst.error().message().find("no common protocol version"), std::string::npos);
}

TEST(Mux, RoundRobinIsFairAcrossBusyChannels) {
  MuxLimits limits;
  limits.outputHighWater = 64 * 1024;
  Pair p(limits);
  p.connect();
  for (ChannelId ch = 1; ch <= 8; ++ch) p.openBoth(ch);
  std::string chunk(256 * 1024, 'f');
  for (ChannelId ch = 1; ch <= 8; ++ch) p.guest.send(ch, bytes(chunk));
  // Drain one high-water's worth at a time and check no channel runs ahead.
  for (int i = 0; i < 16; ++i) {
    auto out = p.guest.output();
    std::vector<uint8_t> piece(out.begin(), out.end());
    p.guest.consumeOutput(piece.size());
    ASSERT_TRUE(p.host.feed(piece, p.hostRec));
  }
  size_t lo = SIZE_MAX, hi = 0;
  for (ChannelId ch = 1; ch <= 8; ++ch) {
    lo = std::min(lo, p.hostRec.data[ch].size());
    hi = std::max(hi, p.hostRec.data[ch].size());
  }
  EXPECT_GT(lo, 0u);
  EXPECT_LE(hi - lo, size_t{kMaxPayload});
}

TEST(Mux, ChannelLimitIsEnforced) {
  MuxLimits limits;
  limits.maxChannels = 3;
  Pair p(limits);
  p.connect();
  for (ChannelId ch = 1; ch <= 3; ++ch) ASSERT_TRUE(p.host.open(ch));
  auto st = p.host.open(4);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Errc::kConflict);
  EXPECT_FALSE(p.host.open(1));
  EXPECT_FALSE(p.host.open(0));
}

}  // namespace
}  // namespace vic::vsock
