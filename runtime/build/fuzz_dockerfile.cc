// libFuzzer: the docker build front end on anything. The input is parsed as a Dockerfile, as
// ONBUILD trigger text and as a .dockerignore; every word the Dockerfile holds is expanded, and
// the input's first line is expanded and matched as a path. Invariants: every call answers
// (no crash, no hang); parsed instructions have sane lines and stages; refusals of a Dockerfile
// name the line or the file; word errors say "failed to process".
#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtime/build/dockerfile.h"
#include "runtime/build/dockerignore.h"
#include "runtime/build/shell_lex.h"

namespace {
using namespace vic::build;

void check(bool ok) {
  if (!ok) std::abort();
}

const Vars kVars = {{"A", "a b"}, {"EMPTY", ""}, {"P", "/usr/local/bin"}};

void expand(const std::string& word, char escape) {
  if (auto w = expandWord(word, kVars, escape); !w) check(w.error().message().rfind("failed to process ", 0) == 0);
  if (auto ws = expandWords(word, kVars, escape)) {
    for (const std::string& s : *ws) check(!s.empty());
  }
}

void checkInstruction(const Instruction& ins, char escape) {
  check(ins.line >= 1 && ins.endLine >= ins.line);
  for (const KeyValue& kv : ins.pairs) {
    expand(kv.key, escape);
    expand(kv.value, escape);
  }
  for (const std::string& a : ins.args) expand(a, escape);
}

void dockerfile(const std::string& text) {
  auto f = parseDockerfile(text);
  if (!f) {
    const std::string& m = f.error().message();
    check(m.rfind("dockerfile parse error on line ", 0) == 0 || m.rfind("failed to parse Dockerfile: ", 0) == 0 ||
          m.rfind("the Dockerfile (Dockerfile) cannot be empty", 0) == 0);
    return;
  }
  check(!f->stages.empty() || !f->metaArgs.empty());
  size_t steps = f->metaArgs.size();
  for (const Instruction& a : f->metaArgs) checkInstruction(a, f->escape);
  for (const Stage& s : f->stages) {
    check(s.from.kind == Kind::kFrom && !s.baseName.empty());
    checkInstruction(s.from, f->escape);
    steps += 1 + s.commands.size();
    for (const Instruction& c : s.commands) {
      check(c.kind != Kind::kFrom);
      checkInstruction(c, f->escape);
    }
  }
  check(steps == stepCount(*f));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  dockerfile(text);
  (void)parseInstructions(text, '`');
  std::string first = text.substr(0, text.find('\n'));
  expand(first, '\\');
  expand(first, '`');
  if (auto ignore = DockerIgnore::parse(text)) {
    bool ignored = ignore->ignored(first);
    check(!ignore->skipsSubtree(first) || ignored);
    check(!ignore->ignored("."));
  }
  return 0;
}
