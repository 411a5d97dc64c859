// The accept loop of an API listener. A failed accept never ends it: running out of
// descriptors (EMFILE after many silent connections) or a connection reset before it was
// taken used to stop the API for good, before any client was authenticated.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <string>

#include "common/log.h"

namespace vic::docker {

namespace asio = boost::asio;

// Accepts until the acceptor is closed, handing each socket to `onSocket`. After a failed
// accept it waits `backoff` (so EMFILE, which repeats until a descriptor frees, does not
// spin) and tries again; each episode of failures is logged once.
template <class Acceptor, class OnSocket>
asio::awaitable<void> acceptLoop(Acceptor& a, OnSocket onSocket,
                                 std::chrono::milliseconds backoff = std::chrono::milliseconds(100)) {
  bool failing = false;
  while (a.is_open()) {
    auto [ec, s] = co_await a.async_accept(asio::as_tuple(asio::use_awaitable));
    if (!ec) {
      if (failing) log::info("api", "accepting connections again");
      failing = false;
      onSocket(std::move(s));
      continue;
    }
    if (ec == asio::error::operation_aborted || !a.is_open()) co_return;
    if (!failing) log::warn("api", "accepting a connection: " + ec.message() + "; retrying every " + std::to_string(backoff.count()) + " ms");
    failing = true;
    asio::steady_timer pause(a.get_executor(), backoff);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace vic::docker
