// docker build (POST /build, the classic builder's API): the context tar spooled to disk as it
// came, extracted with the same safe code as layers, the Dockerfile parsed, and the steps run by
// runtime/build's Builder in containerVMs of this VCH. The answer is the classic builder's JSON
// stream: {"stream": ...} lines, {"aux": {"ID": ...}}, and an error as the last line (the CLI
// then exits non-zero, with a failing RUN's code).
#include <filesystem>

#include "common/files.h"
#include "common/json.h"
#include "images/layer_apply.h"
#include "images/reference.h"
#include "runtime/build/builder.h"
#include "runtime/build/vch_build_host.h"
#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/query.h"

namespace vic::docker {
namespace fs = std::filesystem;

namespace {

inline constexpr size_t kMaxDockerfileBytes = 4 << 20;

std::string streamLine(const std::string& text) { return dumpJson(nlohmann::json{{"stream", text}}) + "\n"; }

std::string errorLine(const std::string& message, int code) {
  nlohmann::json detail = {{"message", message}};
  if (code != 0) detail["code"] = code;
  return dumpJson(nlohmann::json{{"errorDetail", detail}, {"error", message}}) + "\n";
}

// buildargs / labels: a JSON object of strings (a null build arg: declared, no value).
Result<nlohmann::json> jsonParam(const Request& r, const std::string& name) {
  std::string text = r.param(name);
  if (text.empty()) return nlohmann::json::object();
  auto j = parseJson(text);
  if (!j.is_object()) return Error(Errc::kInvalidArgument, "invalid " + name + ": not a JSON object");
  return j;
}

Result<build::BuildOptions> buildOptions(const Request& r) {
  build::BuildOptions o;
  for (const auto& t : r.params("t")) {
    auto ref = images::parseReference(t);
    if (!ref) return Error(Errc::kInvalidArgument, "invalid reference format: " + ref.error().message());
    o.tags.push_back(ref->str());
  }
  auto args = jsonParam(r, "buildargs");
  if (!args) return std::move(args).error();
  for (const auto& [k, v] : args->items()) {
    if (v.is_string()) o.buildArgs[k] = v.get<std::string>();
    else o.buildArgs[k] = std::nullopt;
  }
  auto labels = jsonParam(r, "labels");
  if (!labels) return std::move(labels).error();
  for (const auto& [k, v] : labels->items()) o.labels[k] = v.is_string() ? v.get<std::string>() : "";
  o.target = r.param("target");
  o.noCache = boolParam(r, "nocache", false);
  o.pull = boolParam(r, "pull", false);
  return o;
}

// The Dockerfile and .dockerignore from the extracted context (read inside it: a symlinked
// Dockerfile cannot name a host file).
Result<std::string> contextFile(const GuestRoot& root, const std::string& name, bool required) {
  auto fd = root.openPath(name, O_RDONLY | O_CLOEXEC);
  if (!fd) {
    if (!required) return std::string();
    return Error(Errc::kInvalidArgument, "Cannot locate specified Dockerfile: " + name);
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0) return Error::fromErrno("reading " + name);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxDockerfileBytes) return Error(Errc::kInvalidArgument, name + " is larger than 4 MiB");
  }
  return text;
}

struct Prepared {
  std::optional<GuestRoot> root;
  build::Dockerfile file;
  build::DockerIgnore ignore;
};

// Blocking: the context into `dir`, then its Dockerfile and .dockerignore parsed.
Result<Prepared> prepare(const std::string& tarFile, const std::string& dir, const std::string& dockerfile) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  images::ExtractOptions eo;
  eo.whiteouts = false;
  eo.devices = false;
  if (auto x = images::extractTar(tarFile, dir, eo); !x) return std::move(x).error().wrap("extracting the build context");
  auto root = GuestRoot::open(dir);
  if (!root) return std::move(root).error();
  Prepared p;
  auto text = contextFile(*root, dockerfile, true);
  if (!text) return std::move(text).error();
  auto parsed = build::parseDockerfile(*text, dockerfile);
  if (!parsed) return std::move(parsed).error();
  p.file = std::move(*parsed);
  auto ignoreText = contextFile(*root, ".dockerignore", false);
  if (!ignoreText) return std::move(ignoreText).error();
  auto ignore = build::DockerIgnore::parse(*ignoreText);
  if (!ignore) return std::move(ignore).error();
  p.ignore = std::move(*ignore);
  p.root.emplace(std::move(*root));
  return p;
}

