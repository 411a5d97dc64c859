// The event stream behind `docker events`: lifecycle events with a bounded history, so a
// subscriber can ask for events since a time and then follow new ones.
#pragma once

#include <boost/asio.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/time.h"
#include "vsock/host_connection.h"

namespace vic::pl {

struct Event {
  std::string type = "container";  // container, image
  std::string action;              // create, start, die, stop, kill, destroy, rename, attach, pull, tag, delete
  std::string id;
  std::map<std::string, std::string> attributes;  // name, image, exitCode, signal
  int64_t timeNs = 0;
  uint64_t seq = 0;
};

class EventBus {
 public:
  explicit EventBus(const boost::asio::any_io_executor& ex) : changed_(ex) {}
  void publish(Event e);
  // Events with seq > after (all kept ones for after = 0).
  std::deque<Event> since(uint64_t after) const;
  uint64_t lastSeq() const { return seq_; }
  boost::asio::awaitable<void> next() { co_await changed_.wait(); }  // wakes on any publish
  // Listeners run inside publish, in subscription order, after the event is recorded.
  using Listener = std::function<void(const Event&)>;
  int subscribe(Listener l);
  void unsubscribe(int id);

 private:
  std::deque<Event> history_;
  uint64_t seq_ = 0;
  vsock::Notifier changed_;
  std::map<int, Listener> listeners_;
  int nextListener_ = 0;
  static constexpr size_t kKeep = 1024;
};

using vic::nowNs;  // common/time.h; callers say pl::nowNs()

// docker's container events carry the container's name and image; exec events add their own.
void publishContainerEvent(EventBus& bus, const std::string& id, const std::string& name, const std::string& image,
                           std::string action, std::map<std::string, std::string> extra = {});

}  // namespace vic::pl
