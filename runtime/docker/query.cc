#include "runtime/docker/query.h"

#include <limits>

namespace vic::docker {

namespace {
Error numError(std::string_view fn, std::string_view s, std::string_view why) {
  return Error(Errc::kInvalidArgument, std::string(fn) + ": parsing \"" + std::string(s) + "\": " + std::string(why));
}
}  // namespace

Result<int64_t> parseGoInt(std::string_view s, std::string_view fn) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty()) return numError(fn, s, "invalid syntax");
  uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1, v = 0;
  bool overflow = false;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return numError(fn, s, "invalid syntax");
    uint64_t d = static_cast<uint64_t>(ch - '0');
    if (v > (limit - d) / 10) overflow = true;
    else v = v * 10 + d;
  }
  if (overflow) return numError(fn, s, "value out of range");
  return negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

Result<std::optional<int>> optionalIntParam(const Request& r, const std::string& name) {
  std::string v = r.param(name);
  if (v.empty()) return std::optional<int>{};
  auto n = parseGoInt(v);
  if (!n) return std::move(n).error();
  if (*n < std::numeric_limits<int>::min() || *n > std::numeric_limits<int>::max()) {
    return numError("strconv.Atoi", v, "value out of range");
  }
  return std::optional<int>(static_cast<int>(*n));
}

Result<int> intParam(const Request& r, const std::string& name, int fallback) {
  auto n = optionalIntParam(r, name);
  if (!n) return std::move(n).error();
  return n->value_or(fallback);
}

bool boolParam(const Request& r, const std::string& name, bool fallback) {
  return r.query.contains(name) ? r.flag(name) : fallback;
}

Result<int64_t> timestampParam(const Request& r, const std::string& name) { return parseTimestamp(r.param(name)); }

Result<int64_t> parseTimestamp(const std::string& v) {
  if (v.empty()) return int64_t{0};
  auto dot = v.find('.');
  auto sec = parseGoInt(std::string_view(v).substr(0, dot), "strconv.ParseInt");
  if (!sec) return std::move(sec).error();
  int64_t ns = 0;
  if (dot != std::string::npos) {
    std::string frac = v.substr(dot + 1);
    auto n = parseGoInt(frac, "strconv.ParseInt");
    if (!n) return std::move(n).error();
    if (frac.size() > 9 || *n < 0) return numError("strconv.ParseInt", frac, "value out of range");
    ns = *n;
    for (size_t i = frac.size(); i < 9; ++i) ns *= 10;
  }
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000000000 - 1;
  if (*sec > kMaxSeconds || *sec < -kMaxSeconds) return numError("strconv.ParseInt", v, "value out of range");
  return *sec * 1000000000 + (*sec < 0 ? -ns : ns);
}

Result<uint16_t> dimensionParam(const Request& r, const std::string& name) {
  std::string v = r.param(name);
  auto n = parseGoInt(v);
  if (!n) return std::move(n).error();
  if (*n < 0 || *n > std::numeric_limits<uint16_t>::max()) return numError("strconv.Atoi", v, "value out of range");
  return static_cast<uint16_t>(*n);
}

std::optional<size_t> tailParam(const Request& r) {
  auto n = parseGoInt(r.param("tail", "all"));
  if (!n || *n < 0) return std::nullopt;
  return static_cast<size_t>(*n);
}

}  // namespace vic::docker
