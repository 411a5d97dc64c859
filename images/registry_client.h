// A registry v2 / OCI distribution client on libcurl: manifests (exact bytes, digest checked),
// blobs streamed to a file with their sha256 verified, anonymous/Basic/Bearer auth with a
// token cache, plain HTTP for loopback registries. One client per repository.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "images/auth.h"
#include "images/manifest.h"
#include "images/reference.h"

namespace vic::images {

struct FetchedManifest {
  std::string body;         // exact bytes as received
  std::string contentType;
  std::string digest;       // sha256 of body
};

struct RegistryOptions {
  Credentials creds;
  bool insecure = false;    // plain HTTP (always for 127.0.0.0/8, ::1 and localhost)
  int attempts = 3;
  std::string caFile;       // PEM CA bundle for this registry (else the system's CAs)
};

class RegistryClient {
 public:
  using Progress = std::function<void(uint64_t done, uint64_t total)>;
  RegistryClient(Reference ref, RegistryOptions opts);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // tag or digest; a digest reference is checked against the bytes.
  Result<FetchedManifest> manifest(const std::string& tagOrDigest);
  // Streams the blob to `file` (temp + rename), verifying `digest`; resumes with Range. Reading
  // stops with an error once more than `size` (the descriptor's) bytes arrive.
  Status fetchBlob(const std::string& digest, int64_t size, const std::string& file, const Progress& progress = {});
  // A small blob (an image config) in memory; more than `limit` bytes is an error.
  Result<std::string> fetchBlobBytes(const std::string& digest, size_t limit = kMaxConfigBytes);

  std::string baseUrl() const;

 private:
  struct Response {
    long status = 0;
    std::string body, contentType, wwwAuthenticate;
  };
  // `bodyLimit` bounds a success body that is not given to `sink` (an error past it); an
  // error status's body is cut at kMaxErrorBytes (or bodyLimit, if smaller).
  Result<Response> get(const std::string& url, const std::map<std::string, std::string>& headers,
                       const std::function<bool(const char*, size_t)>& sink, uint64_t offset = 0,
                       size_t bodyLimit = kMaxErrorBytes);
  Result<Response> getAuthorized(const std::string& url, std::map<std::string, std::string> headers,
                                 const std::function<bool(const char*, size_t)>& sink, uint64_t offset = 0,
                                 size_t bodyLimit = kMaxErrorBytes);
  Status authenticate(const std::string& challengeHeader);
  Error httpError(const Response& r, const std::string& what) const;

  Reference ref_;
  RegistryOptions opts_;
  std::string authHeader_;  // "Bearer ..." or "Basic ..."
  void* curl_ = nullptr;
};

inline constexpr long kMaxRedirects = 10;  // as docker's Go client

// 127.0.0.0/8 (dotted quad), [::1] and localhost, with or without a port.
bool isLoopbackRegistry(const std::string& domain);

// Whether plain http may go to `authority` (host[:port]) for a registry at `registryHost`.
bool plainHttpAllowed(const std::string& authority, bool registryPlainHttp, const std::string& registryHost);
// Whether a Bearer realm (a URL from the registry's WWW-Authenticate) may be fetched, with the
// credentials: https anywhere; plain http only when the registry itself is plain HTTP and the
// realm's host is allowed plain http. Never file://, gopher://, ...
Status checkTokenRealm(std::string_view realm, bool registryPlainHttp, const std::string& registryHost);

// The first error's code and message of a registry error body ({"errors":[{"code","message"}]}),
// made printable; empty when the body is anything else (pure, total).
std::pair<std::string, std::string> registryErrorBody(std::string_view body);

}  // namespace vic::images
