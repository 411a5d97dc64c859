// An in-memory Stream for tests and fuzzing: reads return scripted pieces, each after an
// optional pause; then end of stream, or (holdOpen) a read that waits until close().
// Writes are collected.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "runtime/docker/http.h"

namespace vic::docker {

class ScriptedStream : public Stream {
 public:
  struct Piece {
    std::string bytes;
    std::chrono::milliseconds pause{0};
  };
  ScriptedStream(asio::any_io_executor ex, std::vector<Piece> pieces, bool holdOpen = false)
      : timer_(std::move(ex)), pieces_(std::move(pieces)), holdOpen_(holdOpen) {}

  asio::awaitable<size_t> readSome(asio::mutable_buffer buf) override {
    if (next_ >= pieces_.size()) {
      if (holdOpen_ && !closed_) co_await sleep(std::chrono::hours(24));
      co_return 0;
    }
    if (pieces_[next_].pause.count() > 0 && offset_ == 0) co_await sleep(pieces_[next_].pause);
    if (closed_) co_return 0;
    const std::string& p = pieces_[next_].bytes;
    size_t n = std::min(buf.size(), p.size() - offset_);
    std::copy_n(p.data() + offset_, n, static_cast<char*>(buf.data()));
    offset_ += n;
    if (offset_ == p.size()) {
      ++next_;
      offset_ = 0;
    }
    co_return n;
  }
  asio::awaitable<bool> writeAll(std::string_view data) override {
    written += data;
    co_return !closed_;
  }
  void shutdownSend() override {}
  void close() override {
    closed_ = true;
    timer_.cancel();
  }
  bool closed() const { return closed_; }
  bool drained() const { return next_ >= pieces_.size(); }  // every scripted byte was read
  std::string written;

 private:
  asio::awaitable<void> sleep(std::chrono::steady_clock::duration d) {
    timer_.expires_after(d);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  asio::steady_timer timer_;
  std::vector<Piece> pieces_;
  size_t next_ = 0, offset_ = 0;
  bool holdOpen_;
  bool closed_ = false;
};

}  // namespace vic::docker
