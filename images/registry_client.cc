#include "images/registry_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <strings.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "images/manifest.h"
#include "images/untrusted.h"

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
  std::string host = domain;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') == std::string::npos ? host.size() : host.find(']') + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  if (host == "localhost" || host == "[::1]") return true;
  in_addr a{};  // a dotted quad in 127.0.0.0/8, not a name that starts with "127."
  return ::inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

RegistryClient::RegistryClient(Reference ref, RegistryOptions opts) : ref_(std::move(ref)), opts_(std::move(opts)) {
  static CurlGlobal global;
  curl_ = curl_easy_init();
  if (isLoopbackRegistry(ref_.domain)) opts_.transport = RegistryTransport::kHttp;
}

RegistryClient::~RegistryClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

std::string RegistryClient::baseUrl() const {
  return std::string(plainHttp() ? "http://" : "https://") + ref_.registryHost() + "/v2/" + ref_.path;
}

Status RegistryClient::ping() {
  Call call;
  call.url = std::string(plainHttp() ? "http://" : "https://") + ref_.registryHost() + "/v2/";
  auto r = send(call);
  if (!r) return std::move(r).error();
  return ok();
}

namespace {

// Go's url.Error spelling of a method: "Get", "Head", "Post", "Put", "Patch".
std::string goMethod(const std::string& m) {
  std::string out = m;
  for (size_t i = 1; i < out.size(); ++i) out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  return out;
}

// What the read callback of an upload works with: the body and how far this request got.
struct UploadCtx {
  const RegistryClient::Upload* up;
  uint64_t pos = 0;
  bool failed = false;
};

size_t readUpload(char* buf, size_t size, size_t n, void* user) {
  auto* u = static_cast<UploadCtx*>(user);
  uint64_t want = std::min<uint64_t>(static_cast<uint64_t>(size) * n, u->up->length - u->pos);
  if (want == 0) return 0;
  size_t got = 0;
  if (u->up->bytes) {
    std::memcpy(buf, u->up->bytes->data() + u->up->offset + u->pos, want);
    got = want;
  } else {
    ssize_t r = ::pread(u->up->fd, buf, want, static_cast<off_t>(u->up->offset + u->pos));
    if (r <= 0) {
      u->failed = true;
      return CURL_READFUNC_ABORT;
    }
    got = static_cast<size_t>(r);
  }
  u->pos += got;
  if (u->up->sent) u->up->sent(u->pos);
  return got;
}

int seekUpload(void* user, curl_off_t offset, int origin) {
  auto* u = static_cast<UploadCtx*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > u->up->length) return CURL_SEEKFUNC_FAIL;
  u->pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

}  // namespace

Result<RegistryClient::Response> RegistryClient::get(const std::string& url,
                                                     const std::map<std::string, std::string>& headers,
                                                     const std::function<bool(const char*, size_t)>& sink,
                                                     uint64_t offset, size_t bodyLimit) {
  Call call;
  call.url = url;
  call.headers = headers;
  call.sink = sink;
  call.offset = offset;
  call.bodyLimit = bodyLimit;
  return send(call);
}

Result<RegistryClient::Response> RegistryClient::send(const Call& call) {
  bool answered = false;
  auto r = sendOnce(call, answered);
  if (opts_.transport != RegistryTransport::kInsecure) return r;
  std::string httpsOrigin = "https://" + ref_.registryHost() + "/";
  if (call.url.size() < httpsOrigin.size() || strncasecmp(call.url.c_str(), httpsOrigin.c_str(), httpsOrigin.size()) != 0) {
    return r;  // a token realm or a redirect elsewhere settles nothing
  }
  if (answered) {
    opts_.transport = RegistryTransport::kInsecureHttps;
    return r;
  }
  opts_.transport = RegistryTransport::kHttp;  // nothing answered over https: plain http from now on
  Call again = call;
  again.url = "http://" + call.url.substr(std::string_view("https://").size());
  return sendOnce(again, answered);
}

