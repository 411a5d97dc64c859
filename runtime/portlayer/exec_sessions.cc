#include "runtime/portlayer/exec_sessions.h"

namespace vic::pl {

namespace {
std::string joinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}
}  // namespace

ExecSessions::ExecSessions(PortLayer& pl, size_t maxIdlePerContainer)
    : pl_(pl), execs_(maxIdlePerContainer), subscription_(dropOnDestroy(pl.events(), execs_)) {}

ExecSessions::~ExecSessions() { pl_.events().unsubscribe(subscription_); }

Result<std::string> ExecSessions::create(const std::string& containerId, ExecSpec spec) {
  auto found = pl_.find(containerId);
  if (!found) return std::move(found).error();
  const std::string& id = found->spec.id;
  if (auto st = pl_.execAllowed(id); !st) return std::move(st).error();
  auto e = std::make_shared<ExecRecord>();
  e->id = newContainerId();
  e->container = id;
  e->spec = std::move(spec);
  execs_.add(e);
  publish(id, "exec_create: " + joinArgv(e->spec.argv), {{"execID", e->id}});
  return e->id;
}

Result<std::shared_ptr<ExecRecord>> ExecSessions::record(const std::string& execId) const {
  auto e = execs_.find(execId);
  if (!e) return Error(Errc::kNotFound, "No such exec instance: " + execId);
  return e;
}

Result<ExecRecord> ExecSessions::inspect(const std::string& execId) const {
  auto e = record(execId);
  if (!e) return std::move(e).error();
  return **e;
}

asio::awaitable<Status> ExecSessions::resize(const std::string& execId, uint16_t rows, uint16_t cols) {
  auto e = record(execId);
  if (!e) co_return std::move(e).error();
  co_return co_await pl_.resize((*e)->container, (*e)->id, rows, cols);
}

asio::awaitable<Result<SessionStreams>> ExecSessions::launch(const std::string& execId) {
  auto e = record(execId);
  if (!e) co_return std::move(e).error();
  auto rec = *e;
  if (rec->started) co_return Error(Errc::kConflict, "Error: Exec command " + execId + " has already run");
  auto found = pl_.find(rec->container);
  if (!found) co_return std::move(found).error();
  auto session = sessionSpec(rec->spec, found->spec, rec->id);
  auto streams = co_await pl_.exec(rec->container, session);
  if (!streams) co_return streams;
  rec->started = rec->running = true;
  publish(rec->container, "exec_start: " + joinArgv(rec->spec.argv), {{"execID", rec->id}});
  co_return streams;
}

asio::awaitable<Result<SessionStreams>> ExecSessions::start(const std::string& execId) {
  co_return co_await launch(execId);
}

asio::awaitable<Status> ExecSessions::startDetached(const std::string& execId) {
  auto streams = co_await launch(execId);
  if (!streams) co_return std::move(streams).error();
  auto rec = execs_.find(execId);
  auto wait = [this, rec]() -> asio::awaitable<void> { co_await finishRecord(rec); };
  asio::co_spawn(co_await asio::this_coro::executor, wait, asio::detached);
  co_return ok();
}

asio::awaitable<std::string> ExecSessions::finish(const std::string& execId) {
  auto e = record(execId);
  if (!e) co_return e.error().message();
  co_return co_await finishRecord(*e);
}

asio::awaitable<std::string> ExecSessions::finishRecord(std::shared_ptr<ExecRecord> e) {
  auto st = co_await pl_.waitSession(e->container, e->id);
  e->exitCode = st ? st->exitCode : 126;
  e->running = false;
  publish(e->container, "exec_die", {{"execID", e->id}, {"exitCode", std::to_string(e->exitCode)}});
  co_return st ? st->error : st.error().message();
}

void ExecSessions::publish(const std::string& container, const std::string& action,
                           std::map<std::string, std::string> extra) {
  auto ci = pl_.find(container);
  if (ci) publishContainerEvent(pl_.events(), ci->spec.id, ci->spec.name, ci->spec.imageRef, action, std::move(extra));
}

}  // namespace vic::pl
