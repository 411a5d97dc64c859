#include "common/result.h"

#include <string>

namespace vic {

std::string_view errcName(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kNotFound: return "not found";
    case Errc::kConflict: return "conflict";
    case Errc::kNotModified: return "not modified";
    case Errc::kUnavailable: return "unavailable";
    case Errc::kProtocol: return "protocol error";
    case Errc::kIo: return "i/o error";
    case Errc::kTimeout: return "timeout";
    case Errc::kNotImplemented: return "not implemented";
    case Errc::kForbidden: return "forbidden";
    case Errc::kInternal: return "internal error";
  }
  return "unknown error";
}

Error Error::fromErrno(std::string_view what, int err) {
  Errc code = Errc::kIo;
  if (err == ENOENT) code = Errc::kNotFound;
  if (err == EEXIST || err == EBUSY) code = Errc::kConflict;
  if (err == EINVAL) code = Errc::kInvalidArgument;
  if (err == ETIMEDOUT) code = Errc::kTimeout;
  Error e(code, std::string(what) + ": " + std::strerror(err));
  e.errno_ = err;
  return e;
}

Error Error::wrap(std::string_view context) const& {
  Error copy = *this;
  return std::move(copy).wrap(context);
}

Error Error::wrap(std::string_view context) && {
  message_ = std::string(context) + ": " + message_;
  return std::move(*this);
}

}  // namespace vic
