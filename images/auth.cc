#include "images/auth.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "common/json.h"
#include "images/manifest.h"
#include "images/untrusted.h"

namespace vic::images {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void skipSpace(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

std::string token68(std::string_view s, size_t& i) {
  size_t start = i;
  while (i < s.size() && s[i] != '=' && s[i] != ',' && s[i] != ' ' && s[i] != '\t') ++i;
  return std::string(s.substr(start, i - start));
}

}  // namespace

Result<std::vector<Challenge>> parseChallenges(std::string_view h) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto bad = [&] { return Error(Errc::kProtocol, "malformed WWW-Authenticate header: " + printable(h)); };
  while (true) {
    skipSpace(h, i);
    while (i < h.size() && h[i] == ',') ++i;
    skipSpace(h, i);
    if (i >= h.size()) break;
    Challenge c;
    c.scheme = lower(token68(h, i));
    if (c.scheme.empty()) return bad();
    // parameters until the next "scheme " (a token not followed by '=')
    while (true) {
      skipSpace(h, i);
      size_t save = i;
      std::string key = lower(token68(h, i));
      skipSpace(h, i);
      if (key.empty() || i >= h.size() || h[i] != '=') {
        i = save;
        break;
      }
      ++i;
      skipSpace(h, i);
      std::string value;
      if (i < h.size() && h[i] == '"') {
        for (++i; i < h.size() && h[i] != '"'; ++i) {
          if (h[i] == '\\' && i + 1 < h.size()) ++i;
          value += h[i];
        }
        if (i >= h.size()) return bad();
        ++i;
      } else {
        value = token68(h, i);
      }
      c.params[key] = value;
      skipSpace(h, i);
      if (i < h.size() && h[i] == ',') ++i;
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) return bad();
  return out;
}

std::string urlEncode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

Result<std::string> tokenUrl(const Challenge& c, const std::vector<std::string>& scopes, const Credentials& creds) {
  auto realm = c.params.find("realm");
  if (c.scheme != "bearer" || realm == c.params.end() || realm->second.empty()) {
    return Error(Errc::kProtocol, "bearer challenge without a realm");
  }
  std::string url = realm->second;
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  auto add = [&](const std::string& k, const std::string& v) {
    url += sep + k + "=" + urlEncode(v);
    sep = '&';
  };
  if (auto s = c.params.find("service"); s != c.params.end()) add("service", s->second);
  for (const auto& scope : scopes) add("scope", scope);
  if (scopes.empty()) {
    if (auto s = c.params.find("scope"); s != c.params.end()) add("scope", s->second);
  }
  if (!creds.username.empty()) add("account", creds.username);
  return url;
}

Result<HttpUrl> parseHttpUrl(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return Error(Errc::kProtocol, "\"" + printable(url, 200) + "\" is not a usable URL: " + why);
  };
  size_t colon = url.find("://");
  if (colon == std::string_view::npos) return bad("no scheme");
  HttpUrl u{lower(url.substr(0, colon)), ""};
  if (u.scheme != "https" && u.scheme != "http") return bad("only http and https are allowed");
  std::string_view rest = url.substr(colon + 3);
  u.authority = lower(rest.substr(0, rest.find_first_of("/?#")));
  if (u.authority.empty()) return bad("no host");
  for (unsigned char c : u.authority) {
    if (c == '@') return bad("credentials in a URL are not allowed");
    if (c <= 0x20 || c >= 0x7f) return bad("the host has characters a host name cannot have");
  }
  return u;
}

Result<Token> parseTokenResponse(std::string_view body) {
  if (body.size() > kMaxTokenBytes) return Error(Errc::kProtocol, "token response is larger than 1 MiB");
  auto j = parseJsonObject(body, "token response", Errc::kProtocol);
  if (!j) return std::move(j).error();
  FieldReader r(*j, "");
  Token t;
  t.value = r.str("token");
  if (t.value.empty()) t.value = r.str("access_token");
  int64_t expires = r.integer("expires_in", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), false, 60);
  if (!r.ok()) return r.error(Errc::kProtocol, "malformed token response");
  if (t.value.empty()) return Error(Errc::kProtocol, "token response has no token");
  for (unsigned char c : t.value) {  // it goes into an Authorization header as it is
    if (c <= 0x20 || c >= 0x7f) return Error(Errc::kProtocol, "token response has a token with characters a header cannot carry");
  }
  t.expiresIn = static_cast<int>(std::clamp<int64_t>(expires, 60, kMaxTokenLifetime));
  return t;
}

std::string base64Encode(std::string_view data) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(data[i])) << 16) | (uint32_t(uint8_t(data[i + 1])) << 8) | uint8_t(data[i + 2]);
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
  }
  if (i + 1 == data.size()) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16;
    out += {a[v >> 18], a[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == data.size()) {
    uint32_t v = (uint32_t(uint8_t(data[i])) << 16) | (uint32_t(uint8_t(data[i + 1])) << 8);
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
  }
  return out;
}

Result<std::string> base64Decode(std::string_view text) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') break;
    else return Error(Errc::kInvalidArgument, "invalid base64");
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

Result<Credentials> decodeRegistryAuth(std::string_view header) {
  Credentials c;
  if (header.empty()) return c;
  auto raw = base64Decode(header);
  if (!raw) return Error(Errc::kInvalidArgument, "invalid X-Registry-Auth header: not base64");
  auto j = parseJson(*raw);
  if (!j.is_object()) return Error(Errc::kInvalidArgument, "invalid X-Registry-Auth header: not a JSON object");
  FieldReader r(j, "");
  c.username = r.str("username");
  c.password = r.str("password");
  c.identityToken = r.str("identitytoken");
  if (!r.ok()) return r.error(Errc::kInvalidArgument, "invalid X-Registry-Auth header");
  return c;
}

}  // namespace vic::images
