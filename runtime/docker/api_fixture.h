// The in-memory Docker API harness: the real router and handlers over TestVch (the real
// PortLayer on a FakeHypervisor whose VMs boot a fake tether). Requests go in as bytes through a
// Stream; answers come back as bytes and are parsed as the docker CLI reads them.
#pragma once

#include <sstream>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/docker/api.h"
#include "runtime/portlayer/exec_sessions.h"
#include "runtime/portlayer/image_ops.h"
#include "runtime/portlayer/test_vch.h"

namespace vic::docker::testing {

using nlohmann::json;
using namespace std::chrono_literals;

// One connection's bytes: the request is read, then the client half-closes.
class MemoryStream : public Stream {
 public:
  struct State {
    std::string in, out;
    size_t read = 0;
    bool closed = false;
  };
  explicit MemoryStream(std::shared_ptr<State> s) : s_(std::move(s)) {}
  asio::awaitable<size_t> readSome(asio::mutable_buffer buf) override {
    size_t n = std::min(buf.size(), s_->in.size() - s_->read);
    std::copy_n(s_->in.data() + s_->read, n, static_cast<char*>(buf.data()));
    s_->read += n;
    co_return n;
  }
  asio::awaitable<bool> writeAll(std::string_view data) override {
    s_->out += data;
    co_return !s_->closed;
  }
  void shutdownSend() override {}
  void close() override { s_->closed = true; }

 private:
  std::shared_ptr<State> s_;
};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;  // de-chunked
  json js() const { return json::parse(body); }
  std::string message() const { return json::parse(body).value("message", ""); }
};

inline std::string dechunk(const std::string& raw) {
  std::string out;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t n = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) break;
    out += raw.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

inline Reply parseReply(const std::string& raw) {
  Reply r;
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  std::string head = raw.substr(0, end);
  r.status = std::stoi(head.substr(9, 3));
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(ch));
      r.headers[name] = line.substr(colon + 2);
    }
    pos = next;
  }
  std::string body = raw.substr(end + 4);
  r.body = r.headers["transfer-encoding"] == "chunked" ? dechunk(body) : body;
  return r;
}

// docker's stdcopy frames: [stream, 0, 0, 0, size(4, big-endian)] + payload.
inline std::map<int, std::string> demux(const std::string& s) {
  std::map<int, std::string> out;
  size_t pos = 0;
  while (pos + 8 <= s.size()) {
    int stream = s[pos];
    uint32_t n = (uint8_t(s[pos + 4]) << 24) | (uint8_t(s[pos + 5]) << 16) | (uint8_t(s[pos + 6]) << 8) | uint8_t(s[pos + 7]);
    out[stream] += s.substr(pos + 8, n);
    pos += 8 + n;
  }
  return out;
}

// A query value percent-encoded.
inline std::string uri(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') out += static_cast<char>(ch);
    else out += std::string("%") + hex[ch >> 4] + hex[ch & 15];
  }
  return out;
}

// A JSON stream's lines (pull, push and build progress), parsed.
inline std::vector<nlohmann::json> jsonLines(const std::string& body) {
  std::vector<nlohmann::json> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

class Api : public ::testing::Test {
 protected:
  // `registries`: the VCH's insecure registries (docker info shows them; ImageOps honours them).
  explicit Api(const std::vector<std::string>& registries = {})
      : execs(*t.pl), imageOps(*t.pl, *t.images, blocking, images::RegistryPolicy{registries, ""}),
        api(t.io(), *t.pl, *t.images, ApiInfo{"vch-t", "vch-t", 2, 4ull << 30, registries, "virtio-serial (no /dev/vhost-vsock on this host)", "tcg"}, execs, imageOps) {}

  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& contentType = "application/json") {
    auto state = std::make_shared<MemoryStream::State>();
    state->in = method + " /v1.47" + target + " HTTP/1.1\r\nHost: docker\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n";
    if (!body.empty()) state->in += "Content-Type: " + contentType + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    state->in += "Connection: close\r\n\r\n" + body;
    t.run(api.serve(std::make_unique<MemoryStream>(state)), 30s);
    return parseReply(state->out);
  }
  // A request whose answer streams (attach, logs -f): served in the background until finish().
  struct Pending {
    std::shared_ptr<MemoryStream::State> state;
    std::shared_ptr<bool> done;
  };
  Pending send(const std::string& method, const std::string& target, const std::string& extraHeaders = "") {
    Pending p{std::make_shared<MemoryStream::State>(), std::make_shared<bool>(false)};
    p.state->in = method + " /v1.47" + target + " HTTP/1.1\r\nHost: docker\r\n" + extraHeaders + "\r\n";
    asio::co_spawn(t.io(), api.serve(std::make_unique<MemoryStream>(p.state)), [done = p.done](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      *done = true;
    });
    return p;
  }
  Reply finish(const Pending& p) {
    for (int i = 0; i < 1000 && !*p.done; ++i) t.pump(std::chrono::milliseconds(10));
    EXPECT_TRUE(*p.done) << "the streaming request did not end";
    return parseReply(p.state->out);
  }
  std::string create(const std::string& name, const json& cmd, const json& extra = json::object()) {
    json req = {{"Image", "busybox"}, {"Cmd", cmd}};
    req.update(extra);
    auto r = call("POST", "/containers/create" + (name.empty() ? "" : "?name=" + name), req.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.js()["Id"].get<std::string>() : "";
  }
  int waitExit(const std::string& id) {
    auto r = call("POST", "/containers/" + id + "/wait");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.js()["StatusCode"].get<int>();
  }

  pl::TestVch t;
  BlockingPool blocking{1};
  pl::ExecSessions execs;
  pl::ImageOps imageOps;
  DockerApi api;
};

}  // namespace vic::docker::testing
