// libFuzzer target: registry authentication fed hostile bytes: the WWW-Authenticate parser,
// the token URL built from its realm and the realm policy, token responses and X-Registry-Auth.
// A finding is a crash, leak or UB, a realm the policy lets through that is not http(s), a
// token that could not go into a header, or an error message that cannot be serialised.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "images/auth.h"
#include "images/registry_client.h"

namespace {

using namespace vic::images;

void check(bool ok) {
  if (!ok) std::abort();
}

void checkMessage(const vic::Error& e) { (void)nlohmann::json(e.message()).dump(); }  // throws on invalid UTF-8

void challenges(std::string_view header) {
  auto cs = parseChallenges(header);
  if (!cs) return checkMessage(cs.error());
  for (const auto& c : *cs) {
    auto url = tokenUrl(c, {"repository:a/b:pull"}, {"bob", "pw", ""});
    if (!url) continue;
    for (bool plain : {false, true}) {
      auto st = checkTokenRealm(*url, plain, "127.0.0.1:5000");
      if (!st) {
        checkMessage(st.error());
        continue;
      }
      auto u = parseHttpUrl(*url);
      check(u && (u->scheme == "https" || (plain && u->scheme == "http")));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  challenges(in);
  auto tok = parseTokenResponse(in);
  if (tok) {
    for (unsigned char c : tok->value) check(c > 0x20 && c < 0x7f);
    check(tok->expiresIn >= 60 && tok->expiresIn <= kMaxTokenLifetime);
  } else {
    checkMessage(tok.error());
  }
  auto creds = decodeRegistryAuth(in);
  if (!creds) checkMessage(creds.error());
  return 0;
}
