#include "runtime/portlayer/events.h"

#include <chrono>

namespace vic::pl {

void EventBus::publish(Event e) {
  e.seq = ++seq_;
  if (e.timeNs == 0) e.timeNs = nowNs();
  history_.push_back(std::move(e));
  while (history_.size() > kKeep) history_.pop_front();
  changed_.notify();
  auto listeners = listeners_;  // a listener may unsubscribe while it runs
  for (const auto& [id, l] : listeners) l(history_.back());
}

int EventBus::subscribe(Listener l) {
  listeners_[nextListener_] = std::move(l);
  return nextListener_++;
}

void EventBus::unsubscribe(int id) { listeners_.erase(id); }

void publishContainerEvent(EventBus& bus, const std::string& id, const std::string& name, const std::string& image,
                           std::string action, std::map<std::string, std::string> extra) {
  extra["name"] = name;
  extra["image"] = image;
  bus.publish({"container", std::move(action), id, std::move(extra), nowNs(), 0});
}

std::deque<Event> EventBus::since(uint64_t after) const {
  std::deque<Event> out;
  for (const auto& e : history_) {
    if (e.seq > after) out.push_back(e);
  }
  return out;
}

}  // namespace vic::pl
