// docker exec behind the port layer: an exec instance is created for a running container,
// started once (its stdio bound to tether channels, or detached), resized, inspected; its
// end is recorded with its exit code. Records go when their container is destroyed.
// Runs on the io_context's thread, as the PortLayer does.
#pragma once

#include <boost/asio.hpp>
#include <string>

#include "common/result.h"
#include "runtime/portlayer/exec_registry.h"
#include "runtime/portlayer/exec_spec.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::pl {

class ExecSessions {
 public:
  explicit ExecSessions(PortLayer& pl, size_t maxIdlePerContainer = ExecRegistry::kMaxIdlePerContainer);
  ~ExecSessions();
  ExecSessions(const ExecSessions&) = delete;
  ExecSessions& operator=(const ExecSessions&) = delete;

  // A new exec instance's id. kConflict when the container is not running.
  Result<std::string> create(const std::string& containerId, ExecSpec spec);
  // A copy of the record. kNotFound "No such exec instance: x".
  Result<ExecRecord> inspect(const std::string& execId) const;
  asio::awaitable<Status> resize(const std::string& execId, uint16_t rows, uint16_t cols);
  // Starts it with its stdio bound; the caller pumps the streams, then calls finish.
  // kConflict when it was started before.
  asio::awaitable<Result<SessionStreams>> start(const std::string& execId);
  // Starts it with no stdio; its end is recorded in the background.
  asio::awaitable<Status> startDetached(const std::string& execId);
  // Waits for its end and records the exit code; the launch error ("" when it launched).
  asio::awaitable<std::string> finish(const std::string& execId);

 private:
  Result<std::shared_ptr<ExecRecord>> record(const std::string& execId) const;
  asio::awaitable<Result<SessionStreams>> launch(const std::string& execId);
  asio::awaitable<std::string> finishRecord(std::shared_ptr<ExecRecord> e);
  void publish(const std::string& container, const std::string& action, std::map<std::string, std::string> extra);

  PortLayer& pl_;
  ExecRegistry execs_;
  int subscription_;
};

}  // namespace vic::pl
