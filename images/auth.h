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

struct Token {
  std::string value;
  int expiresIn = 60;  // seconds; anything under 60 counts as 60 (distribution's rule)
};
Result<Token> parseTokenResponse(std::string_view body);

// X-Registry-Auth: base64url (padding optional) of {"username","password","serveraddress",
// "identitytoken"}; "e30=" ({}) means anonymous.
Result<Credentials> decodeRegistryAuth(std::string_view header);

std::string urlEncode(std::string_view s);
std::string base64Encode(std::string_view data);
Result<std::string> base64Decode(std::string_view text);  // standard or url alphabet

}  // namespace vic::images
