#include "images/registry_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "images/manifest.h"

namespace vic::images {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

std::string headerValue(const std::string& line, const char* name) {
  size_t n = std::strlen(name);
  if (line.size() <= n || strncasecmp(line.c_str(), name, n) != 0 || line[n] != ':') return "";
  std::string v = line.substr(n + 1);
  while (!v.empty() && (v.front() == ' ')) v.erase(0, 1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
  return v;
}

}  // namespace

bool isLoopbackRegistry(const std::string& domain) {
  std::string host = domain.substr(0, domain.rfind(':') == std::string::npos || domain.front() == '[' ? std::string::npos : domain.rfind(':'));
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]";
}

RegistryClient::RegistryClient(Reference ref, RegistryOptions opts) : ref_(std::move(ref)), opts_(std::move(opts)) {
  static CurlGlobal global;
  curl_ = curl_easy_init();
  if (isLoopbackRegistry(ref_.domain)) opts_.insecure = true;
}

RegistryClient::~RegistryClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

std::string RegistryClient::baseUrl() const {
  return std::string(opts_.insecure ? "http://" : "https://") + ref_.registryHost() + "/v2/" + ref_.path;
}

Result<RegistryClient::Response> RegistryClient::get(const std::string& url,
                                                     const std::map<std::string, std::string>& headers,
                                                     const std::function<bool(const char*, size_t)>& sink,
                                                     uint64_t offset) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  Response resp;
  struct Ctx {
    Response* resp;
    const std::function<bool(const char*, size_t)>* sink;
    CURL* curl;
    uint64_t offset;
    bool ok = true;
  } ctx{&resp, &sink, c, offset};
  curl_slist* list = nullptr;
  for (const auto& [k, v] : headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);  // curl drops custom Authorization on other hosts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  if (!opts_.caFile.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts_.caFile.c_str());  // per-registry CA
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "vic-imagec/0.1");
  if (offset > 0) curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, +[](char* p, size_t s, size_t n, void* u) -> size_t {
    auto* r = static_cast<Response*>(u);
    std::string line(p, s * n);
    if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): reset
      r->contentType.clear();
      r->wwwAuthenticate.clear();
    }
    if (auto v = headerValue(line, "content-type"); !v.empty()) r->contentType = v;
    if (auto v = headerValue(line, "www-authenticate"); !v.empty()) r->wwwAuthenticate = v;
    return s * n;
  });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* u) -> size_t {
    auto* x = static_cast<Ctx*>(u);
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    bool success = status >= 200 && status < 300;
    if (success && x->offset > 0 && status != 206) {  // the server ignored Range: retry afresh
      x->ok = false;
      return 0;
    }
    if (*x->sink && success) {
      if (!(*x->sink)(p, s * n)) {
        x->ok = false;
        return 0;
      }
      return s * n;
    }
    x->resp->body.append(p, s * n);
    return s * n;
  });
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && !ctx.ok)) {
    return Error(Errc::kUnavailable, "Get \"" + url + "\": " + curl_easy_strerror(rc));
  }
  if (!ctx.ok) return Error(Errc::kIo, "writing the download from " + url);
  return resp;
}

Status RegistryClient::authenticate(const std::string& header) {
  auto challenges = parseChallenges(header);
  if (!challenges) return std::move(challenges).error();
  for (const auto& ch : *challenges) {
    if (ch.scheme == "basic") {
      if (opts_.creds.username.empty()) return Error(Errc::kUnavailable, "no basic auth credentials");
      authHeader_ = "Basic " + base64Encode(opts_.creds.username + ":" + opts_.creds.password);
      return ok();
    }
    if (ch.scheme == "bearer") {
      auto url = tokenUrl(ch, {"repository:" + ref_.path + ":pull"}, opts_.creds);
      if (!url) return std::move(url).error();
      std::map<std::string, std::string> h;
      if (!opts_.creds.username.empty()) {
        h["Authorization"] = "Basic " + base64Encode(opts_.creds.username + ":" + opts_.creds.password);
      }
      auto r = get(*url, h, {});
      if (!r) return std::move(r).error().wrap("fetching a registry token");
      if (r->status != 200) return Error(Errc::kUnavailable, "fetching a registry token: HTTP " + std::to_string(r->status));
      auto tok = parseTokenResponse(r->body);
      if (!tok) return std::move(tok).error();
      authHeader_ = "Bearer " + tok->value;
      return ok();
    }
  }
  return Error(Errc::kUnavailable, "unsupported authentication challenge: " + header);
}

