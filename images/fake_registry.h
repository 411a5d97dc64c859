// A registry that answers what a test tells it to, on 127.0.0.1 (port 0): canned status,
// headers and body per path, for hostile answers a real registry never gives (wrong types,
// huge bodies, odd realms, invalid UTF-8). One thread, one request per connection. Test only.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
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
  };

  FakeRegistry();  // listening when constructed
  ~FakeRegistry();
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  std::string host() const;  // "127.0.0.1:<port>"
  // Answers GET `path` (query string ignored); anything else gets 404.
  void set(const std::string& path, Answer a);
  std::vector<Request> requests() const;

 private:
  void serve();
  void answer(int fd);

  UniqueFd listener_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, Answer> answers_;
  std::vector<Request> requests_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vic::images
