// A registry v2 / OCI distribution client on libcurl: manifests (exact bytes, digest checked),
// blobs streamed to a file with their sha256 verified, anonymous/Basic/Bearer auth with a
// token cache, plain HTTP for loopback registries, dockerd's https-then-http rule for insecure
// registries. One client per repository (not thread-safe).
// Pushing (registry_push.cc): blob HEAD, cross-repository mounts, uploads (one PUT, or PATCH
// chunks then PUT), manifest PUT by tag; and docker login's check.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// How a registry is reached (registryOptionsFor in registry_policy.h decides it per registry).
enum class RegistryTransport {
  kHttps,          // TLS with the certificate verified (against caFile, else curl's CA bundle)
  kInsecure,       // an insecure registry (dockerd's --insecure-registry): TLS without verifying the
                   // certificate, and plain http when nothing answers over https; settles on first answer
  kInsecureHttps,  // an insecure registry that answered over https: unverified TLS, no fallback any more
  kHttp,           // plain http: loopback registries (always), an insecure registry that fell back
};

struct RegistryOptions {
  Credentials creds;
  RegistryTransport transport = RegistryTransport::kHttps;  // kHttp whatever is asked for loopback registries
  int attempts = 3;
  std::string caFile;       // PEM CA bundle for verified TLS (else curl's default bundle)
  bool push = false;        // the token asked for is "repository:<name>:pull,push"
  std::vector<std::string> mountFrom;  // other repositories (paths) blobs may be mounted from: pull scope for each
  uint64_t chunkBytes = 16 << 20;      // a blob larger than this is uploaded in PATCH chunks of this size
  std::vector<std::string> resolve;    // "host:port:address" pins, as curl's --resolve (tests name a loopback fake)
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

  // Pushing (registry_push.cc). Errors use docker's words for the registry's answer
  // (registryErrorText), or "<Method> \"<url>\": <why>" when the registry could not be reached.
  // HEAD of a blob: its size when this repository has it, nullopt when it does not. `lenient`:
  // any other answer counts as "not there" too (moby's check before a layer upload, whose own
  // request then reports the registry's error); an unreachable registry is still an error.
  Result<std::optional<int64_t>> blobSize(const std::string& digest, bool lenient = false);
  // POST ?mount=&from=: true when the registry mounted the blob from `fromRepo`; false when it
  // started an upload instead (the next uploadBlob continues that one).
  Result<bool> mountBlob(const std::string& digest, const std::string& fromRepo);
  // Uploads `file` as the blob `digest`: one PUT up to chunkBytes, else PATCH chunks and a
  // closing PUT. `progress` gets the bytes sent so far and the total.
  Status uploadBlob(const std::string& digest, const std::string& file, const Progress& progress = {});
  Status uploadBlobBytes(const std::string& digest, const std::string& bytes);
  // PUT /manifests/<tag> with Content-Type `mediaType`.
  Status putManifest(const std::string& tag, const std::string& mediaType, const std::string& body);
  // docker login's check: GET /v2/ answering a Basic or Bearer challenge with the credentials.
  // An error of kind kForbidden when the registry refused them (the API's 401).
  Status checkLogin();

  std::string baseUrl() const;
  // Where the client stands: for an insecure registry, kInsecureHttps or kHttp once something
  // answered (a client made with it skips the discovery).
  RegistryTransport transport() const { return opts_.transport; }
  // GET /v2/ without credentials, as moby's ping before a push: settles an insecure registry's
  // transport. Any HTTP answer is fine; an error only when nothing answered.
  Status ping();

  // One request body: `bytes`, or `length` bytes of the file `fd` from `offset`.
  struct Upload {
    const std::string* bytes = nullptr;
    int fd = -1;
    uint64_t offset = 0, length = 0;
    std::function<void(uint64_t sent)> sent;  // bytes of this body sent so far
  };

 private:
  struct Response {
    long status = 0;
    std::string body, contentType, wwwAuthenticate, location, statusLine, range;
    int64_t contentLength = -1;
  };
  struct Call {
    std::string method = "GET";
    std::string url;
    std::map<std::string, std::string> headers;
    std::function<bool(const char*, size_t)> sink;  // a success body, streamed
    uint64_t offset = 0;                            // GET from this byte (Range)
    size_t bodyLimit = kMaxErrorBytes;              // a success body not streamed: more is an error
    const Upload* upload = nullptr;                 // the request body
  };
  // `bodyLimit` bounds a success body that is not given to `sink` (an error past it); an
  // error status's body is cut at kMaxErrorBytes (or bodyLimit, if smaller). For an insecure
  // registry not settled yet, a request to its https origin that gets no answer is sent again
  // over plain http (dockerd's endpoint fallback), and the first answer settles the transport.
  Result<Response> send(const Call& call);
  Result<Response> sendOnce(const Call& call, bool& answered);
  bool plainHttp() const { return opts_.transport == RegistryTransport::kHttp; }
  // send(), answering a 401's challenge once.
  Result<Response> sendAuthorized(Call call);
  Result<Response> get(const std::string& url, const std::map<std::string, std::string>& headers,
                       const std::function<bool(const char*, size_t)>& sink, uint64_t offset = 0,
                       size_t bodyLimit = kMaxErrorBytes);
  Result<Response> getAuthorized(const std::string& url, std::map<std::string, std::string> headers,
                                 const std::function<bool(const char*, size_t)>& sink, uint64_t offset = 0,
                                 size_t bodyLimit = kMaxErrorBytes);
  Status authenticate(const std::string& challengeHeader);
  std::vector<std::string> scopes() const;
  Error httpError(const Response& r, const std::string& what) const;
  // Push helpers (registry_push.cc).
  Error pushError(const Response& r) const;
  Result<std::string> uploadUrl(const std::string& location) const;  // a Location, resolved and checked
  Result<std::string> startUpload();
  std::string origin() const;  // "http://127.0.0.1:5000"

  Reference ref_;
  RegistryOptions opts_;
  std::string authHeader_;  // "Bearer ..." or "Basic ..."
  std::string pendingUpload_;  // an upload a refused mount started
  void* curl_ = nullptr;
};

// docker's words for a registry's error answer, as distribution's client and moby's push print
// them (HandleErrorResponse, errcode, the first error of several): "unauthorized: authentication
// required", "denied: requested access to the resource is denied", "blob unknown: blob unknown
// to registry", "received unexpected HTTP status: 500 Internal Server Error". Pure, total.
// `statusLine` is the status line's "500 Internal Server Error" part ("" for the standard text).
std::string registryErrorText(long status, std::string_view body, std::string_view wwwAuthenticate = "",
                              std::string_view statusLine = "");

// docker login: checks `creds` against the registry at `server` ("127.0.0.1:5000",
// "https://index.docker.io/v1/", "registry.example.com"). Errors as RegistryClient::checkLogin.
Status login(const std::string& server, const Credentials& creds, RegistryOptions opts = {});

inline constexpr long kMaxRedirects = 10;  // as docker's Go client

// 127.0.0.0/8 (dotted quad), [::1] and localhost, with or without a port.
bool isLoopbackRegistry(const std::string& domain);

// The reason a request got no answer, in the words of Go's client where docker users know them:
// "tls: failed to verify certificate: x509: certificate signed by unknown authority", "http:
// server gave HTTP response to HTTPS client"; otherwise curl's ("Couldn't connect to server").
// `detail` is curl's error buffer (pure).
std::string transportErrorText(int curlCode, std::string_view detail);

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