Result<RegistryClient::Response> RegistryClient::getAuthorized(const std::string& url,
                                                               std::map<std::string, std::string> headers,
                                                               const std::function<bool(const char*, size_t)>& sink,
                                                               uint64_t offset) {
  for (int round = 0; round < 2; ++round) {
    if (!authHeader_.empty()) headers["Authorization"] = authHeader_;
    auto r = get(url, headers, sink, offset);
    if (!r || r->status != 401 || r->wwwAuthenticate.empty() || round == 1) return r;
    if (auto st = authenticate(r->wwwAuthenticate); !st) return std::move(st).error();
  }
  return Error(Errc::kInternal, "unreachable");
}

Error RegistryClient::httpError(const Response& r, const std::string& what) const {
  std::string code, message;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
    code = j["errors"][0].value("code", "");
    message = j["errors"][0].value("message", "");
  }
  if (r.status == 401 || r.status == 403 || code == "NAME_UNKNOWN" || code == "UNAUTHORIZED" || code == "DENIED") {
    return Error(Errc::kNotFound, "pull access denied for " + ref_.familiar().substr(0, ref_.familiar().rfind(':')) +
                                      ", repository does not exist or may require 'docker login'" +
                                      (message.empty() ? "" : ": " + message));
  }
  if (r.status == 404) {
    return Error(Errc::kNotFound, what + " not found: " + (message.empty() ? "not found" : message));
  }
  return Error(Errc::kUnavailable, what + ": HTTP " + std::to_string(r.status) + (message.empty() ? "" : ": " + message));
}

Result<FetchedManifest> RegistryClient::manifest(const std::string& tagOrDigest) {
  std::string url = baseUrl() + "/manifests/" + tagOrDigest;
  auto r = getAuthorized(url, {{"Accept", std::string(kManifestAccept)}}, {});
  if (!r) return std::move(r).error();
  if (r->status != 200) {
    return httpError(*r, "manifest for " + ref_.name() + ":" + tagOrDigest);
  }
  FetchedManifest m{r->body, r->contentType, sha256Digest(r->body)};
  if (tagOrDigest.rfind("sha256:", 0) == 0 && m.digest != tagOrDigest) {
    return Error(Errc::kProtocol, "manifest verification failed for digest " + tagOrDigest);
  }
  return m;
}

Result<std::string> RegistryClient::fetchBlobBytes(const std::string& digest, size_t limit) {
  std::string body;
  auto r = getAuthorized(baseUrl() + "/blobs/" + digest, {}, [&](const char* p, size_t n) {
    body.append(p, n);
    return body.size() <= limit;
  });
  if (!r) return std::move(r).error();
  if (r->status != 200) return httpError(*r, "blob " + digest);
  if (sha256Digest(body) != digest) return Error(Errc::kProtocol, "blob verification failed for digest " + digest);
  return body;
}

Status RegistryClient::fetchBlob(const std::string& digest, const std::string& file, const Progress& progress) {
  std::string tmp = file + ".partial";
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!out) return Error::fromErrno("creating " + tmp);
  Sha256 hash;
  uint64_t done = 0;
  Status last = ok();
  for (int attempt = 0; attempt < std::max(1, opts_.attempts); ++attempt) {
    auto r = getAuthorized(baseUrl() + "/blobs/" + digest, {}, [&](const char* p, size_t n) {
      if (std::fwrite(p, 1, n, out.get()) != n) return false;
      hash.update(p, n);
      done += n;
      if (progress) progress(done, 0);
      return true;
    }, done);
    if (r && (r->status == 200 || r->status == 206)) {
      last = ok();
      break;
    }
    last = r ? Status(httpError(*r, "blob " + digest)) : Status(std::move(r).error());
    if (r && r->status >= 400 && r->status < 500) break;  // not worth retrying
  }
  out.reset();
  if (!last) {
    std::filesystem::remove(tmp);
    return last;
  }
  if (hash.digest() != digest) {
    std::filesystem::remove(tmp);
    return Error(Errc::kProtocol, "filesystem layer verification failed for digest " + digest);
  }
  std::filesystem::rename(tmp, file);
  return ok();
}

}  // namespace vic::images
