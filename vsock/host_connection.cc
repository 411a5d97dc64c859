#include "vsock/host_connection.h"

#include <cstring>
#include <random>

#include "common/log.h"
#include "vsock/codec.h"

namespace vic::vsock {
namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::span<const uint8_t> bytesOf(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Result<asio::generic::stream_protocol::endpoint> toAsio(const Endpoint& ep) {
  auto addr = socketAddress(ep);
  if (!addr) return std::move(addr).error().wrap("the host cannot connect to " + ep.str());
  return asio::generic::stream_protocol::endpoint(addr->get(), addr->size, 0);
}

}  // namespace

asio::awaitable<void> Notifier::wait() {
  co_await timer_.async_wait(kNoThrow);
}

TetherConnection::TetherConnection(Socket socket, const ConnectOptions& opts)
    : socket_(std::move(socket)),
      mux_(Role::kHost, opts.limits),
      wantWrite_(socket_.get_executor()),
      connectedSig_(socket_.get_executor()) {}

asio::awaitable<Result<TetherConnection::Ptr>> TetherConnection::connect(Endpoint ep, ConnectOptions opts) {
  auto ex = co_await asio::this_coro::executor;
  auto addr = toAsio(ep);
  if (!addr) co_return std::move(addr).error();
  Socket sock(ex, asio::generic::stream_protocol(addr->protocol().family(), SOCK_STREAM));
  auto [ec] = co_await sock.async_connect(*addr, kNoThrow);
  if (ec) co_return Error(Errc::kUnavailable, "connecting to tether at " + ep.str() + ": " + ec.message());
  auto conn = co_await handshake(std::move(sock), opts);
  if (!conn) co_return std::move(conn).error().wrap("tether at " + ep.str());
  co_return conn;
}

asio::awaitable<Result<TetherConnection::Ptr>> TetherConnection::handshake(Socket socket, ConnectOptions opts) {
  auto ex = socket.get_executor();
  auto conn = std::make_shared<TetherConnection>(std::move(socket), opts);
  std::random_device rd;
  auto nonce = [&rd] { return (uint64_t{rd()} << 32) | rd(); };
  conn->mux_.startHandshake(nonce());
  asio::co_spawn(ex, conn->readLoop(conn), asio::detached);
  asio::co_spawn(ex, conn->writeLoop(conn), asio::detached);

  auto timedOut = std::make_shared<bool>(false);
  asio::steady_timer timer(ex, opts.handshakeTimeout);
  timer.async_wait([timedOut, conn](boost::system::error_code ec) {
    if (!ec) {
      *timedOut = true;
      conn->connectedSig_.notify();
    }
  });
  auto waiting = [&] { return !conn->connected_ && conn->alive_ && !*timedOut; };
  asio::steady_timer retry(ex);
  while (waiting()) {
    auto retryDue = std::make_shared<bool>(false);
    retry.expires_after(opts.handshakeRetry);
    retry.async_wait([retryDue, conn](boost::system::error_code ec) {
      if (ec) return;
      *retryDue = true;
      conn->connectedSig_.notify();
    });
    co_await conn->connectedSig_.wait();
    retry.cancel();
    if (waiting() && *retryDue && conn->mux_.retryHandshake(nonce())) {
      ++conn->helloRetries_;
      conn->wantWrite_.notify();
    }
  }
  retry.cancel();
  timer.cancel();
  if (conn->helloRetries_ > 0 && conn->connected_) {
    log::info("vsock", "tether answered after " + std::to_string(conn->helloRetries_) + " repeated hello(s)");
  }
  if (conn->connected_) co_return conn;
  std::string why = conn->alive_ ? "no handshake answer within " +
                                       std::to_string(opts.handshakeTimeout.count()) + " ms"
                                 : conn->error_;
  conn->shutdown();
  co_return Error(Errc::kUnavailable, "handshake failed: " + why);
}

asio::awaitable<void> TetherConnection::readLoop([[maybe_unused]] Ptr self) {
  std::vector<uint8_t> buf(64 * 1024);
  while (alive_) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), kNoThrow);
    if (ec) {
      die(ec == asio::error::eof ? "tether closed the connection" : "reading from tether: " + ec.message());
      co_return;
    }
    if (auto st = mux_.feed(std::span(buf.data(), n), *this); !st) {
      die(st.error().message());
      co_return;
    }
    wantWrite_.notify();
  }
}

asio::awaitable<void> TetherConnection::writeLoop([[maybe_unused]] Ptr self) {
  while (alive_) {
    // Only this loop calls output(), so the span stays valid across the write.
    auto out = mux_.output();
    if (out.empty()) {
      co_await wantWrite_.wait();
      continue;
    }
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(out.data(), out.size()), kNoThrow);
    if (ec) {
      die("writing to tether: " + ec.message());
      co_return;
    }
    mux_.consumeOutput(n);
  }
}

void TetherConnection::die(std::string why) {
  if (!alive_) return;
  alive_ = false;
  error_ = std::move(why);
  boost::system::error_code ignored;
  socket_.close(ignored);
  for (auto& [id, call] : calls_) {
    call->result = Error(Errc::kUnavailable, "tether connection lost: " + error_);
    call->done.notify();
  }
  calls_.clear();
  for (auto& [id, ch] : channels_) {
    ch->closed = true;
    ch->readable.notify();
    ch->writable.notify();
  }
  wantWrite_.notify();
  connectedSig_.notify();
}

