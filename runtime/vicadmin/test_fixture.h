// vicadmin's unit-test fixture: a fake Probe with a fixed VCH (a few containers, one with a
// hostile name, images, volumes, networks), a VCH config over a temporary datastore, and an
// in-process server reached through a socketpair with raw HTTP.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "common/testing/temp_dir.h"
#include "runtime/vicadmin/server.h"
#include "vsock/log_record.h"

namespace vic::vicadmin::testing {

namespace asio = boost::asio;

inline const std::string kId1 = std::string(64, 'a');
inline const std::string kId2 = "b" + std::string(63, '2');
inline const std::string kHostileId = "c" + std::string(63, '3');

inline std::string psJson() {
  return R"([{"Id":")" + kId1 + R"(","Names":["/web"],"Image":"nginx:latest","State":"running","Status":"Up 5 minutes","Created":1700000000,
  "Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}],"NetworkSettings":{"Networks":{"bridge":{}}}},
  {"Id":")" + kId2 + R"(","Names":["/db"],"Image":"postgres:16","State":"exited","Status":"Exited (0) 2 hours ago","Created":1699990000,
  "Ports":[{"PrivatePort":5432,"Type":"tcp"}],"NetworkSettings":{"Networks":{"backend":{}}}},
  {"Id":")" + kHostileId + R"(","Names":["/<script>alert(1)</script>"],"Image":"evil\"><img src=x onerror=alert(2)>","State":"running",
  "Status":"Up 1 second","Created":1700000100,"Ports":[],"NetworkSettings":{"Networks":{"<b>net</b>":{}}}}])";
}

class FakeProbe : public Probe {
 public:
  std::map<std::string, std::string> answers = {
      {"/_ping", "OK"},
      {"/version", R"({"Version":"28.2.2-vic","ApiVersion":"1.50"})"},
      {"/info", R"({"Containers":3,"ContainersRunning":2,"Images":2,"Name":"vch1"})"},
      {"/containers/json?all=1", psJson()},
      {"/containers/json", psJson()},
      {"/images/json", R"([{"Id":"sha256:0123456789abcdef0123","RepoTags":["nginx:latest","<i>tag</i>"],"Size":73400320,"Created":1},
                         {"Id":"sha256:fedcba9876543210fedc","RepoTags":[],"Size":1024,"Created":2}])"},
      {"/volumes", R"({"Volumes":[{"Name":"data","Driver":"vsphere","Labels":{"owner":"<script>x</script>"},
                       "Status":{"Capacity":"1024 MiB","VolumeStore":"default"}}]})"},
      {"/networks", R"([{"Name":"bridge","Id":"f00dfeed00112233","Driver":"bridge","IPAM":{"Config":[{"Subnet":"172.16.0.0/16","Gateway":"172.16.0.1"}]}},
                        {"Name":"backend","Id":"beef00112233","Driver":"bridge","IPAM":{"Config":[{"Subnet":"172.17.0.0/16"}]}}])"},
  };
  Status endpointDown = ok();  // an error: every docker() call fails with it
  Status libvirtDown = ok();
  LibvirtFacts lv{"9.0.0", "7.2.0", {"vch1-aaaaaaaaaaaa", "vch1-bbbbbbbbbbbb"}};
  Status poolDown = ok();
  PoolFacts poolFacts{{2.0, uint64_t{4} << 30}, {123000000000, uint64_t{512} << 20}};
  std::map<std::string, DiskSpace> disks;  // dir -> space (default: 10 GiB free of 20)
  std::set<std::string> missingChains;
  std::set<std::string> downRegistries;
  std::optional<EndpointStart> start = EndpointStart{{"virtio-serial (vsock unavailable)", "kvm"}, 1699999000};
  std::atomic<int64_t> clock{1700000000};
  std::atomic<int> dockerCalls{0};

  Result<std::string> docker(const std::string& target) override {
    ++dockerCalls;
    std::lock_guard lock(mu_);
    if (!endpointDown) return endpointDown.error();
    if (auto it = answers.find(target); it != answers.end()) return it->second;
    if (target.find("/stats?") != std::string::npos) return statsFor(target);
    return Error(Errc::kNotFound, "GET " + target + ": status 404");
  }
  Result<LibvirtFacts> libvirt() override {
    if (!libvirtDown) return libvirtDown.error();
    return lv;
  }
  Result<std::string> domainXml(const std::string& vm) override { return "<domain><name>" + vm + "</name></domain>"; }
  Result<PoolFacts> pool() override {
    if (!poolDown) return poolDown.error();
    return poolFacts;
  }
  Result<DiskSpace> diskSpace(const std::string& dir) override {
    if (auto it = disks.find(dir); it != disks.end()) return it->second;
    return DiskSpace{uint64_t{20} << 30, uint64_t{10} << 30};
  }
  Status firewallChain(const std::string& table, const std::string& chain) override {
    if (missingChains.contains(chain)) return Error(Errc::kNotFound, "chain " + chain + " (table " + table + ") missing: iptables: No chain/target/match by that name.");
    return ok();
  }
  Status registry(const std::string& hostPort, bool) override {
    if (downRegistries.contains(hostPort)) return Error(Errc::kUnavailable, "https://" + hostPort + "/v2/: Couldn't connect to server");
    return ok();
  }
  std::optional<EndpointStart> endpointStart() override { return start; }
  int64_t now() override { return clock; }

  void setEndpointDown(const std::string& why) {
    std::lock_guard lock(mu_);
    endpointDown = Error(Errc::kUnavailable, why);
  }

 private:
  Result<std::string> statsFor(const std::string& target) {
    uint64_t n = static_cast<uint64_t>(clock.load() - 1700000000);
    nlohmann::json j = {{"cpu_stats", {{"cpu_usage", {{"total_usage", n * 500000000}}}, {"system_cpu_usage", n * 4000000000}, {"online_cpus", 4}}},
                        {"memory_stats", {{"usage", (uint64_t{100} << 20) + n * 1024}}}};
    (void)target;
    return j.dump();
  }
  std::mutex mu_;
};

