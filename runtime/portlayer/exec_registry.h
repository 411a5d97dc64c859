// The exec instances docker exec creates until their container goes: a container's records
// are dropped when it is destroyed (dropOnDestroy), and it keeps at most a bounded number that
// are not running (finished, or created and never started), oldest dropped first.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "runtime/portlayer/events.h"
#include "runtime/portlayer/exec_spec.h"

namespace vic::pl {

struct ExecRecord {
  std::string id, container;
  ExecSpec spec;
  bool running = false, started = false;
  int exitCode = 0;
  uint64_t seq = 0;  // creation order, set by the registry
};

class ExecRegistry {
 public:
  static constexpr size_t kMaxIdlePerContainer = 64;
  explicit ExecRegistry(size_t maxIdlePerContainer = kMaxIdlePerContainer) : maxIdle_(maxIdlePerContainer) {}

  // Adds `e`, first dropping its container's oldest records that are not running so that
  // `e` makes at most maxIdlePerContainer of them.
  void add(std::shared_ptr<ExecRecord> e);
  std::shared_ptr<ExecRecord> find(const std::string& id) const;  // nullptr when unknown
  void forgetContainer(const std::string& container);
  size_t size() const { return byId_.size(); }

 private:
  size_t maxIdle_;
  uint64_t nextSeq_ = 0;
  std::map<std::string, std::shared_ptr<ExecRecord>> byId_;
};

// Subscribes `r` to the bus's container "destroy" events; returns the subscription.
int dropOnDestroy(EventBus& bus, ExecRegistry& r);

}  // namespace vic::pl
