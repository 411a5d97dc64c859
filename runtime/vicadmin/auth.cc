#include "runtime/vicadmin/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdlib>

#include "common/files.h"
#include "runtime/docker/http.h"

namespace vic::vicadmin {

namespace {

constexpr size_t kMaxSessions = 1000;

std::string trim(std::string s) {
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), space));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), space).base(), s.end());
  return s;
}

std::string sha256(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return std::string(reinterpret_cast<const char*>(d), sizeof d);
}

}  // namespace

Auth::Auth(std::string tokenFile, std::chrono::seconds ttl, Now now)
    : tokenFile_(std::move(tokenFile)), ttl_(ttl), now_(std::move(now)) {}

std::string Auth::currentDigest() {
  std::string token = trim(readFile(tokenFile_));
  std::string d = token.empty() ? "" : sha256(token);
  if (d != digest_) {
    sessions_.clear();
    digest_ = d;
  }
  return d;
}

Result<std::string> Auth::login(std::string_view token) {
  std::string d = currentDigest();
  if (d.empty()) return Error(Errc::kUnavailable, "no admin token is set (" + tokenFile_ + " is missing or empty)");
  std::string given = sha256(trim(std::string(token)));
  if (CRYPTO_memcmp(given.data(), d.data(), d.size()) != 0) return Error(Errc::kForbidden, "wrong token");
  auto now = now_();
  std::erase_if(sessions_, [now](const auto& s) { return s.second <= now; });
  while (sessions_.size() >= kMaxSessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    sessions_.erase(oldest);
  }
  std::string id = randomHex32();
  sessions_[id] = now + ttl_;
  return id;
}

bool Auth::valid(std::string_view session) {
  if (session.empty() || currentDigest().empty()) return false;
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return false;
  if (it->second <= now_()) {
    sessions_.erase(it);
    return false;
  }
  return true;
}

void Auth::logout(std::string_view session) {
  if (auto it = sessions_.find(session); it != sessions_.end()) sessions_.erase(it);
}

namespace {
const std::string kSharedBucket;  // "" is no address: the clients beyond kTrackedClients
}  // namespace

const std::string& Auth::bucket(const std::string& client) const {
  if (notBefore_.count(client) || notBefore_.size() < kTrackedClients) return client;
  return kSharedBucket;
}

Auth::Clock::duration Auth::loginWait(const std::string& client) const {
  auto it = notBefore_.find(bucket(client));
  auto now = now_();
  return it != notBefore_.end() && it->second > now ? it->second - now : Clock::duration::zero();
}

void Auth::failed(const std::string& client) {
  auto now = now_();
  std::erase_if(notBefore_, [&](const auto& kv) { return kv.second <= now; });
  auto& next = notBefore_[bucket(client)];
  next = std::max(next, now) + kFailureDelay;
}

std::string cookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return "";
}

std::string sessionCookie(const std::string& session, bool tls, std::chrono::seconds ttl) {
  return std::string(kSessionCookie) + "=" + session + "; Path=/; Max-Age=" + std::to_string(ttl.count()) + "; HttpOnly; " +
         (tls ? "Secure; " : "") + "SameSite=Strict";
}

std::string formValue(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view kv = body.substr(0, amp);
    auto eq = kv.find('=');
    if (docker::percentDecode(kv.substr(0, eq)) == name) return eq == std::string_view::npos ? "" : docker::percentDecode(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return "";
}

std::string randomHex32() {
  unsigned char b[32];
  if (RAND_bytes(b, sizeof b) != 1) std::abort();  // should never happen: no randomness, no sessions
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

}  // namespace vic::vicadmin
