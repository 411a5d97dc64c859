// define -> running and power-off -> stopped-event latency through hypervisor/, next to raw
// virsh doing the same, in one run (real libvirtd + QEMU). Not a test: prints medians.
//   hypervisor_bench <vmlinuz> [runs]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "common/process.h"
#include "hypervisor/domain_xml.h"
#include "hypervisor/libvirt_hypervisor.h"

namespace {

using namespace vic;
using namespace vic::hv;
using Clock = std::chrono::steady_clock;

double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A VM that boots a kernel with no root and stays up (panic=0 waits forever): pure
// hypervisor cost, no guest work.
VmSpec idleVm(const std::string& name, const std::string& kernel) {
  VmSpec s;
  s.name = name;
  s.memoryMiB = 128;
  s.kernel = kernel;
  s.cmdline = "console=ttyS0 panic=0";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: hypervisor_bench <vmlinuz> [runs]\n");
    return 2;
  }
  int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  std::string dir = "/var/tmp/vic-hv-bench";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(argv[1], dir + "/vmlinuz", std::filesystem::copy_options::overwrite_existing);
  auto hv = LibvirtHypervisor::connect();
  if (!hv) {
    std::fprintf(stderr, "%s\n", hv.error().message().c_str());
    return 1;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  (*hv)->subscribe([&](const VmEvent& e) {
    std::lock_guard lock(mu);
    if (e.vm == "vic-bench" && e.kind == VmEventKind::kStopped) stopped = true;
    cv.notify_all();
  });
  std::vector<double> oursUp, oursOff, virshUp, virshOff;
  for (int i = 0; i < runs; ++i) {
    // through the layer
    auto t0 = Clock::now();
    if (!(*hv)->defineVm(idleVm("vic-bench", dir + "/vmlinuz")) || !(*hv)->powerOn("vic-bench")) return 1;
    oursUp.push_back(ms(t0, Clock::now()));
    stopped = false;
    auto t1 = Clock::now();
    (void)(*hv)->powerOff("vic-bench");
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(30), [&] { return stopped; });
    }
    oursOff.push_back(ms(t1, Clock::now()));
    (void)(*hv)->destroy("vic-bench");

    // raw virsh, the same VM
    std::ofstream(dir + "/raw.xml") << domainXml(idleVm("vic-bench-raw", dir + "/vmlinuz"), (*hv)->domainType());
    auto t2 = Clock::now();
    (void)runProcess({"virsh", "-q", "-c", "qemu:///system", "define", dir + "/raw.xml"});
    (void)runProcess({"virsh", "-q", "-c", "qemu:///system", "start", "vic-bench-raw"});
    virshUp.push_back(ms(t2, Clock::now()));
    FILE* ev = ::popen("virsh -q -c qemu:///system event --domain vic-bench-raw --event lifecycle --timeout 30", "r");
    ::usleep(300 * 1000);  // let virsh subscribe before the power-off
    auto t3 = Clock::now();
    (void)runProcess({"virsh", "-q", "-c", "qemu:///system", "destroy", "vic-bench-raw"});
    char line[512];
    while (std::fgets(line, sizeof line, ev) != nullptr) {
      if (std::string(line).find("Stopped") != std::string::npos) break;
    }
    virshOff.push_back(ms(t3, Clock::now()));
    ::pclose(ev);
    (void)runProcess({"virsh", "-q", "-c", "qemu:///system", "undefine", "vic-bench-raw"});
  }
  std::printf("hypervisor latency (%s, median of %d runs, ms)   hypervisor/   raw virsh\n",
              (*hv)->domainType() == "kvm" ? "KVM" : "TCG", runs);
  std::printf("  define -> running                                %8.0f   %8.0f\n", median(oursUp), median(virshUp));
  std::printf("  power-off -> stopped event                       %8.0f   %8.0f\n", median(oursOff), median(virshOff));
  std::printf("  (virsh's figures include starting a virsh process per command)\n");
  std::filesystem::remove_all(dir);
  return 0;
}
