#include "images/fake_registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/json.h"
#include "images/manifest.h"

namespace vic::images {

FakeRegistry::FakeRegistry() : listener_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (!listener_ || ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener_.get(), 16) != 0 || ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("fake registry: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeRegistry::~FakeRegistry() {
  stop_ = true;
  thread_.join();
}

std::string FakeRegistry::host() const { return "127.0.0.1:" + std::to_string(port_); }

void FakeRegistry::set(const std::string& path, Answer a) {
  std::lock_guard lock(mu_);
  answers_[path] = std::move(a);
}

std::vector<FakeRegistry::Request> FakeRegistry::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void FakeRegistry::acceptPushes() {
  std::lock_guard lock(mu_);
  pushes_ = true;
}

void FakeRegistry::requireAuth(std::string authorization, Answer refusal) {
  std::lock_guard lock(mu_);
  auth_ = std::pair{std::move(authorization), std::move(refusal)};
}

std::optional<std::string> FakeRegistry::blob(const std::string& repo, const std::string& digest) const {
  std::lock_guard lock(mu_);
  auto r = repoBlobs_.find(repo);
  if (r == repoBlobs_.end() || !r->second.count(digest)) return std::nullopt;
  return blobs_.at(digest);
}

std::optional<FakeRegistry::Manifest> FakeRegistry::manifest(const std::string& repo, const std::string& ref) const {
  std::lock_guard lock(mu_);
  auto it = manifests_.find(repo + (ref.rfind("sha256:", 0) == 0 ? "@" : ":") + ref);
  if (it == manifests_.end()) return std::nullopt;
  return it->second;
}

void FakeRegistry::addBlob(const std::string& repo, const std::string& data) {
  std::lock_guard lock(mu_);
  std::string d = sha256Digest(data);
  blobs_[d] = data;
  repoBlobs_[repo].insert(d);
}

void FakeRegistry::serve() {
  while (!stop_) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn) answer(conn.get());
  }
}

namespace {

// The request's head; what was read past it stays in `rest`.
std::string readHead(int fd, std::string& rest) {
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < (64 << 10)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
    if (head.front() == '\x16') break;  // a TLS handshake record: an https client
  }
  if (auto end = head.find("\r\n\r\n"); end != std::string::npos) {
    rest = head.substr(end + 4);
    head.resize(end + 4);
  }
  return head;
}

std::string headerOf(const std::string& head, const char* name) {
  size_t pos = 0;
  std::string key = std::string("\r\n") + name + ":";
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    if (strncasecmp(head.c_str() + pos, key.c_str(), key.size()) == 0) {
      size_t start = head.find_first_not_of(' ', pos + key.size());
      return head.substr(start, head.find("\r\n", start) - start);
    }
    pos += 2;
  }
  return "";
}

void sendAll(int fd, const std::string& data) {
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client stopped reading: that is often the point
    off += static_cast<size_t>(n);
  }
}

}  // namespace

