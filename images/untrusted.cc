#include "images/untrusted.h"

namespace vic::images {

using nlohmann::json;

std::string jsonTypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number with a fraction";
    default: return "not a value";
  }
}

FieldReader::FieldReader(const json& obj, std::string path) : obj_(obj), path_(std::move(path)) {
  if (!obj_.is_object()) fail((path_.empty() ? std::string("the document") : path_) + " must be an object, not " + jsonTypeName(obj_));
}

std::string FieldReader::field(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void FieldReader::fail(std::string message) {
  if (!problem_) problem_ = std::move(message);
}

Error FieldReader::error(Errc code, std::string_view what) const {
  return Error(code, std::string(what) + ": " + problem_.value_or("unknown problem"));
}

void FieldReader::wrongType(std::string_view key, std::string_view want, const json& got) {
  fail(field(key) + " must be " + std::string(want) + ", not " + jsonTypeName(got));
}

const json* FieldReader::member(std::string_view key, bool required) {
  if (!obj_.is_object()) return nullptr;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) fail(field(key) + " is missing");
    return nullptr;
  }
  return &*it;
}

std::string FieldReader::str(std::string_view key, bool required, std::string fallback) {
  const json* m = member(key, required);
  if (!m) return fallback;
  if (!m->is_string()) {
    wrongType(key, "a string", *m);
    return fallback;
  }
  return m->get_ref<const std::string&>();
}

int64_t FieldReader::integer(std::string_view key, int64_t min, int64_t max, bool required, int64_t fallback) {
  const json* m = member(key, required);
  if (!m) return fallback;
  if (m->is_number_unsigned()) {
    uint64_t v = m->get<uint64_t>();
    if (v <= static_cast<uint64_t>(max)) return static_cast<int64_t>(v);
    fail(field(key) + " is out of range (" + std::to_string(v) + ")");
    return fallback;
  }
  if (!m->is_number_integer()) {
    wrongType(key, "an integer", *m);
    return fallback;
  }
  int64_t v = m->get<int64_t>();
  if (v >= min && v <= max) return v;
  fail(field(key) + " is out of range (" + std::to_string(v) + ")");
  return fallback;
}

const json* FieldReader::object(std::string_view key, bool required) {
  const json* m = member(key, required);
  if (m && !m->is_object()) {
    wrongType(key, "an object", *m);
    return nullptr;
  }
  return m;
}

const json* FieldReader::array(std::string_view key, bool required) {
  const json* m = member(key, required);
  if (m && !m->is_array()) {
    wrongType(key, "an array", *m);
    return nullptr;
  }
  return m;
}

std::vector<std::string> FieldReader::strings(std::string_view key, bool required) {
  std::vector<std::string> out;
  const json* a = array(key, required);
  if (!a) return out;
  for (size_t i = 0; i < a->size(); ++i) {
    const json& e = (*a)[i];
    if (!e.is_string()) {
      fail(field(key) + "[" + std::to_string(i) + "] must be a string, not " + jsonTypeName(e));
      return {};
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 (overlong forms and surrogates are invalid).
size_t utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
    return 0;
  }
  return n;
}

}  // namespace

std::string printable(std::string_view text, size_t maxBytes) {
  static constexpr std::string_view kReplacement = "\xef\xbf\xbd";
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8Length(text, i);
    std::string_view piece = n == 0 ? kReplacement : text.substr(i, n);
    if (n == 1 && (static_cast<unsigned char>(text[i]) < 0x20 || text[i] == 0x7f)) piece = kReplacement;
    if (out.size() + piece.size() > maxBytes) return out + "...";
    out += piece;
    i += n == 0 ? 1 : n;
  }
  return out;
}

}  // namespace vic::images
