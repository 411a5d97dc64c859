// Execution: health checks. While a container with a check runs, its probe runs through tether
// exec on the check's interval; the results live in memory (an endpoint restart starts the
// container's health over at "starting"), and a change of status is a health_status event.
#include <signal.h>

#include "common/log.h"
#include "runtime/portlayer/exec_spec.h"
#include "runtime/portlayer/health.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::pl {

namespace {
// The probe's stdout and stderr as it writes them, up to docker's 4 KiB; both channels are read
// to their end so that a chatty probe never blocks on its credit.
struct ProbeOutput {
  explicit ProbeOutput(const asio::any_io_executor& ex) : changed(ex) {}
  std::string text;
  int open = 0;
  vsock::Notifier changed;
};

asio::awaitable<void> drain(vsock::TetherConnection::Ptr conn, vsock::ChannelId ch, std::shared_ptr<ProbeOutput> out) {
  std::array<uint8_t, 4096> buf;
  for (;;) {
    auto n = co_await conn->read(ch, buf);
    if (!n || *n == 0) break;
    size_t room = kHealthOutputMax - std::min(kHealthOutputMax, out->text.size());
    out->text.append(reinterpret_cast<const char*>(buf.data()), std::min(room, *n));
  }
  conn->close(ch);
  --out->open;
  out->changed.notify();
}
}  // namespace

bool PortLayer::sameRun(const std::shared_ptr<Live>& l, uint64_t boot) const {
  return !l->removed && l->boots == boot && l->stoppedBoot != boot;
}

asio::awaitable<void> PortLayer::watchHealth(std::string id) {
  auto spec = specOf(id);
  if (!spec) co_return;
  auto argv = probeArgv(spec->health);
  if (argv.empty()) co_return;
  auto l = live(id);
  uint64_t boot = l->boots;
  auto timing = healthTiming(spec->health);
  int64_t startedNs = statusOf(*spec).startedNs;
  l->health = Health{};
  for (;;) {
    auto delay = std::chrono::nanoseconds(nextProbeDelayNs(*l->health, timing, startedNs, nowNs()));
    asio::steady_timer due(io_, delay);
    co_await due.async_wait(asio::use_awaitable);
    if (!sameRun(l, boot)) co_return;
    if (l->power == hv::PowerState::kPaused) continue;  // no probes into a paused container
    auto probe = co_await probeHealth(*spec, argv, timing.timeoutNs);
    if (!sameRun(l, boot) || !l->health) co_return;  // stopped meanwhile: its probe says nothing
    std::string before = l->health->status;
    l->health = applyProbe(std::move(*l->health), std::move(probe), timing, startedNs);
    if (l->health->status == before) continue;
    events_.publish({"container", "health_status: " + l->health->status, id,
                     {{"name", spec->name}, {"image", spec->imageRef}}, nowNs(), 0});
  }
}

// One probe: started as an exec session, its output read, its exit awaited; past the timeout it
// is killed and counts as docker's timeout (-1). A probe that cannot start is -1 with the reason.
asio::awaitable<HealthProbe> PortLayer::probeHealth(const ContainerSpec& spec, std::vector<std::string> argv,
                                                   int64_t timeoutNs) {
  HealthProbe r;
  r.startNs = nowNs();
  ExecSpec e;
  e.argv = std::move(argv);
  std::string session = "health-" + newContainerId().substr(0, 16);
  auto streams = co_await exec(spec.id, sessionSpec(e, spec, session));
  if (!streams) {
    r.exitCode = -1;
    r.output = streams.error().message();
    r.endNs = nowNs();
    co_return r;
  }
  auto out = std::make_shared<ProbeOutput>(io_.get_executor());
  for (auto ch : {streams->channels.stdoutCh, streams->channels.stderrCh}) {
    if (ch == 0) continue;
    ++out->open;
    asio::co_spawn(io_, drain(streams->conn, ch, out), asio::detached);
  }
  auto timedOut = std::make_shared<bool>(false);
  auto deadline = std::make_shared<asio::steady_timer>(io_, std::chrono::nanoseconds(timeoutNs));
  auto kill = [this, id = spec.id, session, timedOut, deadline]() -> asio::awaitable<void> {
    boost::system::error_code ec;
    co_await deadline->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // the probe ended first
    *timedOut = true;
    (void)co_await signalSession(id, session, SIGKILL);
  };
  asio::co_spawn(io_, kill, asio::detached);
  auto exit = co_await waitSession(spec.id, session);
  while (out->open > 0 && !*timedOut) co_await out->changed.wait();
  deadline->cancel();
  r.endNs = nowNs();
  if (*timedOut) {
    r.exitCode = -1;
    r.output = "Health check exceeded timeout (" + goDuration(timeoutNs) + ")";
  } else if (!exit) {
    r.exitCode = -1;
    r.output = exit.error().message();
  } else {
    r.exitCode = exit->exitCode;
    r.output = exit->error.empty() ? out->text : exit->error;
  }
  co_return r;
}

}  // namespace vic::pl
