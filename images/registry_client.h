// A registry v2 / OCI distribution client on libcurl: manifests (exact bytes, digest checked),
// blobs streamed to a file with their sha256 verified, anonymous/Basic/Bearer auth with a
// token cache, plain HTTP for loopback registries. One client per repository.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "common/result.h"
#include "images/auth.h"
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
  // Streams the blob to `file` (temp + rename), verifying `digest`; resumes with Range.
  Status fetchBlob(const std::string& digest, const std::string& file, const Progress& progress = {});
  Result<std::string> fetchBlobBytes(const std::string& digest, size_t limit = 4 << 20);

  std::string baseUrl() const;

 private:
  struct Response {
    long status = 0;
    std::string body, contentType, wwwAuthenticate;
  };
  Result<Response> get(const std::string& url, const std::map<std::string, std::string>& headers,
                       const std::function<bool(const char*, size_t)>& sink, uint64_t offset = 0);
  Result<Response> getAuthorized(const std::string& url, std::map<std::string, std::string> headers,
                                 const std::function<bool(const char*, size_t)>& sink, uint64_t offset = 0);
  Status authenticate(const std::string& challengeHeader);
  Error httpError(const Response& r, const std::string& what) const;

  Reference ref_;
  RegistryOptions opts_;
  std::string authHeader_;  // "Bearer ..." or "Basic ..."
  void* curl_ = nullptr;
};

bool isLoopbackRegistry(const std::string& domain);

}  // namespace vic::images
