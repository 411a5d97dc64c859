#include "images/reference.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace vic::images {
namespace {

Error invalid(const std::string& why = "") {
  return Error(Errc::kInvalidArgument, "invalid reference format" + (why.empty() ? "" : ": " + why));
}

bool lowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool validComponent(std::string_view c) {
  if (c.empty() || !lowerAlnum(c.front()) || !lowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (lowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !lowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

bool validTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t[0])) return false;
  for (char c : t) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

// host[:port]: letters, digits, dots, dashes (or a bracketed IPv6 address)
bool validDomain(std::string_view d) {
  if (d.empty()) return false;
  if (d.front() == '[') return d.find(']') != std::string_view::npos;
  size_t colon = d.rfind(':');
  std::string_view host = d.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = d.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  }
  if (host.empty()) return false;
  for (char c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
  }
  return true;
}

}  // namespace

bool validDigest(std::string_view d) {
  if (d.size() != 71 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7)) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

Result<Reference> parseReference(std::string_view text) {
  if (text.empty()) return invalid();
  Reference r;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    r.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!validDigest(r.digest)) return invalid();
  }
  // a tag is after the last ':' that follows the last '/'
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!validTag(r.tag)) return invalid();
  }
  std::string_view name = rest;
  size_t first = name.find('/');
  std::string_view head = name.substr(0, first);
  bool hasDomain = first != std::string_view::npos &&
                   (head.find('.') != std::string_view::npos || head.find(':') != std::string_view::npos ||
                    head == "localhost" || std::any_of(head.begin(), head.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); }));
  if (hasDomain) {
    if (!validDomain(head)) return invalid();
    r.domain = std::string(head);
    name = name.substr(first + 1);
  } else {
    r.domain = "docker.io";
  }
  if (r.domain == "index.docker.io") r.domain = "docker.io";
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t end = name.find('/', start);
    parts.push_back(name.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  for (auto p : parts) {
    if (!validComponent(p)) {
      std::string lower(p);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower != p && validComponent(lower)) return invalid("repository name (" + std::string(name) + ") must be lowercase");
      return invalid();
    }
  }
  r.path = std::string(name);
  if (r.domain == "docker.io" && parts.size() == 1) r.path = "library/" + r.path;
  if (r.name().size() > 255) return invalid("repository name must not be more than 255 characters");
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

std::string Reference::str() const {
  return name() + (tag.empty() ? "" : ":" + tag) + (digest.empty() ? "" : "@" + digest);
}

std::string Reference::familiar() const {
  std::string n = name();
  if (domain == "docker.io") {
    n = path.rfind("library/", 0) == 0 && path.find('/', 8) == std::string::npos ? path.substr(8) : path;
  }
  return n + (tag.empty() ? "" : ":" + tag) + (digest.empty() ? "" : "@" + digest);
}

std::string Reference::registryHost() const { return domain == "docker.io" ? "registry-1.docker.io" : domain; }

}  // namespace vic::images