// What ends the stream: the error (a failing RUN's code with it), or the warnings, the image id
// and docker's "Successfully built/tagged" lines.
std::string buildTail(const Result<std::string>& id, const build::Builder& builder, const build::BuildOptions& opts, bool quiet) {
  if (!id) {
    const auto& failure = builder.failure();
    return failure ? errorLine(failure->message, failure->code) : errorLine(id.error().message(), 1);
  }
  std::string tail;
  auto unused = builder.unusedBuildArgs();
  if (!unused.empty() && !quiet) {
    std::string names;
    for (const auto& u : unused) names += (names.empty() ? "" : " ") + u;
    tail += streamLine("[Warning] One or more build-args [" + names + "] were not consumed\n");
  }
  tail += dumpJson(nlohmann::json{{"aux", {{"ID", *id}}}}) + "\n";
  if (quiet) return tail + streamLine(*id + "\n");
  tail += streamLine("Successfully built " + build::cfg::shortId(*id) + "\n");
  for (const auto& t : opts.tags) {
    auto ref = images::parseReference(t);
    tail += streamLine("Successfully tagged " + (ref ? ref->familiar() : t) + "\n");
  }
  return tail;
}

}  // namespace

std::string buildCacheFile(const images::ImageStore& images) {
  return (fs::path(images.downloadDir()).parent_path() / "build-cache.json").string();
}

asio::awaitable<void> DockerApi::build(Ctx& c) {
  if (!c.req.param("remote").empty()) co_return co_await c.fail(notImplemented("docker build from a remote context"));
  if (c.req.param("version") == "2") co_return co_await c.fail(notImplemented("BuildKit builds (vic has the classic builder)"));
  auto opts = buildOptions(c.req);
  if (!opts) co_return co_await c.fail(opts.error());
  auto file = uploadFile(c.req, images_.downloadDir());
  if (!file) co_return co_await c.fail(file.error());
  std::string work = images_.downloadDir() + "/build-" + pl::newContainerId().substr(0, 16);
  std::string dockerfile = c.req.param("dockerfile");
  if (dockerfile.empty()) dockerfile = "Dockerfile";
  auto prepareIt = [tar = (*file)->path(), work, dockerfile] { return prepare(tar, work + "/context", dockerfile); };
  auto prepared = co_await imageOps_.blocking().run(prepareIt);
  c.req.bodyFile.reset();
  auto cleanup = [work] {
    std::error_code ec;
    fs::remove_all(work, ec);
  };
  if (!prepared) {
    co_await imageOps_.blocking().run(cleanup);
    co_return co_await c.fail(prepared.error());
  }
  bool quiet = boolParam(c.req, "q", false);
  bool alive = co_await c.streamHeader(chunkedHeader(200, "application/json"));
  build::Output out = [&c, &alive, quiet](std::string text) -> asio::awaitable<bool> {
    if (alive && !quiet) alive = co_await c.s.writeAll(chunk(streamLine(text)));
    co_return alive;
  };
  opts->workDir = work;
  build::BuildCache cache(buildCacheFile(images_));
  build::VchBuildHost host(pl_, imageOps_, images_, images::RegistryOptions{});
  build::Builder builder(host, cache, *prepared->root, prepared->ignore, *opts, out, imageOps_.blocking());
  auto id = co_await builder.build(prepared->file);
  co_await imageOps_.blocking().run(cleanup);
  std::string tail = buildTail(id, builder, *opts, quiet);
  if (alive) alive = co_await c.s.writeAll(chunk(tail));
  if (alive) co_await c.s.writeAll(kLastChunk);
}

}  // namespace vic::docker