namespace {

std::string errorBody(const std::string& code, const std::string& message) {
  return R"({"errors":[{"code":")" + code + R"(","message":")" + message + R"("}]})";
}

// "a=1&b=2" -> the value of `key` ("" when absent; no decoding but %2F, enough for repo names).
std::string queryParam(const std::string& target, const std::string& key) {
  auto q = target.find('?');
  if (q == std::string::npos) return "";
  std::string query = target.substr(q + 1);
  for (size_t start = 0; start <= query.size();) {
    size_t end = query.find('&', start);
    std::string kv = query.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (kv.rfind(key + "=", 0) == 0) {
      std::string v = kv.substr(key.size() + 1);
      for (size_t p; (p = v.find("%2F")) != std::string::npos;) v.replace(p, 3, "/");
      return v;
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

}  // namespace

FakeRegistry::Answer FakeRegistry::registryAnswer(const std::string& method, const std::string& target,
                                                  const std::string& head, const std::string& body) {
  std::string path = target.substr(0, target.find('?'));
  Answer notFound{404, {}, errorBody("NOT_FOUND", "no such thing")};
  if (path == "/v2/" || path == "/v2") return {200, {}, "{}"};
  if (path.rfind("/v2/", 0) != 0) return notFound;
  std::string rest = path.substr(4);
  auto at = [&](const std::string& marker) { return rest.find(marker); };
  if (size_t u = at("/blobs/uploads/"); u != std::string::npos) {
    std::string repo = rest.substr(0, u), id = rest.substr(u + 15);
    if (method == "POST" && id.empty()) {
      std::string mount = queryParam(target, "mount"), from = queryParam(target, "from");
      if (!mount.empty() && repoBlobs_[from].count(mount)) {
        repoBlobs_[repo].insert(mount);
        return {201, {{"Location", "/v2/" + repo + "/blobs/" + mount}, {"Docker-Content-Digest", mount}}, ""};
      }
      std::string newId = "u" + std::to_string(nextUpload_++);
      uploads_[newId] = {repo, ""};
      return {202, {{"Location", "/v2/" + repo + "/blobs/uploads/" + newId + "?_state=s"}, {"Range", "0-0"}}, ""};
    }
    auto up = uploads_.find(id);
    if (up == uploads_.end() || up->second.repo != repo) return {404, {}, errorBody("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")};
    if (method == "PATCH") {
      std::string range = headerOf(head, "content-range");
      if (!range.empty() && std::stoull(range.substr(0, range.find('-'))) != up->second.data.size()) {
        return {416, {}, errorBody("RANGE_INVALID", "invalid content range")};
      }
      up->second.data += body;
      return {202, {{"Location", "/v2/" + repo + "/blobs/uploads/" + id + "?_state=s2"},
                    {"Range", "0-" + std::to_string(up->second.data.size() - 1)}}, ""};
    }
    if (method == "PUT") {
      std::string digest = queryParam(target, "digest"), data = up->second.data + body;
      if (sha256Digest(data) != digest) return {400, {}, errorBody("DIGEST_INVALID", "provided digest did not match uploaded content")};
      uploads_.erase(up);
      blobs_[digest] = data;
      repoBlobs_[repo].insert(digest);
      return {201, {{"Location", "/v2/" + repo + "/blobs/" + digest}, {"Docker-Content-Digest", digest}}, ""};
    }
    return notFound;
  }
  if (size_t b = at("/blobs/"); b != std::string::npos) {
    std::string repo = rest.substr(0, b), digest = rest.substr(b + 7);
    if (!repoBlobs_[repo].count(digest)) return {404, {}, errorBody("BLOB_UNKNOWN", "blob unknown to registry")};
    return {200, {{"Docker-Content-Digest", digest}}, blobs_[digest]};
  }
  if (size_t m = at("/manifests/"); m != std::string::npos) {
    std::string repo = rest.substr(0, m), ref = rest.substr(m + 11);
    if (method == "PUT") {
      auto j = vic::parseJson(body);
      std::vector<std::string> named;
      if (j.is_object() && j.contains("config")) named.push_back(j["config"].value("digest", ""));
      if (j.is_object() && j.contains("layers")) {
        for (const auto& l : j["layers"]) named.push_back(l.value("digest", ""));
      }
      for (const auto& d : named) {
        if (!repoBlobs_[repo].count(d)) return {400, {}, errorBody("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry")};
      }
      Manifest man{headerOf(head, "content-type"), body};
      std::string digest = sha256Digest(body);
      manifests_[repo + ":" + ref] = man;
      manifests_[repo + "@" + digest] = man;
      return {201, {{"Location", "/v2/" + repo + "/manifests/" + digest}, {"Docker-Content-Digest", digest}}, ""};
    }
    auto it = manifests_.find(repo + (ref.rfind("sha256:", 0) == 0 ? "@" : ":") + ref);
    if (it == manifests_.end()) return {404, {}, errorBody("MANIFEST_UNKNOWN", "manifest unknown")};
    return {200, {{"Content-Type", it->second.contentType}}, it->second.body};
  }
  return notFound;
}

void FakeRegistry::answer(int fd) {
  std::string body;
  std::string head = readHead(fd, body);
  if (!head.empty() && head.front() == '\x16') {  // https spoken to plain http: Go's server answers 400
    {
      std::lock_guard lock(mu_);
      requests_.push_back({"", "", "TLS", "", "", 0});
    }
    sendAll(fd, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request");
    return;
  }
  size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos) return;
  std::string method = head.substr(0, sp1);
  std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string length = headerOf(head, "content-length");
  size_t want = length.empty() ? 0 : std::stoull(length);
  char buf[1 << 16];
  while (body.size() < want) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    body.append(buf, static_cast<size_t>(n));
  }
  Answer a{404, {}, R"({"errors":[{"code":"NOT_FOUND","message":"no such thing"}]})"};
  {
    std::lock_guard lock(mu_);
    std::string auth = headerOf(head, "authorization");
    requests_.push_back({target, auth, method, headerOf(head, "content-type"), headerOf(head, "content-range"), body.size()});
    std::string path = target.substr(0, target.find('?'));
    if (auto it = answers_.find(path); it != answers_.end()) {
      a = it->second;
    } else if (auth_ && path.rfind("/v2/", 0) == 0 && auth != auth_->first) {
      a = auth_->second;
    } else if (pushes_) {
      a = registryAnswer(method, target, head, body);
    }
  }
  std::string out = "HTTP/1.1 " + std::to_string(a.status) + " X\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(a.body.size()) + "\r\n";
  for (const auto& [k, v] : a.headers) out += k + ": " + v + "\r\n";
  sendAll(fd, out + "\r\n");
  if (method != "HEAD") sendAll(fd, a.body);
}

}  // namespace vic::images
