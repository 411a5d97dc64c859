#include "runtime/portlayer/exec_registry.h"

#include <algorithm>
#include <vector>

namespace vic::pl {

void ExecRegistry::add(std::shared_ptr<ExecRecord> e) {
  std::vector<std::shared_ptr<ExecRecord>> idle;
  for (const auto& [id, r] : byId_) {
    if (r->container == e->container && !r->running) idle.push_back(r);
  }
  std::sort(idle.begin(), idle.end(), [](const auto& a, const auto& b) { return a->seq < b->seq; });
  for (size_t i = 0; i + maxIdle_ <= idle.size() && i < idle.size(); ++i) byId_.erase(idle[i]->id);
  e->seq = nextSeq_++;
  byId_[e->id] = std::move(e);
}

std::shared_ptr<ExecRecord> ExecRegistry::find(const std::string& id) const {
  auto it = byId_.find(id);
  return it == byId_.end() ? nullptr : it->second;
}

void ExecRegistry::forgetContainer(const std::string& container) {
  std::erase_if(byId_, [&](const auto& kv) { return kv.second->container == container; });
}

int dropOnDestroy(EventBus& bus, ExecRegistry& r) {
  return bus.subscribe([&r](const Event& e) {
    if (e.type == "container" && e.action == "destroy") r.forgetContainer(e.id);
  });
}

}  // namespace vic::pl
