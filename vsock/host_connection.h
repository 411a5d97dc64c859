// TetherConnection: the host end of the tether channel on Boost.Asio coroutines.
// One connection per containerVM; requests on the control channel, stdio and file streams
// on data channels with credit flow control. All members must be used from the executor
// the connection was created on (one thread, or a strand).
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <unordered_map>

#include "vsock/messages.h"
#include "vsock/mux.h"
#include "vsock/transport.h"

namespace vic::vsock {

namespace asio = boost::asio;

// A level-triggered wakeup between coroutines on one executor: waiters re-check their
// condition after every wake, so a notify with nobody waiting is harmless.
class Notifier {
 public:
  explicit Notifier(const asio::any_io_executor& ex)
      : timer_(ex, asio::steady_timer::time_point::max()) {}
  void notify() { timer_.cancel(); }
  asio::awaitable<void> wait();

 private:
  asio::steady_timer timer_;
};

struct ConnectOptions {
  std::chrono::milliseconds handshakeTimeout{10000};
  // Without an answer, the Hello is sent again (new nonce) this often (Mux::retryHandshake).
  std::chrono::milliseconds handshakeRetry{1500};
  MuxLimits limits;
};

class TetherConnection : public std::enable_shared_from_this<TetherConnection>, MuxHandler {
 public:
  using Ptr = std::shared_ptr<TetherConnection>;
  using Socket = asio::generic::stream_protocol::socket;

  static asio::awaitable<Result<Ptr>> connect(Endpoint ep, ConnectOptions opts = {});
  static asio::awaitable<Result<Ptr>> handshake(Socket socket, ConnectOptions opts = {});

  asio::awaitable<Result<ResultBody>> call(const Request& req);

  Result<ChannelId> openChannel();
  asio::awaitable<Result<size_t>> read(ChannelId ch, std::span<uint8_t> buf);  // 0 at end of stream
  asio::awaitable<Status> write(ChannelId ch, std::span<const uint8_t> data);  // waits for credit
  void closeWrite(ChannelId ch);  // end of stream from our side (stdin EOF)
  void close(ChannelId ch);       // done in both directions
  bool ended(ChannelId ch) const;  // its end of stream came (or it is closed, or not open)

  void shutdown();
  bool alive() const { return alive_; }
  const std::string& lastError() const { return error_; }
  uint16_t version() const { return mux_.version(); }

  TetherConnection(Socket socket, const ConnectOptions& opts);  // use connect()/handshake()

 private:
  struct PendingCall {
    explicit PendingCall(const asio::any_io_executor& ex) : done(ex) {}
    std::optional<Result<ResultBody>> result;
    Notifier done;
  };
  struct ChannelState {
    explicit ChannelState(const asio::any_io_executor& ex) : readable(ex), writable(ex) {}
    std::vector<uint8_t> in;
    size_t inPos = 0;
    bool eof = false, closed = false;
    Notifier readable, writable;
  };

  static asio::awaitable<Result<ResultBody>> awaitResponse(std::shared_ptr<PendingCall> pending);
  static asio::awaitable<Result<ResultBody>> ready(Error e);
  asio::awaitable<void> readLoop(Ptr self);
  asio::awaitable<void> writeLoop(Ptr self);
  void die(std::string why);

  void onConnected(uint16_t version) override;
  void onControl(std::span<const uint8_t> message) override;
  void onData(ChannelId ch, std::span<const uint8_t> data) override;
  void onEof(ChannelId ch) override;
  void onClosed(ChannelId ch) override;
  void onWritable(ChannelId ch) override;

  Socket socket_;
  Mux mux_;
  Notifier wantWrite_, connectedSig_;
  bool alive_ = true;
  int helloRetries_ = 0;  // Hellos sent again during the handshake
  bool connected_ = false;
  std::string error_;
  uint64_t nextId_ = 1;
  ChannelId nextChannel_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<PendingCall>> calls_;
  std::unordered_map<ChannelId, std::shared_ptr<ChannelState>> channels_;
};

}  // namespace vic::vsock
