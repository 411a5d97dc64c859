// Marks the threads that run an io_context, so blocking code can refuse to run there
// (see common/blocking.h). No Boost: tether links common too.
#pragma once

namespace vic {

// True while the current thread is inside an IoThreadScope.
bool onIoThread();

class IoThreadScope {
 public:
  IoThreadScope();
  ~IoThreadScope();
  IoThreadScope(const IoThreadScope&) = delete;
  IoThreadScope& operator=(const IoThreadScope&) = delete;

 private:
  bool was_;
};

// Aborts (with `what` in the message) when called on an I/O thread.
void requireOffIoThread(const char* what);

}  // namespace vic
