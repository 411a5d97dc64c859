// Result<T>: a value or an Error that carries a kind and a message with context.
// C++20 has no std::expected; this is the small subset of its API we use.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vic {

// What kind of failure: the Docker API maps each kind to one HTTP status in one place.
enum class Errc {
  kInvalidArgument,  // bad input from the caller
  kNotFound,
  kConflict,        // exists already, in use, wrong state
  kNotModified,     // the operation changed nothing (docker's 304)
  kUnavailable,     // a peer or service is down
  kProtocol,        // a peer broke the wire protocol
  kIo,              // a system call failed
  kTimeout,
  kNotImplemented,
  kForbidden,       // not allowed on this object (docker's 403)
  kInternal,
};

std::string_view errcName(Errc code);

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  // errno-based error: "<what>: <strerror(err)>".
  static Error fromErrno(std::string_view what, int err = errno);

  Errc code() const { return code_; }
  int sysErrno() const { return errno_; }
  const std::string& message() const { return message_; }

  // Adds context on the way up: "powering on containerVM 3f2a: <message>".
  Error wrap(std::string_view context) const&;
  Error wrap(std::string_view context) &&;

 private:
  Errc code_;
  int errno_ = 0;
  std::string message_;
};

namespace detail {
// Taking the value of an error (or the error of a value) is a bug in the caller, never the
// input's fault: it aborts loudly with the error it would have hidden ("should never happen").
[[noreturn]] inline void badResultAccess(const char* what, const std::string& message) {
  std::fprintf(stderr, "should never happen: %s: %s\n", what, message.c_str());
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool hasValue() const { return v_.index() == 0; }
  explicit operator bool() const { return hasValue(); }

  T& value() & { return *checkedValue(); }
  const T& value() const& { return *checkedValue(); }
  T&& value() && { return std::move(*checkedValue()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return *checkedError(); }
  Error&& error() && { return std::move(*checkedError()); }

  template <class U>
  T valueOr(U&& fallback) const& {
    return hasValue() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  T* checkedValue() {
    if (auto* e = std::get_if<1>(&v_)) detail::badResultAccess("the value of an error was taken", e->message());
    return std::get_if<0>(&v_);
  }
  const T* checkedValue() const { return const_cast<Result*>(this)->checkedValue(); }
  Error* checkedError() {
    if (hasValue()) detail::badResultAccess("the error of a value was taken", "(no error)");
    return std::get_if<1>(&v_);
  }
  const Error* checkedError() const { return const_cast<Result*>(this)->checkedError(); }

  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool hasValue() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_{Errc::kInternal, ""};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok() { return {}; }

}  // namespace vic
