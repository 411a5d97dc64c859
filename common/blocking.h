// The one way blocking work (libvirt calls, disk tools, tar files) leaves the I/O thread:
// `co_await pool.run(f)` runs f on a worker and resumes the coroutine on its own executor.
// The I/O thread marks itself with IoThreadScope; code that blocks calls
// `requireOffIoThread(what)` first, which aborts with a message when it runs on that thread,
// so a blocking call that slipped back onto the I/O thread fails every test that reaches it.
#pragma once

#include <boost/asio.hpp>
#include <optional>
#include <type_traits>
#include <utility>

#include "common/io_thread.h"

namespace vic {

class BlockingPool {
 public:
  explicit BlockingPool(size_t threads = 2) : pool_(threads) {}
  ~BlockingPool() { join(); }
  void join() { pool_.join(); }  // waits for the work queued so far
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F>> run(F f) {
    using R = std::invoke_result_t<F>;
    if constexpr (std::is_void_v<R>) {
      auto task = [f = std::move(f)]() mutable -> boost::asio::awaitable<void> {
        f();
        co_return;
      };
      co_await boost::asio::co_spawn(pool_.get_executor(), std::move(task), boost::asio::use_awaitable);
    } else {
      auto out = std::make_shared<std::optional<R>>();
      auto task = [f = std::move(f), out]() mutable -> boost::asio::awaitable<void> {
        out->emplace(f());
        co_return;
      };
      co_await boost::asio::co_spawn(pool_.get_executor(), std::move(task), boost::asio::use_awaitable);
      co_return std::move(**out);
    }
  }

  boost::asio::any_io_executor executor() { return pool_.get_executor(); }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace vic