bool TetherConnection::ended(ChannelId ch) const {
  auto it = channels_.find(ch);
  return it == channels_.end() || it->second->eof || it->second->closed;
}

void TetherConnection::shutdown() { die("connection shut down by the host"); }

// Not a coroutine: the request is encoded before the caller suspends, so no temporary of the
// caller's co_await expression has to live in a coroutine frame (g++ 12 mishandles that).
asio::awaitable<Result<ResultBody>> TetherConnection::call(const Request& req) {
  if (!alive_) return ready(Error(Errc::kUnavailable, "tether connection lost: " + error_));
  uint64_t id = nextId_++;
  auto text = encode(RequestMsg{id, req});
  if (auto st = mux_.sendControl(bytesOf(text)); !st) {
    return ready(std::move(st).error().wrap(std::string(requestName(req))));
  }
  auto pending = std::make_shared<PendingCall>(socket_.get_executor());
  calls_[id] = pending;
  wantWrite_.notify();
  return awaitResponse(std::move(pending));
}

asio::awaitable<Result<ResultBody>> TetherConnection::awaitResponse(std::shared_ptr<PendingCall> pending) {
  while (!pending->result) co_await pending->done.wait();
  co_return std::move(*pending->result);
}

asio::awaitable<Result<ResultBody>> TetherConnection::ready(Error e) { co_return std::move(e); }

Result<ChannelId> TetherConnection::openChannel() {
  ChannelId ch = nextChannel_++;
  if (auto st = mux_.open(ch); !st) return std::move(st).error();
  channels_[ch] = std::make_shared<ChannelState>(socket_.get_executor());
  return ch;
}

asio::awaitable<Result<size_t>> TetherConnection::read(ChannelId ch, std::span<uint8_t> buf) {
  auto it = channels_.find(ch);
  if (it == channels_.end()) co_return Error(Errc::kNotFound, "channel " + std::to_string(ch) + " is not open");
  auto c = it->second;
  while (c->in.size() == c->inPos) {
    if (c->eof) co_return size_t{0};
    if (c->closed) co_return Error(Errc::kUnavailable, "channel " + std::to_string(ch) + " closed: " + error_);
    co_await c->readable.wait();
  }
  size_t n = std::min(buf.size(), c->in.size() - c->inPos);
  std::memcpy(buf.data(), c->in.data() + c->inPos, n);
  c->inPos += n;
  if (c->inPos == c->in.size()) {
    c->in.clear();
    c->inPos = 0;
  }
  mux_.consumed(ch, n);
  wantWrite_.notify();
  co_return n;
}

asio::awaitable<Status> TetherConnection::write(ChannelId ch, std::span<const uint8_t> data) {
  auto it = channels_.find(ch);
  if (it == channels_.end()) co_return Error(Errc::kNotFound, "channel " + std::to_string(ch) + " is not open");
  auto c = it->second;
  while (!data.empty()) {
    if (c->closed || !mux_.isOpen(ch)) {
      co_return Error(Errc::kUnavailable, "channel " + std::to_string(ch) + " closed" +
                                              (error_.empty() ? "" : ": " + error_));
    }
    size_t n = mux_.send(ch, data);
    if (n > 0) {
      data = data.subspan(n);
      wantWrite_.notify();
      continue;
    }
    co_await c->writable.wait();
  }
  co_return ok();
}

void TetherConnection::closeWrite(ChannelId ch) {
  mux_.sendEof(ch);
  wantWrite_.notify();
}

void TetherConnection::close(ChannelId ch) {
  mux_.close(ch);
  if (auto it = channels_.find(ch); it != channels_.end()) {
    it->second->closed = true;
    it->second->readable.notify();
    it->second->writable.notify();
    channels_.erase(it);
  }
  wantWrite_.notify();
}

void TetherConnection::onConnected(uint16_t) {
  connected_ = true;
  connectedSig_.notify();
}

void TetherConnection::onControl(std::span<const uint8_t> message) {
  auto msg = decode(message);
  if (!msg || !std::holds_alternative<ResponseMsg>(*msg)) {
    log::warn("tether", "ignoring control message from tether: " +
                            (msg ? std::string("not a response") : msg.error().message()));
    return;
  }
  auto& resp = std::get<ResponseMsg>(*msg);
  auto it = calls_.find(resp.id);
  if (it == calls_.end()) {
    log::warn("tether", "response to unknown request " + std::to_string(resp.id));
    return;
  }
  auto call = it->second;
  calls_.erase(it);
  if (resp.error) {
    call->result = std::move(*resp.error);
  } else {
    call->result = std::move(resp.body);
  }
  call->done.notify();
}

void TetherConnection::onData(ChannelId ch, std::span<const uint8_t> data) {
  auto it = channels_.find(ch);
  if (it == channels_.end()) return;  // closed locally; the mux discards the rest
  it->second->in.insert(it->second->in.end(), data.begin(), data.end());
  it->second->readable.notify();
}

void TetherConnection::onEof(ChannelId ch) {
  if (auto it = channels_.find(ch); it != channels_.end()) {
    it->second->eof = true;
    it->second->readable.notify();
  }
}

void TetherConnection::onClosed(ChannelId ch) {
  if (auto it = channels_.find(ch); it != channels_.end()) {
    it->second->closed = true;
    it->second->readable.notify();
    it->second->writable.notify();
  }
}

void TetherConnection::onWritable(ChannelId ch) {
  if (auto it = channels_.find(ch); it != channels_.end()) it->second->writable.notify();
}

}  // namespace vic::vsock
