// The registry routes: docker push (POST /images/{name}/push, streamed progress like pull's) and
// docker login (POST /auth). The work is pl::ImageOps's; here the request is read and answered.
#include <nlohmann/json.hpp>

#include "images/auth.h"
#include "images/reference.h"
#include "runtime/docker/api.h"
#include "runtime/docker/api_ctx.h"
#include "runtime/docker/json_fields.h"

namespace vic::docker {

namespace {

// X-Registry-Auth, ignored when it does not decode (dockerd's leniency).
images::Credentials registryAuth(const Request& req) {
  std::string header = req.header("x-registry-auth");
  if (header.empty()) return {};
  auto creds = images::decodeRegistryAuth(header);
  return creds ? *creds : images::Credentials{};
}

std::string stringField(const nlohmann::json& j, const char* key) {
  auto v = field(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

}  // namespace

// docker push: ?tag= names the tag (the CLI sends none for --all-tags: every tag goes).
asio::awaitable<void> DockerApi::push(Ctx& c, const std::string& name) {
  std::string tag = c.req.param("tag");
  std::string ref = tag.empty() ? name : name + ":" + tag;
  if (auto parsed = images::parseReference(ref); !parsed) co_return co_await c.fail(parsed.error());
  images::PushOptions opts;
  opts.registry.creds = registryAuth(c.req);
  bool alive = co_await c.streamHeader(chunkedHeader(200, "application/json"));
  if (!alive) co_return;
  pl::ImageOps::LineSink send = [&c, &alive](const std::string& line) -> asio::awaitable<bool> {
    if (alive) alive = co_await c.s.writeAll(chunk(line));
    co_return alive;
  };
  auto pushed = co_await imageOps_.push(ref, opts, send);  // goes on when the client has gone
  if (pushed) publishPushEvent(ref);
  if (alive) co_await c.s.writeAll(kLastChunk);
}

// dockerd's push event: the actor is the reference as pushed ("127.0.0.1:5000/x:latest", or the
// repository alone for every tag), named by its repository.
void DockerApi::publishPushEvent(const std::string& ref) {
  auto parsed = images::parseReference(ref);
  if (!parsed) return;
  images::Reference repo = *parsed;
  repo.tag.clear();
  size_t slash = ref.rfind('/'), colon = ref.rfind(':');
  bool tagged = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  std::map<std::string, std::string> attrs;
  if (auto img = images_.find(ref); tagged && img) {  // the image's labels, as dockerd's LogImageEvent
    auto labels = field(field(imageConfig(img->id), "config"), "Labels");
    if (labels.is_object()) {
      for (const auto& [k, v] : labels.items()) {
        if (v.is_string()) attrs[k] = v.get<std::string>();
      }
    }
  }
  attrs["name"] = repo.familiar();
  pl_.events().publish({"image", "push", tagged ? parsed->familiar() : repo.familiar(), attrs, pl::nowNs(), 0});
}

// docker login: the daemon checks the credentials against the registry; 401 with docker's words
// when it refuses them.
asio::awaitable<void> DockerApi::auth(Ctx& c) {
  auto body = c.body();
  if (!body) co_return co_await c.fail(body.error());
  images::Credentials creds{stringField(*body, "username"), stringField(*body, "password"),
                            stringField(*body, "identitytoken")};
  std::string server = stringField(*body, "serveraddress");
  images::RegistryOptions ropts;  // named: no temporary lives across a co_await (GCC 12)
  auto st = co_await imageOps_.login(server, creds, ropts);
  if (!st) {
    if (st.error().code() != Errc::kForbidden) co_return co_await c.fail(st.error());
    log::info("api", "POST /auth: 401 " + st.error().message());
    nlohmann::json refused = {{"message", st.error().message()}};
    co_return co_await c.reply(jsonResponse(401, dumpJson(refused) + "\n"));
  }
  nlohmann::json out = {{"Status", "Login Succeeded"}, {"IdentityToken", ""}};
  co_await c.json(200, out);
}

}  // namespace vic::docker
