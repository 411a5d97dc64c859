// The builder's unit-test fixture: a context directory, a FakeBuildHost with a busybox-like base
// image, a step cache that lasts the test, and build() driving Builder::build on an io_context.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/blocking.h"
#include "common/files.h"
#include "common/testing/temp_dir.h"
#include "runtime/build/builder.h"
#include "runtime/build/fake_build_host.h"

namespace vic::build {

inline nlohmann::json baseConfig() {
  return nlohmann::json::parse(R"({"architecture":"amd64","os":"linux",
    "config":{"Env":["PATH=/usr/bin:/bin"],"Cmd":["sh"]},
    "rootfs":{"type":"layers","diff_ids":["sha256:base"]},"history":[{"created_by":"base"}]})");
}

// What one build gave.
struct Built {
  Result<std::string> id = Error(Errc::kInternal, "never ran");
  std::optional<BuildFailure> failure;
  std::vector<std::string> unused;
  std::string out;  // the client's text
  std::string error() const { return id ? std::string("(built)") : id.error().message(); }
  size_t count(const std::string& text) const {
    size_t n = 0;
    for (auto at = out.find(text); at != std::string::npos; at = out.find(text, at + 1)) ++n;
    return n;
  }
};

class BuilderTest : public ::testing::Test {
 protected:
  BuilderTest() {
    std::filesystem::create_directories(ctx_);
    host.addImage("busybox", baseConfig(), "sha256:basechain");
  }

  void file(const std::string& rel, const std::string& content, mode_t mode = 0644) {
    auto p = ctx_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    ::chmod(p.c_str(), mode);
  }
  void symlink(const std::string& rel, const std::string& target) {
    std::filesystem::create_directories((ctx_ / rel).parent_path());
    std::filesystem::create_symlink(target, ctx_ / rel);
  }

  Built build(std::string_view dockerfile, BuildOptions opts = {}) {
    Built b;
    auto parsed = parseDockerfile(dockerfile);
    if (!parsed) {
      b.id = parsed.error();
      return b;
    }
    DockerIgnore ignore;
    if (std::filesystem::exists(ctx_ / ".dockerignore")) {
      auto d = DockerIgnore::parse(readFile((ctx_ / ".dockerignore").string()));
      EXPECT_TRUE(d) << d.error().message();
      if (d) ignore = *d;
    }
    auto root = GuestRoot::open(ctx_.string());
    EXPECT_TRUE(root) << root.error().message();
    opts.workDir = (dir_ / ("work-" + std::to_string(++builds_))).string();
    std::filesystem::create_directories(opts.workDir);
    Output out = [&b](std::string text) -> asio::awaitable<bool> {
      b.out += text;
      co_return true;
    };
    Builder builder(host, cache, *root, ignore, opts, out, pool);
    asio::io_context io;
    auto drive = [&]() -> asio::awaitable<void> {
      IoThreadScope mark;
      b.id = co_await builder.build(*parsed);
    };
    asio::co_spawn(io, drive, asio::detached);
    io.run();
    b.failure = builder.failure();
    b.unused = builder.unusedBuildArgs();
    return b;
  }

  // The recorded image's config ("config" of docker's image JSON).
  const nlohmann::json& runConfig() const { return host.recorded->config["config"]; }
  const nlohmann::json& image() const { return host.recorded->config; }

  vic::testing::TempDir dir_{"vic-builder"};
  std::filesystem::path ctx_ = dir_ / "context";
  FakeBuildHost host;
  BlockingPool pool{1};
  BuildCache cache{(dir_ / "cache" / "build-cache.json").string()};
  int builds_ = 0;
};

}  // namespace vic::build
