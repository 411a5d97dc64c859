// libFuzzer target: the input is a layer tar, applied onto a scratch root that already holds
// the escape routes a hostile image would plant (symlinks to "/", to a canary beside the root by
// absolute and relative paths). Whatever the input, the canary must be untouched: a failure
// here means a layer reached outside its root. Runs as an unprivileged user in its own mount
// namespace (ci/run-fuzzer-sandboxed), so even a bug cannot reach the host's files.
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/files.h"
#include "common/guest_root.h"
#include "images/layer_apply.h"

namespace {

constexpr const char* kSecret = "canary\n";

std::string makeBase() {
  char tmpl[] = "/tmp/vic-fuzz-layer.XXXXXX";
  if (!::mkdtemp(tmpl)) std::abort();
  return tmpl;
}

void prepare(const std::string& base) {
  ::mkdir((base + "/root").c_str(), 0755);
  ::mkdir((base + "/canary").c_str(), 0755);
  if (!vic::writeFileAtomically(base + "/canary/secret", kSecret)) std::abort();
  ::symlink("/", (base + "/root/slash").c_str());
  ::symlink((base + "/canary").c_str(), (base + "/root/abs").c_str());
  ::symlink("../canary", (base + "/root/rel").c_str());
  ::symlink("../../../../../../../../../..", (base + "/root/up").c_str());
}

bool canaryIntact(const std::string& base) {
  struct stat st{};
  if (::lstat((base + "/canary/secret").c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) return false;
  if (vic::readFile(base + "/canary/secret") != kSecret) return false;
  return vic::dirEntries(base + "/canary").size() == 1;
}

// A layer may leave directories its (unprivileged) owner cannot write: open them up to remove them.
int openUp(const char* path, const struct stat* st, int, FTW*) {
  if (S_ISDIR(st->st_mode)) ::chmod(path, 0700);
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string base = makeBase();
  std::string layer = base + "/layer.tar";
  if (FILE* f = std::fopen(layer.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  prepare(base);
  vic::images::ExtractOptions opts;
  opts.maxEntries = 4096;
  opts.maxBytes = 16 << 20;
  (void)vic::images::extractTar(layer, base + "/root", opts);
  if (!canaryIntact(base)) {
    std::fprintf(stderr, "a layer reached outside its root: the canary changed\n");
    std::abort();
  }
  ::chmod((base + "/root").c_str(), 0700);
  ::nftw((base + "/root").c_str(), openUp, 16, FTW_PHYS);
  vic::UniqueFd dir(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!vic::removeTreeAt(dir.get(), "root") || !vic::removeTreeAt(dir.get(), "canary")) std::abort();
  return 0;
}
