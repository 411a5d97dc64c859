// Who may see vicadmin: a connection with a verified client certificate of the VCH's CA, or a
// browser session made by logging in with the admin token. The token is the content of the
// VCH's token file, read at each login, so a rotated token works at once and the old one stops;
// when the file's content changes every session ends. Sessions live in memory and expire.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace vic::vicadmin {

inline constexpr std::string_view kSessionCookie = "vicadmin_session";

class Auth {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  Auth(std::string tokenFile, std::chrono::seconds ttl, Now now = &Clock::now);

  // A new session id for a token equal to the file's (constant-time); kForbidden "wrong token"
  // otherwise, kUnavailable when the token file cannot be read or is empty.
  Result<std::string> login(std::string_view token);
  // Whether the session exists, is not expired, and the token has not changed since it was made.
  bool valid(std::string_view session);
  void logout(std::string_view session);
  size_t sessions() const { return sessions_.size(); }

  // Failed logins are slowed down per client address: each failure adds `kFailureDelay` to
  // when that address's next attempt may be checked, so someone guessing from one address does
  // not hold out an admin logging in from another. Past kTrackedClients addresses with a
  // pending delay, the others share one (a flood of addresses slows only itself and them).
  static constexpr auto kFailureDelay = std::chrono::seconds(1);
  static constexpr size_t kTrackedClients = 1024;
  // How long an attempt from `client` arriving now must wait.
  Clock::duration loginWait(const std::string& client) const;
  void failed(const std::string& client);

 private:
  // The token file's digest, or "" when it cannot be read or is empty; drops every session
  // when it differs from the one the sessions were made with.
  std::string currentDigest();

  std::string tokenFile_;
  std::chrono::seconds ttl_;
  Now now_;
  std::string digest_;  // of the token the sessions were made with
  std::map<std::string, Clock::time_point, std::less<>> sessions_;  // id -> expiry
  std::map<std::string, Clock::time_point, std::less<>> notBefore_;  // client -> next attempt
  const std::string& bucket(const std::string& client) const;
};

// The value of cookie `name` in a Cookie header ("" when absent). Pure.
std::string cookieValue(std::string_view header, std::string_view name);
// The Set-Cookie value for a session (Secure only over TLS).
std::string sessionCookie(const std::string& session, bool tls, std::chrono::seconds ttl);
// The value of field `name` in an application/x-www-form-urlencoded body. Pure.
std::string formValue(std::string_view body, std::string_view name);
// 32 random bytes as 64 hex digits.
std::string randomHex32();

}  // namespace vic::vicadmin
