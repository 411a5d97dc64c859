#include "runtime/portlayer/events.h"

#include <chrono>

namespace vic::pl {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void EventBus::publish(Event e) {
  e.seq = ++seq_;
  if (e.timeNs == 0) e.timeNs = nowNs();
  history_.push_back(std::move(e));
  while (history_.size() > kKeep) history_.pop_front();
  changed_.notify();
}

std::deque<Event> EventBus::since(uint64_t after) const {
  std::deque<Event> out;
  for (const auto& e : history_) {
    if (e.seq > after) out.push_back(e);
  }
  return out;
}

}  // namespace vic::pl
