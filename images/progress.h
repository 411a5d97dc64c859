// The Docker JSON progress stream of `POST /images/create` (one JSON object per line), so
// the docker CLI draws its usual per-layer progress bars. Pure functions, golden-tested.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace vic::images {

std::string progressStatus(const std::string& status, const std::string& id = "");
// "Downloading" / "Extracting" with current/total and the bar docker's CLI shows.
std::string progressBytes(const std::string& status, const std::string& id, uint64_t current, uint64_t total);
std::string progressError(const std::string& message);
// moby's progress.Update: {"status":action,"progressDetail":{},"id":id} ("Preparing", "Pushed",
// "Layer already exists", "Mounted from test/busybox").
std::string progressAction(const std::string& action, const std::string& id);
// docker push's result for a tag: {"progressDetail":{},"aux":{"Tag","Digest","Size"}}.
std::string progressPushAux(const std::string& tag, const std::string& digest, size_t size);

// docker's human sizes: 1.23kB, 45.6MB (decimal units, 3 significant digits).
std::string humanSize(double bytes);
std::string progressBar(uint64_t current, uint64_t total);

// Progress lines from several worker threads (parallel downloads or uploads), handed to `sink`
// one at a time. An empty sink drops them.
class SerialProgress {
 public:
  explicit SerialProgress(const std::function<void(const std::string&)>& sink) : sink_(sink) {}
  void line(const std::string& l) {
    if (!sink_) return;
    std::lock_guard lock(mu_);
    sink_(l);
  }

 private:
  const std::function<void(const std::string&)>& sink_;
  std::mutex mu_;
};

}  // namespace vic::images