// A VCH over a temporary datastore: its config, logs and container directories.
struct TestVch {
  vic::testing::TempDir dir{"vicadmin-test"};
  vch::VchConfig cfg;

  TestVch() {
    cfg.name = "vch1";
    cfg.version = "0.1.0";
    cfg.datastore = dir.str() + "/ds";
    cfg.volumeStores = {{"default", dir.str() + "/volumes"}};
    cfg.pool = "vch1";
    cfg.unixSocket = dir.str() + "/ds/docker.sock";
    cfg.logFile = dir.str() + "/ds/endpoint.log";
    cfg.adminLogFile = dir.str() + "/ds/vicadmin.log";
    cfg.adminTokenFile = dir.str() + "/ds/admin-token";
    cfg.adminAddress = "127.0.0.1:0";
    cfg.insecureRegistries = {"10.0.0.5:5000", "192.168.0.0/16", "registry.example.com"};
    cfg.tls = {true, true, dir.str() + "/ds/certs/ca.pem", dir.str() + "/ds/certs/server-cert.pem", dir.str() + "/ds/certs/server-key.pem"};
    std::filesystem::create_directories(cfg.datastore + "/containers");
    std::filesystem::create_directories(cfg.datastore + "/certs");
    write(cfg.logFile, "endpoint line 1\nendpoint line 2\n");
    write(cfg.adminLogFile, "vicadmin line 1\n");
    write(cfg.adminTokenFile, "s3cret-token\n");
    write(cfg.tls.key, "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n");
    for (const auto& id : {kId1, kId2, kHostileId}) {
      std::filesystem::create_directories(cfg.datastore + "/containers/" + id);
      write(cfg.datastore + "/containers/" + id + "/console.log", "console of " + id.substr(0, 4) + "\n<script>alert('log')</script>\n");
      write(cfg.datastore + "/containers/" + id + "/output.log", outputRecord("output of " + id.substr(0, 4) + "\n<b>bold</b>\n"));
    }
  }
  // One stdout record of tether's output log.
  static std::string outputRecord(const std::string& text) {
    std::vector<uint8_t> out;
    vsock::appendLogRecords(out, vsock::LogKind::kStdout, 1'700'000'000'000'000'000, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    return {out.begin(), out.end()};
  }
  static void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }
  static void append(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::app) << text; }
};