Result<RegistryClient::Response> RegistryClient::sendOnce(const Call& call, bool& answered) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  Response resp;
  const bool reading = call.method == "GET" || call.method == "HEAD";
  struct Ctx {
    Response* resp;
    const std::function<bool(const char*, size_t)>* sink;
    CURL* curl;
    uint64_t offset;
    size_t limit;
    bool ok = true;
    bool tooLarge = false;
  } ctx{&resp, &call.sink, c, call.offset, call.bodyLimit};
  curl_slist* list = nullptr;
  curl_slist* pins = nullptr;
  for (const auto& pin : opts_.resolve) pins = curl_slist_append(pins, pin.c_str());
  if (pins) curl_easy_setopt(c, CURLOPT_RESOLVE, pins);
  for (const auto& [k, v] : call.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
  if (call.upload) list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  // curl drops a custom Authorization on other hosts; an upload is never redirected with its body
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, reading ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, kMaxRedirects);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");  // never file://, gopher://, ...
  const bool verify = opts_.transport == RegistryTransport::kHttps;
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, verify ? "https" : "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  if (!verify) {  // an insecure registry: its certificate is not checked (dockerd's InsecureSkipVerify)
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!opts_.caFile.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, opts_.caFile.c_str());  // the VCH's bundle: system CAs + --registry-ca
  }
  char errorBuffer[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errorBuffer);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "vic-imagec/0.1");
  if (call.offset > 0) curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(call.offset));
  UploadCtx up{call.upload};
  if (call.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (call.upload) {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(call.upload->length));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &readUpload);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, &seekUpload);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &up);
    if (call.method != "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  } else if (call.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  } else if (call.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, +[](char* p, size_t s, size_t n, void* u) -> size_t {
    auto* r = static_cast<Response*>(u);
    std::string line(p, s * n);
    if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): reset
      *r = Response{};
      if (auto sp = line.find(' '); sp != std::string::npos) r->statusLine = line.substr(sp + 1);
      while (!r->statusLine.empty() && (r->statusLine.back() == '\r' || r->statusLine.back() == '\n')) r->statusLine.pop_back();
    }
    if (auto v = headerValue(line, "content-type"); !v.empty()) r->contentType = v;
    if (auto v = headerValue(line, "www-authenticate"); !v.empty()) r->wwwAuthenticate = v;
    if (auto v = headerValue(line, "location"); !v.empty()) r->location = v;
    if (auto v = headerValue(line, "range"); !v.empty()) r->range = v;
    if (auto v = headerValue(line, "content-length"); !v.empty()) {
      char* end = nullptr;
      long long len = std::strtoll(v.c_str(), &end, 10);
      r->contentLength = end && *end == '\0' && len >= 0 ? len : -1;
    }
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
    size_t limit = success ? x->limit : std::min(x->limit, kMaxErrorBytes);
    if (x->resp->body.size() + s * n > limit) {  // stop reading; an error body is kept cut short
      x->tooLarge = true;
      x->resp->body.append(p, limit - x->resp->body.size());
      return 0;
    }
    x->resp->body.append(p, s * n);
    return s * n;
  });
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  curl_slist_free_all(pins);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  answered = resp.status != 0;
  std::string where = goMethod(call.method) + " \"" + printable(call.url, 512) + "\"";
  if (ctx.tooLarge) {
    if (resp.status >= 200 && resp.status < 300) {
      return Error(Errc::kProtocol, where + ": the registry's answer is larger than " + std::to_string(call.bodyLimit) + " bytes");
    }
    return resp;  // an error status: its body, cut short, is enough for the message
  }
  if (up.failed) return Error(Errc::kIo, "reading what " + where + " uploads");
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && !ctx.ok)) {
    return Error(Errc::kUnavailable, where + ": " + transportErrorText(rc, errorBuffer));
  }
  if (!ctx.ok) return Error(Errc::kIo, "writing the download from " + printable(call.url, 512));
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
      auto url = tokenUrl(ch, scopes(), opts_.creds);
      if (!url) return std::move(url).error();
      if (auto st = checkTokenRealm(*url, plainHttp(), ref_.registryHost()); !st) return st;
      std::map<std::string, std::string> h;
      if (!opts_.creds.username.empty()) {
        h["Authorization"] = "Basic " + base64Encode(opts_.creds.username + ":" + opts_.creds.password);
      }
      auto r = get(*url, h, {}, 0, kMaxTokenBytes);
      if (!r) return std::move(r).error().wrap("fetching a registry token");
      if (r->status == 401 || r->status == 403) {  // docker's words: "unauthorized: incorrect username or password"
        return Error(Errc::kForbidden, registryErrorText(r->status, r->body, r->wwwAuthenticate, r->statusLine));
      }
      if (r->status != 200) return Error(Errc::kUnavailable, "fetching a registry token: HTTP " + std::to_string(r->status));
      auto tok = parseTokenResponse(r->body);
      if (!tok) return std::move(tok).error();
      authHeader_ = "Bearer " + tok->value;
      return ok();
    }
  }
  return Error(Errc::kUnavailable, "unsupported authentication challenge: " + printable(header));
}

