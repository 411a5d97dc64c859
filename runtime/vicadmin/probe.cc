#include "runtime/vicadmin/probe.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <ctime>
#include <mutex>

#include "common/files.h"
#include "common/process.h"
#include "hypervisor/libvirt_hypervisor.h"
#include "runtime/vicadmin/docker_client.h"

namespace vic::vicadmin {

namespace {

constexpr auto kDockerTimeout = std::chrono::seconds(2);
constexpr long kRegistryTimeoutMs = 3000;

std::string firstLine(const std::string& s) {
  auto nl = s.find('\n');
  return s.substr(0, nl);
}

// One GET of <scheme>://<hostPort>/v2/: any HTTP status means something answers.
Status getV2(const std::string& url) {
  CURL* c = curl_easy_init();
  if (c == nullptr) return Error(Errc::kInternal, "curl_easy_init failed");
  char errorBuffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, kRegistryTimeoutMs);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);  // an insecure registry: reachability only, no credentials sent
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errorBuffer);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "vic-admin");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) -> size_t { return s * n; });
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (rc == CURLE_OK && status > 0) return ok();
  return Error(Errc::kUnavailable, url + ": " + (errorBuffer[0] ? errorBuffer : curl_easy_strerror(rc)));
}

class SystemProbe : public Probe {
 public:
  SystemProbe(vch::VchConfig cfg, Runner run) : cfg_(std::move(cfg)), run_(std::move(run)) {}

  Result<std::string> docker(const std::string& target) override { return unixGet(cfg_.unixSocket, target, kDockerTimeout); }

  Result<LibvirtFacts> libvirt() override {
    auto hv = connection();
    if (!hv) return std::move(hv).error();
    auto info = (*hv)->hostInfo();
    if (!info) return std::move(info).error();
    auto vms = (*hv)->listVms();
    if (!vms) return std::move(vms).error();
    LibvirtFacts f{info->libvirtVersion, info->hypervisorVersion, {}};
    for (const auto& vm : *vms) {
      if (vm.rfind(cfg_.name + "-", 0) != 0) continue;
      auto md = (*hv)->metadata(vm);
      if (md && md->contains("vic.vch") && md->at("vic.vch") == cfg_.name) f.vms.push_back(vm);
    }
    return f;
  }

  Result<std::string> domainXml(const std::string& vm) override {
    auto hv = connection();
    if (!hv) return std::move(hv).error();
    return (*hv)->domainXml(vm);
  }

  Result<PoolFacts> pool() override {
    if (cfg_.pool.empty()) return PoolFacts{};
    hv::ResourcePools pools;
    auto limits = pools.limits(cfg_.pool);
    if (!limits) return std::move(limits).error().wrap("resource pool " + cfg_.pool);
    auto usage = pools.usage(cfg_.pool);
    if (!usage) return std::move(usage).error().wrap("resource pool " + cfg_.pool);
    return PoolFacts{*limits, *usage};
  }

  Result<DiskSpace> diskSpace(const std::string& dir) override {
    struct statvfs s{};
    if (::statvfs(dir.c_str(), &s) != 0) return Error::fromErrno("statvfs " + dir);
    return DiskSpace{uint64_t{s.f_blocks} * s.f_frsize, uint64_t{s.f_bavail} * s.f_frsize};
  }

  Status firewallChain(const std::string& table, const std::string& chain) override { return checkChain(run_, table, chain); }

  Status registry(const std::string& hostPort, bool insecure) override {
    auto https = getV2("https://" + hostPort + "/v2/");
    if (https || !insecure) return https;
    auto http = getV2("http://" + hostPort + "/v2/");
    if (http) return http;
    return Error(Errc::kUnavailable, https.error().message() + "; " + http.error().message());
  }

  std::optional<EndpointStart> endpointStart() override {
    std::string file = vch::endpointRecordFile(cfg_.name);
    auto rec = vch::decodeEndpointRecord(readFile(file));
    struct stat st{};
    if (!rec || ::stat(file.c_str(), &st) != 0) return std::nullopt;
    return EndpointStart{*rec, static_cast<int64_t>(st.st_mtime)};
  }

  int64_t now() override { return static_cast<int64_t>(std::time(nullptr)); }

 private:
  // One libvirt connection, made on first use and again after a failed attempt (libvirtd may
  // start after vicadmin); LibvirtHypervisor reconnects itself after a libvirtd restart.
  Result<hv::LibvirtHypervisor*> connection() {
    std::lock_guard lock(mu_);
    if (!hv_) {
      auto made = hv::LibvirtHypervisor::connect(cfg_.target);
      if (!made) return std::move(made).error().wrap("connecting to libvirt at " + cfg_.target);
      hv_ = std::move(*made);
    }
    return hv_.get();
  }

  vch::VchConfig cfg_;
  Runner run_;
  std::mutex mu_;
  std::unique_ptr<hv::LibvirtHypervisor> hv_;
};

}  // namespace

Status checkChain(const Runner& run, const std::string& table, const std::string& chain) {
  auto r = run({"iptables", "-w", "-t", table, "-S", chain});
  if (!r) return std::move(r).error().wrap("iptables -t " + table + " -S " + chain);
  if (r->exitCode == 0) return ok();
  // Status 1 is "no such chain" (iptables-legacy says so; iptables-nft says "incompatible, use
  // 'nft' tool", which would only mislead here); others are iptables failing.
  if (r->exitCode == 1) return Error(Errc::kNotFound, "chain " + chain + " is missing from table " + table + " (vic-machine restart remakes it)");
  std::string why = firstLine(r->err.empty() ? r->out : r->err);
  return Error(Errc::kUnavailable, "iptables -t " + table + " -S " + chain + " failed (status " + std::to_string(r->exitCode) + ")" +
                                       (why.empty() ? "" : ": " + why));
}

Runner processRunner() {
  return [](const std::vector<std::string>& argv) -> Result<CommandOutput> {
    auto r = runProcess(argv);
    if (!r) return std::move(r).error();
    return CommandOutput{r->exitCode, r->out, r->err};
  };
}

std::unique_ptr<Probe> systemProbe(const vch::VchConfig& cfg, Runner run) {
  return std::make_unique<SystemProbe>(cfg, std::move(run));
}

}  // namespace vic::vicadmin