// The server on an io_context driven by the test thread; each exchange is one connection.
struct ServerHarness {
  TestVch vch;
  FakeProbe probe;
  asio::io_context io;
  BlockingPool pool{2};
  std::atomic<int64_t> fakeSeconds{0};  // added to the steady clock the sessions see
  ServerOptions opts;
  std::unique_ptr<AdminServer> server;

  explicit ServerHarness(std::chrono::seconds ttl = std::chrono::hours(8)) {
    opts.sessionTtl = ttl;
    opts.followPoll = std::chrono::milliseconds(20);
    opts.limits.idle = std::chrono::seconds(2);
    opts.limits.header = std::chrono::seconds(2);
    auto now = [this] { return Auth::Clock::now() + std::chrono::seconds(fakeSeconds.load()); };
    server = std::make_unique<AdminServer>(io, vch.cfg, probe, pool, opts, now);
  }
  ~ServerHarness() {
    server->stop();
    io.restart();
    io.run_for(std::chrono::milliseconds(200));
  }

  // Sends `raw` on a new connection and returns what comes back until the server closes it
  // or `until` appears (then `during` runs once, and reading goes on to `until2`).
  std::string exchange(const std::string& raw, bool clientCert = false, const std::string& until = "",
                       const std::function<void()>& during = {}, const std::string& until2 = "") {
    asio::local::stream_protocol::socket a(io), b(io);
    asio::local::connect_pair(a, b);
    asio::co_spawn(io, server->serve(docker::unixStream(std::move(a)), false, clientCert), asio::detached);
    std::string got;
    bool done = false;
    auto client = [&]() -> asio::awaitable<void> {
      co_await asio::async_write(b, asio::buffer(raw), asio::as_tuple(asio::use_awaitable));
      char buf[8192];
      bool ranDuring = false;
      while (true) {
        auto [ec, n] = co_await b.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        if (ec) break;
        got.append(buf, n);
        if (!until.empty() && !ranDuring && got.find(until) != std::string::npos) {
          ranDuring = true;
          if (during) during();
          if (until2.empty()) break;
        }
        if (ranDuring && !until2.empty() && got.find(until2) != std::string::npos) break;
      }
      boost::system::error_code ec;
      b.close(ec);
      done = true;
    };
    asio::co_spawn(io, client(), asio::detached);
    io.restart();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(done) << "no end to the exchange: " << got;
    return got;
  }

  std::string get(const std::string& target, const std::string& cookie = "", bool clientCert = false) {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:2378\r\nConnection: close\r\n";
    if (!cookie.empty()) req += "Cookie: " + std::string(kSessionCookie) + "=" + cookie + "\r\n";
    return exchange(req + "\r\n", clientCert);
  }
  std::string postLogin(const std::string& token) {
    std::string body = "token=" + token;
    return exchange("POST /login HTTP/1.1\r\nHost: 127.0.0.1:2378\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  // Logs in with the right token: the session id from Set-Cookie.
  std::string login() {
    std::string r = postLogin("s3cret-token");
    auto at = r.find(std::string(kSessionCookie) + "=");
    EXPECT_NE(at, std::string::npos) << r;
    if (at == std::string::npos) return "";
    return r.substr(at + kSessionCookie.size() + 1, 64);
  }
};

inline int statusOf(const std::string& response) { return response.size() > 12 ? std::atoi(response.c_str() + 9) : 0; }
inline std::string bodyOf(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

}  // namespace vic::vicadmin::testing
