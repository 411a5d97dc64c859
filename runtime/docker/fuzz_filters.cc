// libFuzzer: docker's filters parameter as a client sends it, then matching with it. The
// input is the filters JSON; its first line is also tried as a name pattern. Invariants:
// only allowed keys come back, refusals say "invalid filter" in a short message, and
// matching a container name always answers.
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
