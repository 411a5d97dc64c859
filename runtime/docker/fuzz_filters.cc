// libFuzzer: docker's filters parameter as a client sends it, then matching with it. The
// input is the filters JSON; its first line is also tried as a name pattern. Invariants:
// only allowed keys come back, refusals say "invalid filter" in a short message, and
// matching a container name always answers; a glob without wildcards matches itself; image and
// prune filters answer or refuse in docker's words.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtime/docker/filters.h"

namespace {
using namespace vic::docker;

void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string pattern = text.substr(0, text.find('\n'));
  check(nameMatches(pattern, pattern) || !nameMatches(pattern, pattern));
  nameMatches(std::string(41, 'a'), pattern);
  // a glob (docker images' reference filter) matches itself when it has no wildcard or escape
  bool plain = pattern.size() <= 1024 && pattern.find_first_of("*?\\") == std::string::npos;
  check(!plain || globMatches(pattern, pattern));
  referenceMatches(pattern, "127.0.0.1:5000/" + pattern + ":tag");
  ImageFacts image{{pattern, "busybox:latest"}, {{"a", "b"}}, 5};
  if (auto images = parseFilters(text, kImageFilters)) imageMatches(image, *images, 10, 1);
  if (auto prune = parseFilters(text, kContainerPruneFilters)) {
    if (auto until = pruneUntil(*prune, 1'000'000'000'000'000'000)) {
      vic::pl::ContainerInfo old;
      containerPrunable(old, *prune, *until);
    } else {
      check(until.error().message().rfind("failed to parse value as time or duration", 0) == 0);
    }
  }
  auto f = parseFilters(text, kContainerFilters);
  if (!f) {
    check(f.error().message().rfind("invalid filter", 0) == 0);
    check(f.error().message().size() <= 220);
    return 0;
  }
  vic::pl::ContainerInfo c;
  c.spec.id = "0123456789abcdef";
  c.spec.name = std::string(41, 'a');
  c.spec.annotations["docker.config"] = R"({"Labels":{"team":"a"}})";
  for (const auto& [key, values] : *f) check(kContainerFilters.contains(key));
  containerMatches(c, *f, [](const std::string&, const std::string&) { return false; });
  return 0;
}
