// RegistryClient's push side (distribution spec: blob HEAD, POST uploads with ?mount=&from=,
// one PUT ?digest= or PATCH chunks + PUT, manifest PUT by tag), docker login's check, and
// docker's words for a registry's error answers.
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "common/unique_fd.h"
#include "images/registry_client.h"
#include "images/registry_policy.h"
#include "images/untrusted.h"

namespace vic::images {
namespace {

// distribution's registered error codes (errcode and registry/api/v2) and their default messages.
struct ErrorCodeInfo {
  std::string_view value, message;
};
constexpr ErrorCodeInfo kErrorCodes[] = {
    {"UNKNOWN", "unknown error"},
    {"UNSUPPORTED", "The operation is unsupported."},
    {"UNAUTHORIZED", "authentication required"},
    {"DENIED", "requested access to the resource is denied"},
    {"UNAVAILABLE", "service unavailable"},
    {"TOOMANYREQUESTS", "too many requests"},
    {"DIGEST_INVALID", "provided digest did not match uploaded content"},
    {"SIZE_INVALID", "provided length did not match content length"},
    {"NAME_INVALID", "invalid repository name"},
    {"TAG_INVALID", "manifest tag did not match URI"},
    {"NAME_UNKNOWN", "repository name not known to registry"},
    {"MANIFEST_UNKNOWN", "manifest unknown"},
    {"MANIFEST_INVALID", "manifest invalid"},
    {"MANIFEST_UNVERIFIED", "manifest failed signature verification"},
    {"MANIFEST_BLOB_UNKNOWN", "blob unknown to registry"},
    {"BLOB_UNKNOWN", "blob unknown to registry"},
    {"BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"},
    {"BLOB_UPLOAD_INVALID", "blob upload invalid"},
    {"PAGINATION_NUMBER_INVALID", "invalid number of results requested"},
    {"RANGE_INVALID", "invalid content range"},
};

const ErrorCodeInfo& codeInfo(std::string_view value) {
  for (const auto& c : kErrorCodes) {
    if (c.value == value) return c;
  }
  return kErrorCodes[0];  // an unregistered code reads as UNKNOWN, as in distribution
}

// errcode.ErrorCode.Error(): "BLOB_UNKNOWN" -> "blob unknown".
std::string codeText(std::string_view value) {
  std::string out(value);
  for (char& ch : out) ch = ch == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string_view statusText(long status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 416: return "Requested Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

// Go's json error for a body that is not JSON, as UnexpectedHTTPResponseError quotes it.
std::string notJson(std::string_view body) {
  if (body.empty()) return "unexpected end of JSON input";
  size_t i = body.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return "unexpected end of JSON input";
  if (body[i] == '{' || body[i] == '[') return "the body is not valid JSON";
  return "invalid character '" + printable(body.substr(i, 1), 8) + "' looking for beginning of value";
}

// The first error of distribution's {"errors":[...]}: "code text: message", or the code text
// alone when the message is the code's default and there is no detail (errcode's rule).
std::optional<std::string> firstBodyError(const nlohmann::json& j) {
  auto errors = j.find("errors");
  if (errors == j.end() || !errors->is_array() || errors->empty() || !errors->front().is_object()) return std::nullopt;
  const auto& e = errors->front();
  std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
  std::string message = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
  bool detail = e.contains("detail") && !e["detail"].is_null();
  const auto& info = codeInfo(code);
  if (!detail && (message.empty() || message == info.message)) return codeText(info.value);
  return codeText(info.value) + ": " + printable(message, 512);
}

}  // namespace

std::string registryErrorText(long status, std::string_view body, std::string_view wwwAuthenticate,
                              std::string_view statusLine) {
  if (status >= 400 && status < 500) {
    // OAuth errors in a Bearer challenge come first (RFC 6750 section 3)
    if (auto challenges = parseChallenges(wwwAuthenticate)) {
      for (const auto& ch : *challenges) {
        if (ch.scheme != "bearer") continue;
        auto err = ch.params.find("error");
        if (err == ch.params.end() || (err->second != "invalid_token" && err->second != "insufficient_scope")) continue;
        const auto& info = codeInfo(err->second == "invalid_token" ? "UNAUTHORIZED" : "DENIED");
        auto desc = ch.params.find("error_description");
        return codeText(info.value) + ": " +
               (desc != ch.params.end() && !desc->second.empty() ? printable(desc->second, 512) : std::string(info.message));
      }
    }
    auto j = parseJson(body);
    if (j.is_object() && j.contains("details") && j["details"].is_string() && !j["details"].get<std::string>().empty()) {
      std::string code = status == 401 ? "unauthorized" : status == 429 ? "toomanyrequests" : "unknown";
      return code + ": " + printable(j["details"].get<std::string>(), 512);
    }
    if (j.is_object()) {
      if (auto first = firstBodyError(j)) return *first;
    }
    if (status == 401) return "unauthorized: authentication required";
    std::string why = j.is_discarded() ? notJson(body) : "no error details found in HTTP response body";
    return "error parsing HTTP " + std::to_string(status) + " response body: " + why + ": \"" + printable(body, 200) + "\"";
  }
  std::string line(statusLine);
  if (line.empty()) line = std::to_string(status) + " " + std::string(statusText(status));
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return "received unexpected HTTP status: " + printable(line, 100);
}

std::string RegistryClient::origin() const {
  return std::string(plainHttp() ? "http://" : "https://") + ref_.registryHost();
}

Error RegistryClient::pushError(const Response& r) const {
  Errc code = r.status == 401 || r.status == 403 ? Errc::kForbidden : r.status == 404 ? Errc::kNotFound : Errc::kUnavailable;
  return Error(code, registryErrorText(r.status, r.body, r.wwwAuthenticate, r.statusLine));
}

// A Location from the registry: relative to the registry, or absolute on the registry's own
// scheme and host (an upload, with our credentials, never goes anywhere else).
Result<std::string> RegistryClient::uploadUrl(const std::string& location) const {
  if (location.empty()) return Error(Errc::kProtocol, "the registry started an upload without a Location");
  if (location.front() == '/') return origin() + location;
  std::string own = origin() + "/";
  if (location.size() >= own.size() && strncasecmp(location.c_str(), own.c_str(), own.size()) == 0) return location;
  return Error(Errc::kProtocol, "refusing the registry's upload location \"" + printable(location, 200) +
                                    "\": it is not on " + origin());
}

Result<std::string> RegistryClient::startUpload() {
  if (!pendingUpload_.empty()) return std::exchange(pendingUpload_, "");
  Call call;
  call.method = "POST";
  call.url = baseUrl() + "/blobs/uploads/";
  auto r = sendAuthorized(std::move(call));
  if (!r) return std::move(r).error();
  if (r->status != 202) return pushError(*r);
  return uploadUrl(r->location);
}

Result<std::optional<int64_t>> RegistryClient::blobSize(const std::string& digest, bool lenient) {
  if (!validDigest(digest)) return Error(Errc::kInvalidArgument, "invalid blob digest " + printable(digest, 80));
  Call call;
  call.method = "HEAD";
  call.url = baseUrl() + "/blobs/" + digest;
  auto r = sendAuthorized(std::move(call));
  if (!r) return std::move(r).error();
  if (r->status == 404 || (lenient && r->status != 200)) return std::optional<int64_t>();
  if (r->status != 200) return pushError(*r);
  return std::optional<int64_t>(r->contentLength);
}

Result<bool> RegistryClient::mountBlob(const std::string& digest, const std::string& fromRepo) {
  if (!validDigest(digest)) return Error(Errc::kInvalidArgument, "invalid blob digest " + printable(digest, 80));
  Call call;
  call.method = "POST";
  call.url = baseUrl() + "/blobs/uploads/?mount=" + digest + "&from=" + urlEncode(fromRepo);
  auto r = sendAuthorized(std::move(call));
  if (!r) return std::move(r).error();
  if (r->status == 201) return true;
  if (r->status != 202) return pushError(*r);
  auto url = uploadUrl(r->location);  // not mounted: the registry started an upload instead
  if (!url) return std::move(url).error();
  pendingUpload_ = *url;
  return false;
}

namespace {

// `url` with one more query parameter.
std::string withParam(const std::string& url, const std::string& param) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + param;
}

}  // namespace

Status RegistryClient::uploadBlob(const std::string& digest, const std::string& file, const Progress& progress) {
  if (!validDigest(digest)) return Error(Errc::kInvalidArgument, "invalid blob digest " + printable(digest, 80));
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st{};
  if (!fd || ::fstat(fd.get(), &st) != 0) return Error::fromErrno("opening " + file);
  const uint64_t total = static_cast<uint64_t>(st.st_size);
  auto location = startUpload();
  if (!location) return std::move(location).error();
  std::string url = *location;
  const uint64_t chunk = std::max<uint64_t>(1, opts_.chunkBytes);
  uint64_t done = 0;
  auto sent = [&](uint64_t n) {
    if (progress) progress(done + n, total);
  };
  // Blobs past one chunk go as PATCHes of `chunk` bytes (Content-Range), each answered with
  // the next Location; the closing PUT carries what is left (all of a small blob).
  while (total > chunk && total - done > chunk) {
    Upload body{nullptr, fd.get(), done, chunk, sent};
    Call call;
    call.method = "PATCH";
    call.url = url;
    call.headers = {{"Content-Type", "application/octet-stream"},
                    {"Content-Range", std::to_string(done) + "-" + std::to_string(done + chunk - 1)}};
    call.upload = &body;
    auto r = sendAuthorized(std::move(call));
    if (!r) return std::move(r).error();
    if (r->status != 202) return pushError(*r);
    auto next = uploadUrl(r->location);
    if (!next) return std::move(next).error();
    url = *next;
    done += chunk;
  }
  Upload rest{nullptr, fd.get(), done, total - done, sent};
  Call put;
  put.method = "PUT";
  put.url = withParam(url, "digest=" + digest);
  put.headers = {{"Content-Type", "application/octet-stream"}};
  put.upload = &rest;
  auto r = sendAuthorized(std::move(put));
  if (!r) return std::move(r).error();
  if (r->status != 201) return pushError(*r);
  return ok();
}

Status RegistryClient::uploadBlobBytes(const std::string& digest, const std::string& bytes) {
  if (!validDigest(digest)) return Error(Errc::kInvalidArgument, "invalid blob digest " + printable(digest, 80));
  auto location = startUpload();
  if (!location) return std::move(location).error();
  Upload body{&bytes, -1, 0, bytes.size(), {}};
  Call put;
  put.method = "PUT";
  put.url = withParam(*location, "digest=" + digest);
  put.headers = {{"Content-Type", "application/octet-stream"}};
  put.upload = &body;
  auto r = sendAuthorized(std::move(put));
  if (!r) return std::move(r).error();
  if (r->status != 201) return pushError(*r);
  return ok();
}

Status RegistryClient::putManifest(const std::string& tag, const std::string& mediaType, const std::string& body) {
  Upload up{&body, -1, 0, body.size(), {}};
  Call put;
  put.method = "PUT";
  put.url = baseUrl() + "/manifests/" + tag;
  put.headers = {{"Content-Type", mediaType}};
  put.upload = &up;
  auto r = sendAuthorized(std::move(put));
  if (!r) return std::move(r).error();
  if (r->status != 201 && r->status != 200) return pushError(*r);
  return ok();
}

Status RegistryClient::checkLogin() {
  std::string url = baseUrl();  // ".../v2/": no repository
  Call call;
  call.url = url;
  auto r = sendAuthorized(std::move(call));
  if (!r) {
    Error e = std::move(r).error();
    if (e.code() == Errc::kForbidden) return Error(Errc::kForbidden, "Get \"" + url + "\": " + e.message());
    return e;
  }
  if (r->status == 200) return ok();
  std::string text(statusText(r->status));
  return Error(r->status == 401 || r->status == 403 ? Errc::kForbidden : Errc::kUnavailable,
               "login attempt to " + url + " failed with status: " + std::to_string(r->status) + (text.empty() ? "" : " " + text));
}

Status login(const std::string& server, const Credentials& creds, RegistryOptions opts) {
  Reference ref;
  ref.domain = loginRegistryDomain(server);
  opts.creds = creds;
  RegistryClient client(ref, std::move(opts));
  return client.checkLogin();
}

}  // namespace vic::images
