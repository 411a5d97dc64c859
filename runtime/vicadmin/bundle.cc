#include "runtime/vicadmin/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>

#include "common/json.h"
#include "images/archive_ptr.h"

namespace vic::vicadmin {

namespace {

constexpr uint64_t kMaxLogBytes = uint64_t{32} << 20;

bool secretKey(std::string key) {
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* w : {"token", "password", "secret", "credential", "auth", "key"}) {
    if (key.find(w) != std::string::npos) return true;
  }
  return false;
}

bool plainPath(const json& v) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  return !s.empty() && s[0] == '/' && s.size() < 4096 && s.find_first_of("\n\r") == std::string::npos && s.find("-----") == std::string::npos;
}

json redactValue(const json& v, bool secret) {
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = redactValue(it.value(), secret || secretKey(it.key()));
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& x : v) out.push_back(redactValue(x, secret));
    return out;
  }
  if (v.is_string() && v.get_ref<const std::string&>().find("-----BEGIN") != std::string::npos) return "<redacted>";
  if (secret && !v.is_boolean() && !v.is_null() && !plainPath(v)) return "<redacted>";
  return v;
}

Result<std::string> readTail(int fd) {
  struct stat st{};
  if (::fstat(fd, &st) != 0) return Error::fromErrno("stat");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t from = size > kMaxLogBytes ? size - kMaxLogBytes : 0;
  std::string out(static_cast<size_t>(size - from), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(from + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Error::fromErrno("reading");
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

Status addEntry(archive* a, const std::string& name, const std::string& data, int64_t mtime) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  archive_entry_set_mtime(e, mtime, 0);
  int rc = archive_write_header(a, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK) return Error(Errc::kIo, "writing the bundle entry " + name + ": " + archive_error_string(a));
  if (!data.empty() && archive_write_data(a, data.data(), data.size()) < 0) {
    return Error(Errc::kIo, "writing the bundle entry " + name + ": " + archive_error_string(a));
  }
  return ok();
}

// A member's bytes: its content, or its log's tail; private-key blocks are cut either way.
std::pair<std::string, std::string> memberData(const BundleMember& m) {
  if (!m.open) return {m.name, redactPrivateKeys(m.content)};
  auto fd = m.open();
  if (!fd) return {m.name + ".error", fd.error().message() + "\n"};
  auto text = readTail(fd->get());
  if (!text) return {m.name + ".error", text.error().message() + "\n"};
  return {m.name, redactPrivateKeys(std::move(*text))};
}

BundleMember logMember(const std::string& name, const LogRef& ref, const LogFiles& files) {
  return {name, "", [ref, files] { return openLog(ref, files); }};
}

BundleMember dockerMember(Probe& p, const std::string& name, const std::string& target) {
  auto body = p.docker(target);
  if (!body) return {name + ".error", body.error().message() + "\n", {}};
  auto j = parseJson(*body);
  return {name, j.is_discarded() ? *body : dumpJson(j, 2) + "\n", {}};
}

}  // namespace

json redactConfig(const json& config) { return redactValue(config, false); }

std::string redactPrivateKeys(std::string text) {
  size_t pos = 0;
  while ((pos = text.find("-----BEGIN", pos)) != std::string::npos) {
    auto headEnd = text.find("-----", pos + 10);
    if (headEnd == std::string::npos) break;
    std::string head = text.substr(pos, headEnd + 5 - pos);
    if (head.find("PRIVATE KEY") == std::string::npos) {
      pos = headEnd + 5;
      continue;
    }
    auto end = text.find("-----END", headEnd);
    size_t stop = end == std::string::npos ? text.size() : text.find("-----", end + 8);
    stop = stop == std::string::npos ? text.size() : stop + 5;
    text.replace(pos, stop - pos, "[private key removed]");
    pos += 21;
  }
  return text;
}

std::string bundleName(const std::string& vch, int64_t unixSeconds) {
  std::time_t t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return "vch-" + vch + "-" + buf + ".tar.gz";
}

std::vector<BundleMember> bundleMembers(const vch::VchConfig& cfg, Probe& p, const LogFiles& files, const json& status,
                                        const std::vector<LogRef>& logs) {
  std::vector<BundleMember> out;
  out.push_back({"vch.json", dumpJson(redactConfig(parseJson(vch::encodeVchConfig(cfg))), 2) + "\n", {}});
  out.push_back({"status.json", dumpJson(status, 2) + "\n", {}});
  out.push_back(dockerMember(p, "docker-info.json", "/info"));
  out.push_back(dockerMember(p, "docker-version.json", "/version"));
  for (const auto& l : logs) {
    if (l.container.empty()) {
      out.push_back(logMember("logs/" + l.name + ".log", l, files));
      continue;
    }
    out.push_back(logMember("logs/containers/" + l.container + (l.output ? "/output.log" : "/console.log"), l, files));
  }
  auto lv = p.libvirt();
  if (!lv) {
    out.push_back({"vms.error", lv.error().message() + "\n", {}});
    return out;
  }
  for (const auto& vm : lv->vms) {
    auto xml = p.domainXml(vm);
    if (xml) out.push_back({"vms/" + vm + ".xml", *xml, {}});
    else out.push_back({"vms/" + vm + ".xml.error", xml.error().message() + "\n", {}});
  }
  return out;
}

Status writeBundle(const std::vector<BundleMember>& members, int fd, int64_t mtime) {
  images::ArchiveWriter a(archive_write_new());
  if (!a) return Error(Errc::kInternal, "archive_write_new failed");
  archive_write_add_filter_gzip(a.get());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) return Error(Errc::kIo, std::string("opening the bundle: ") + archive_error_string(a.get()));
  for (const auto& m : members) {
    auto [name, data] = memberData(m);
    if (auto st = addEntry(a.get(), name, data, mtime); !st) return st;
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return Error(Errc::kIo, std::string("closing the bundle: ") + archive_error_string(a.get()));
  return ok();
}

}  // namespace vic::vicadmin