std::vector<std::string> RegistryClient::scopes() const {
  std::vector<std::string> out;
  if (ref_.path.empty()) return out;  // docker login: no repository
  out.push_back("repository:" + ref_.path + (opts_.push ? ":pull,push" : ":pull"));
  for (const auto& from : opts_.mountFrom) {
    if (from != ref_.path) out.push_back("repository:" + from + ":pull");
  }
  return out;
}

Result<RegistryClient::Response> RegistryClient::getAuthorized(const std::string& url,
                                                               std::map<std::string, std::string> headers,
                                                               const std::function<bool(const char*, size_t)>& sink,
                                                               uint64_t offset, size_t bodyLimit) {
  Call call;
  call.url = url;
  call.headers = std::move(headers);
  call.sink = sink;
  call.offset = offset;
  call.bodyLimit = bodyLimit;
  return sendAuthorized(std::move(call));
}

Result<RegistryClient::Response> RegistryClient::sendAuthorized(Call call) {
  for (int round = 0; round < 2; ++round) {
    if (!authHeader_.empty()) call.headers["Authorization"] = authHeader_;
    auto r = send(call);
    if (!r || r->status != 401 || r->wwwAuthenticate.empty() || round == 1) return r;
    if (auto st = authenticate(r->wwwAuthenticate); !st) return std::move(st).error();
  }
  return Error(Errc::kInternal, "unreachable");
}

Error RegistryClient::httpError(const Response& r, const std::string& what) const {
  auto [code, message] = registryErrorBody(r.body);
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
  auto r = getAuthorized(url, {{"Accept", std::string(kManifestAccept)}}, {}, 0, kMaxManifestBytes);
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
  if (!validDigest(digest)) return Error(Errc::kInvalidArgument, "invalid blob digest " + printable(digest, 80));
  bool tooLarge = false;
  auto r = getAuthorized(baseUrl() + "/blobs/" + digest, {}, [&](const char* p, size_t n) {
    tooLarge = body.size() + n > limit;
    if (!tooLarge) body.append(p, n);
    return !tooLarge;
  });
  if (tooLarge) return Error(Errc::kProtocol, "blob " + digest + " is larger than " + std::to_string(limit) + " bytes");
  if (!r) return std::move(r).error();
  if (r->status != 200) return httpError(*r, "blob " + digest);
  if (sha256Digest(body) != digest) return Error(Errc::kProtocol, "blob verification failed for digest " + digest);
  return body;
}

