// A registry that answers what a test tells it to, on 127.0.0.1 (port 0): canned status,
// headers and body per path, for hostile answers a real registry never gives (wrong types,
// huge bodies, odd realms, invalid UTF-8). With acceptPushes() it also keeps what is pushed, as
// a small distribution registry would (uploads, mounts, manifests). One thread, one request per
// connection. A TLS handshake gets Go's plain-HTTP server's 400 (and is recorded with the
// method "TLS"). Test only.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace vic::images {

class FakeRegistry {
 public:
  struct Answer {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  struct Request {
    std::string path;           // with the query string
    std::string authorization;  // the Authorization header, if any
    std::string method, contentType, contentRange;
    size_t bodySize = 0;
  };

  FakeRegistry();  // listening when constructed
  ~FakeRegistry();
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  std::string host() const;  // "127.0.0.1:<port>"
  // Answers any request for `path` (query string ignored); anything else gets 404 (or, with
  // acceptPushes, what the registry keeps).
  void set(const std::string& path, Answer a);
  std::vector<Request> requests() const;

  // Keeps pushes: POST /v2/<repo>/blobs/uploads/ (?mount=&from= mounts a blob `from` has),
  // PATCH with Content-Range, PUT ?digest= (checked), HEAD/GET of blobs, PUT/GET of manifests
  // (refused with MANIFEST_BLOB_UNKNOWN when they name a blob the repository lacks).
  void acceptPushes();
  // Every /v2/ request without this Authorization header gets `refusal` (a challenge).
  void requireAuth(std::string authorization, Answer refusal);
  // What the registry keeps: a blob of a repository, a manifest by tag or digest.
  std::optional<std::string> blob(const std::string& repo, const std::string& digest) const;
  struct Manifest {
    std::string contentType, body;
  };
  std::optional<Manifest> manifest(const std::string& repo, const std::string& ref) const;
  // Puts a blob into a repository, as if pushed earlier.
  void addBlob(const std::string& repo, const std::string& data);

 private:
  struct Upload {
    std::string repo, data;
  };
  void serve();
  void answer(int fd);
  Answer registryAnswer(const std::string& method, const std::string& target, const std::string& head,
                        const std::string& body);  // with mu_ held

  UniqueFd listener_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, Answer> answers_;
  std::vector<Request> requests_;
  bool pushes_ = false;
  std::optional<std::pair<std::string, Answer>> auth_;
  std::map<std::string, std::string> blobs_;                 // digest -> bytes
  std::map<std::string, std::set<std::string>> repoBlobs_;   // repo -> digests
  std::map<std::string, Manifest> manifests_;                // "repo:tag" and "repo@digest"
  std::map<std::string, Upload> uploads_;
  int nextUpload_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vic::images
