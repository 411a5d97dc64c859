// Registry authentication, the pure parts: WWW-Authenticate challenges, the token request,
// token responses, and docker's X-Registry-Auth header.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vic::images {

struct Challenge {
  std::string scheme;                         // "bearer" or "basic", lowercased
  std::map<std::string, std::string> params;  // realm, service, scope, error...
};

// Parses a WWW-Authenticate header (one or more challenges; quoted values with escapes).
Result<std::vector<Challenge>> parseChallenges(std::string_view header);

struct Credentials {
  std::string username, password;
  std::string identityToken;  // refresh token from docker login, if any
};

// The token endpoint for a Bearer challenge: realm?service=..&scope=..[&account=user].
Result<std::string> tokenUrl(const Challenge& c, const std::vector<std::string>& scopes, const Credentials& creds);

// An absolute http(s) URL's scheme (lowercased) and host[:port], for deciding whether it may
// be fetched; any other scheme, credentials in the URL or no host is an error.
struct HttpUrl {
  std::string scheme;     // "http" or "https"
  std::string authority;  // "auth.docker.io", "127.0.0.1:5000"
};
Result<HttpUrl> parseHttpUrl(std::string_view url);

inline constexpr int kMaxTokenLifetime = 24 * 3600;  // seconds we believe a token's expires_in

struct Token {
  std::string value;
  int expiresIn = 60;  // seconds; anything under 60 counts as 60 (distribution's rule)
};
// Total: wrong types, a token with characters a header cannot carry, bodies over
// kMaxTokenBytes are errors.
Result<Token> parseTokenResponse(std::string_view body);

// X-Registry-Auth: base64url (padding optional) of {"username","password","serveraddress",
// "identitytoken"}; "e30=" ({}) means anonymous.
Result<Credentials> decodeRegistryAuth(std::string_view header);

std::string urlEncode(std::string_view s);
std::string base64Encode(std::string_view data);
Result<std::string> base64Decode(std::string_view text);  // standard or url alphabet

}  // namespace vic::images
