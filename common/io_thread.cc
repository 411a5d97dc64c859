#include "common/io_thread.h"

#include <cstdio>
#include <cstdlib>

namespace vic {
namespace {
thread_local bool ioThread = false;
}  // namespace

bool onIoThread() { return ioThread; }

IoThreadScope::IoThreadScope() : was_(ioThread) { ioThread = true; }
IoThreadScope::~IoThreadScope() { ioThread = was_; }

void requireOffIoThread(const char* what) {
  if (!ioThread) return;
  std::fprintf(stderr, "fatal: blocking call on the I/O thread: %s\n", what);
  std::abort();
}

}  // namespace vic