Status RegistryClient::fetchBlob(const std::string& digest, int64_t size, const std::string& file,
                                 const Progress& progress) {
  if (!validDigest(digest)) return Error(Errc::kInvalidArgument, "invalid blob digest " + printable(digest, 80));
  if (size < 0) return Error(Errc::kInvalidArgument, "blob " + digest + " has a negative size");
  std::string tmp = file + ".partial";
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!out) return Error::fromErrno("creating " + tmp);
  Sha256 hash;
  uint64_t done = 0;
  const uint64_t declared = static_cast<uint64_t>(size);
  bool tooLarge = false;
  Status last = ok();
  for (int attempt = 0; attempt < std::max(1, opts_.attempts) && !tooLarge; ++attempt) {
    auto r = getAuthorized(baseUrl() + "/blobs/" + digest, {}, [&](const char* p, size_t n) {
      if (n > declared - done) {  // never read past what the descriptor declares
        tooLarge = true;
        return false;
      }
      if (std::fwrite(p, 1, n, out.get()) != n) return false;
      hash.update(p, n);
      done += n;
      if (progress) progress(done, declared);
      return true;
    }, done);
    if (tooLarge) {
      last = Error(Errc::kProtocol, "blob " + digest + " is larger than the " + std::to_string(size) +
                                        " bytes its descriptor declares");
    } else if (r && (r->status == 200 || r->status == 206)) {
      last = ok();
      break;
    } else {
      last = r ? Status(httpError(*r, "blob " + digest)) : Status(std::move(r).error());
      if (r && r->status >= 400 && r->status < 500) break;  // not worth retrying
    }
  }
  out.reset();
  std::error_code ec;
  if (!last) {
    std::filesystem::remove(tmp, ec);
    return last;
  }
  if (done != declared) {
    std::filesystem::remove(tmp, ec);
    return Error(Errc::kProtocol, "blob " + digest + " is " + std::to_string(done) + " bytes, its descriptor declares " +
                                      std::to_string(size));
  }
  if (hash.digest() != digest) {
    std::filesystem::remove(tmp, ec);
    return Error(Errc::kProtocol, "filesystem layer verification failed for digest " + digest);
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) return Error(Errc::kIo, "renaming " + tmp + ": " + ec.message());
  return ok();
}

std::string transportErrorText(int curlCode, std::string_view detail) {
  auto has = [&](std::string_view what) { return detail.find(what) != std::string_view::npos; };
  auto rc = static_cast<CURLcode>(curlCode);
  if (rc == CURLE_PEER_FAILED_VERIFICATION) {
    std::string why;
    if (has("unable to get local issuer certificate") || has("self-signed certificate") || has("self signed certificate") ||
        has("unable to verify the first certificate") || has("unable to get issuer certificate")) {
      why = "x509: certificate signed by unknown authority";
    } else if (has("certificate has expired") || has("certificate is not yet valid")) {
      why = "x509: certificate has expired or is not yet valid";
    } else if (has("subject name") || has("does not match target host name")) {
      why = "x509: certificate is not valid for this host (" + printable(detail, 200) + ")";
    } else {
      why = detail.empty() ? std::string(curl_easy_strerror(rc)) : printable(detail, 200);
    }
    return "tls: failed to verify certificate: " + why;
  }
  if (rc == CURLE_SSL_CONNECT_ERROR && (has("wrong version number") || has("packet length too long"))) {
    return "http: server gave HTTP response to HTTPS client";
  }
  return curl_easy_strerror(rc);
}

bool plainHttpAllowed(const std::string& authority, bool registryPlainHttp, const std::string& registryHost) {
  // Loopback hosts, and the registry's own host when it is reached over plain HTTP (a loopback
  // registry, or an insecure one that fell back to http).
  std::string own = registryHost;
  for (char& ch : own) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return isLoopbackRegistry(authority) || (registryPlainHttp && authority == own);
}

Status checkTokenRealm(std::string_view realm, bool registryPlainHttp, const std::string& registryHost) {
  auto u = parseHttpUrl(realm);
  if (!u) return std::move(u).error().wrap("refusing the registry's token realm");
  if (u->scheme == "https") return ok();
  if (registryPlainHttp && plainHttpAllowed(u->authority, registryPlainHttp, registryHost)) return ok();
  return Error(Errc::kForbidden, "refusing the registry's token realm \"" + printable(realm, 200) +
                                     "\": plain http is allowed only for a plain-HTTP registry on this host");
}

std::pair<std::string, std::string> registryErrorBody(std::string_view body) {
  auto j = parseJson(body);
  if (!j.is_object()) return {};
  auto errors = j.find("errors");
  if (errors == j.end() || !errors->is_array() || errors->empty()) return {};
  FieldReader r(errors->front(), "errors[0]");
  std::string code = r.str("code"), message = r.str("message");
  if (!r.ok()) return {};
  return {printable(code, 64), printable(message, 512)};
}

}  // namespace vic::images
