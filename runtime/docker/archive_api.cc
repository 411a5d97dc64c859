// docker cp and export: HEAD/GET/PUT /containers/{id}/archive and GET /containers/{id}/export.
// The CLI needs X-Docker-Container-Path-Stat on HEAD and GET to decide how to name what it
// copies; the tar itself comes from (or goes to) the port layer, which picks tether or the disk.
#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/docker_json.h"

namespace vic::docker {

asio::awaitable<void> DockerApi::archive(Ctx& c, const std::string& id) {
  std::string path = c.req.param("path");
  if (path.empty()) co_return co_await c.fail(Error(Errc::kInvalidArgument, "path parameter is required"));
  if (c.req.method == "PUT") {
    vsock::SinkOptions opts{c.req.flag("copyUIDGID"), c.req.flag("noOverwriteDirNonDir")};
    auto tar = uploadFile(c.req, images_.downloadDir());
    if (!tar) co_return co_await c.fail(tar.error());
    std::string tarPath = (*tar)->path();
    auto st = co_await pl_.writeArchive(id, path, tarPath, opts);
    co_return st ? co_await c.empty(200) : co_await c.fail(st.error());
  }
  auto stat = co_await pl_.statPath(id, path);
  if (!stat) co_return co_await c.fail(stat.error());
  std::map<std::string, std::string> headers{{"X-Docker-Container-Path-Stat", pathStatHeader(*stat)}};
  if (c.req.method == "HEAD") {
    Response r{200, "", "", headers};
    co_return co_await c.reply(r);
  }
  std::string header = chunkedHeader(200, "application/x-tar", headers);  // named: GCC 12 and temporaries in co_await
  // Named, and its captures outlive the read, which takes them by reference.
  vsock::SourceOptions opts;
  TarProducer produce = [this, id, path, opts](const pl::PortLayer::ChunkSink& out) {
    return pl_.readArchive(id, path, opts, out);
  };
  co_await streamTar(c, header, produce);
}

asio::awaitable<void> DockerApi::exportContainer(Ctx& c, const std::string& id) {
  vsock::SourceOptions opts;
  opts.contentOnly = true;
  opts.oneFilesystem = true;  // as docker: the container's own filesystem, no volumes
  std::string header = chunkedHeader(200, "application/x-tar");
  TarProducer produce = [this, id, opts, root = std::string("/")](const pl::PortLayer::ChunkSink& out) {
    return pl_.readArchive(id, root, opts, out);
  };
  co_await streamTar(c, header, produce);
}

// A tar answer: the header goes out with the first bytes, so an error before them is still
// an ordinary error answer; one after them ends the connection (the CLI reports a short tar).
asio::awaitable<void> DockerApi::streamTar(Ctx& c, const std::string& header, const TarProducer& produce) {
  bool started = false;
  Stream& s = c.s;
  pl::PortLayer::ChunkSink out = [&s, &started, &header](std::span<const uint8_t> bytes) -> asio::awaitable<bool> {
    if (!started) {
      started = true;
      if (!co_await s.writeAll(header)) co_return false;
    }
    std::string piece = chunk(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    co_return co_await s.writeAll(piece);
  };
  auto st = co_await produce(out);
  if (!started && !st) co_return co_await c.fail(st.error());
  c.done = true;
  c.closeAfter = true;
  if (!started && !co_await s.writeAll(header)) co_return;
  if (st) co_await s.writeAll(kLastChunk);
}

}  // namespace vic::docker
