// TestVch: a whole VCH's port layer in one process for unit tests: the real PortLayer, image
// store (on a temp datastore, tiny layer disks), networks and volumes, over a FakeHypervisor whose
// VMs boot a fake tether, and a firewall that records the rules it is given. `run` drives the
// io_context as the endpoint does, marked as the I/O thread, so any hypervisor call made there
// aborts the test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/io_thread.h"
#include "common/testing/temp_dir.h"
#include "hypervisor/fake_hypervisor.h"
#include "images/image_store.h"
#include "runtime/portlayer/output_log.h"
#include "runtime/portlayer/port_layer.h"

namespace vic::pl {

// The actions of every event on `bus` so far, in order.
inline std::vector<std::string> eventActions(EventBus& bus) {
  std::vector<std::string> out;
  for (const auto& e : bus.since(0)) out.push_back(e.action);
  return out;
}

class RecordingFirewall : public Firewall {
 public:
  Status apply(const std::vector<Forward>& all) override;
  std::vector<Forward> rules() const;  // the last set applied
  int applied() const;

 private:
  mutable std::mutex mu_;
  std::vector<Forward> last_;
  int count_ = 0;
};

class TestVch {
 public:
  static constexpr const char* kImage = "docker.io/library/busybox:latest";  // an empty image
  // instantClone: containers start as clones of a template (the VCH's default), else cold.
  // vsock: the VCH uses AF_VSOCK (a host with vhost-vsock): its VMs get CIDs, and a VM with one
  // is served (by its fake guest) and reached (by the port layer) at vsockEndpoint(cid).
  explicit TestVch(bool instantClone = true, bool vsock = false);
  ~TestVch();

  // Runs `a` on the io_context until it finishes (at most `limit`); fails the test on timeout.
  template <class T>
  T run(asio::awaitable<T> a, std::chrono::seconds limit = std::chrono::seconds(20));
  void run(asio::awaitable<void> a, std::chrono::seconds limit = std::chrono::seconds(20));
  // Keeps the io_context running for `d` (lets events and detached work happen).
  void pump(std::chrono::milliseconds d);

  // A spec as the Docker layer makes one: the image, the default network, argv as main.
  ContainerSpec spec(std::vector<std::string> argv, const std::string& name = "") const;
  ContainerSpec created(std::vector<std::string> argv, const std::string& name = "");  // create()d
  std::string vm(const std::string& id) const { return pl->vmName(id); }
  // A new PortLayer over the same hypervisor and datastore, on a new io_context (an endpoint
  // restart: the old one's pending work is dropped, not run).
  void restartPortLayer();

  asio::io_context& io() { return *io_; }

  testing::TempDir dir{"vic-pl"};
  std::atomic<uint64_t> datastoreFree{uint64_t{1} << 40};  // what the port layer reads as free space

 private:
  mutable std::mutex identitiesMu_;  // before hv: guests (owned by hv) write here until it goes
  std::vector<vsock::Identity> identities_;

 public:
  hv::FakeHypervisor hv;
  std::optional<hv::Datastore> ds;
  std::unique_ptr<images::ImageStore> images;
  std::unique_ptr<Networks> nets;
  std::unique_ptr<Volumes> vols;
  RecordingFirewall firewall;
  std::unique_ptr<PortLayer> pl;
  std::string imageId;
  const bool instantClone;
  bool useVsock;  // what restartPortLayer gives the next port layer
  std::vector<vsock::Identity> identities() const;  // every Identity a guest accepted, in order
  // A stand-in for AF_VSOCK to `cid` (a unix socket: this host need not have vhost-vsock).
  vsock::Endpoint vsockEndpoint(uint32_t cid) const;

 private:
  std::unique_ptr<asio::io_context> io_ = std::make_unique<asio::io_context>();
  void drive(const bool& done, std::chrono::seconds limit);
  PortLayerOptions options() const;
};

// Whether the fake hypervisor saw `call` (e.g. "instantClone <vm>").
inline bool called(const TestVch& t, const std::string& call) {
  auto calls = t.hv.calls();
  return std::find(calls.begin(), calls.end(), call) != calls.end();
}

// How many calls the fake hypervisor saw that start with `prefix`.
inline size_t countCalls(TestVch& t, const std::string& prefix) {
  size_t n = 0;
  for (const auto& c : t.hv.calls()) n += c.rfind(prefix, 0) == 0;
  return n;
}

// Everything container `id` wrote to stdout, from its output log.
inline std::string stdoutOf(TestVch& t, const std::string& id) {
  uint64_t next = 0;
  std::string out;
  for (const auto& r : readLogRecords(t.pl->logFile(id), 0, &next)) {
    if (r.kind == vsock::LogKind::kStdout) out += r.data;
  }
  return out;
}

template <class T>
T TestVch::run(asio::awaitable<T> a, std::chrono::seconds limit) {
  std::optional<T> out;
  auto keep = [](asio::awaitable<T> inner, std::optional<T>& into) -> asio::awaitable<void> {
    into.emplace(co_await std::move(inner));
  };
  run(keep(std::move(a), out), limit);
  if (!out) throw std::runtime_error("the operation did not finish");
  return std::move(*out);
}

}  // namespace vic::pl
