// The builder's steps: the config instructions, RUN and COPY/ADD.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/json.h"
#include "common/time.h"
#include "common/unique_fd.h"
#include "images/layer_apply.h"
#include "images/manifest.h"
#include <archive.h>
#include <archive_entry.h>

#include "runtime/build/builder.h"
#include "runtime/build/chown.h"
#include "runtime/build/copy_tar.h"
#include "runtime/build/text.h"

namespace vic::build {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> argvOf(const Instruction& in, const nlohmann::json& c) {
  if (in.execForm) return in.args;
  std::vector<std::string> argv = cfg::shell(c);
  argv.push_back(in.args.empty() ? "" : in.args[0]);
  return argv;
}

std::string joinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

// WORKDIR relative to the current one, cleaned.
std::string workdirFrom(const std::string& dir, const std::string& current) {
  return destination(dir, current.empty() ? "/" : current).path;
}

// The first regular file's bytes in a tar (docker cp of one file), at most `limit` of them.
Result<std::string> fileFromTar(const std::string& tarFile, size_t limit) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_filename(a.get(), tarFile.c_str(), 65536) != ARCHIVE_OK) return Error(Errc::kIo, "reading " + tarFile);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    std::string out;
    char buf[65536];
    la_ssize_t n = 0;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > limit) return Error(Errc::kInvalidArgument, "the file is larger than " + std::to_string(limit) + " bytes");
    }
    return out;
  }
  return std::string();
}

constexpr FlagSpec kCopyFlags[] = {{"from", FlagSpec::kString}, {"chown", FlagSpec::kString}, {"chmod", FlagSpec::kString},
                                   {"link", FlagSpec::kBool}, {"exclude", FlagSpec::kStrings}, {"parents", FlagSpec::kBool}};
constexpr FlagSpec kRunFlags[] = {{"mount", FlagSpec::kStrings}, {"network", FlagSpec::kString}, {"security", FlagSpec::kString}};

// The classic builder's words for what only BuildKit does.
std::string needsBuildKit(const std::string& flag) {
  return "the --" + flag + " option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled";
}

// RUN's history entry: the build args it saw ("|2 A=1 B=2 "), then the command.
std::string runCreatedBy(const std::vector<std::string>& args, const std::vector<std::string>& argv) {
  if (args.empty()) return joinArgv(argv);
  return "|" + std::to_string(args.size()) + " " + joinArgv(args) + " " + joinArgv(argv);
}

std::string lastName(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string destKind(const Destination& d) { return d.dirLike ? "dir" : "path"; }

// A context file that is a tar archive (plain or gzip), unpacked into `dir`; an error when it is
// not one (then ADD copies it as it is).
Result<GuestRoot> unpackArchive(const GuestRoot& context, const std::string& source, const std::string& dir) {
  auto fd = context.openPath(source.empty() ? "." : source, O_RDONLY | O_CLOEXEC);
  if (!fd) return std::move(fd).error();
  struct stat st{};
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return Error(Errc::kInvalidArgument, source + " is not an archive");
  std::error_code ec;
  fs::create_directories(dir, ec);
  images::ExtractOptions eo;
  eo.sameOwner = true;
  eo.whiteouts = false;
  eo.devices = false;
  std::string procPath = "/proc/self/fd/" + std::to_string(fd->get());  // the file opened inside the context
  if (auto x = images::extractTar(procPath, dir, eo); !x) {
    fs::remove_all(dir, ec);
    return std::move(x).error();
  }
  return GuestRoot::open(dir);
}

Result<std::string> fileDigest(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::fromErrno("reading " + path);
  images::Sha256 h;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) return Error::fromErrno("reading " + path);
    if (n == 0) break;
    h.update(buf, static_cast<size_t>(n));
  }
  return h.digest();
}

bool looksLikeUrl(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("git@", 0) == 0; }

}  // namespace

Status Builder::config(const Instruction& in, Stage& st) {
  auto& c = cfg::runConfig(st.img);
  Vars v = vars(st);
  auto word = [&](const std::string& w) { return expandWord(w, v, escape_); };
  switch (in.kind) {
    case Kind::kEnv:
      for (const auto& kv : in.pairs) {
        auto k = word(kv.key), val = word(kv.value);
        if (!k) return fail(k.error().message());
        if (!val) return fail(val.error().message());
        cfg::setEnv(c, *k, *val);  // later words still see the values before the line (docker)
      }
      return ok();
    case Kind::kLabel:
      for (const auto& kv : in.pairs) {
        auto k = word(kv.key), val = word(kv.value);
        if (!k) return fail(k.error().message());
        if (!val) return fail(val.error().message());
        if (!c["Labels"].is_object()) c["Labels"] = nlohmann::json::object();
        c["Labels"][*k] = *val;
      }
      return ok();
    case Kind::kWorkdir: {
      auto dir = word(in.args.at(0));
      if (!dir) return fail(dir.error().message());
      c["WorkingDir"] = workdirFrom(*dir, c.value("WorkingDir", ""));
      return ok();
    }
    case Kind::kUser:
    case Kind::kStopSignal: {
      auto val = word(in.args.at(0));
      if (!val) return fail(val.error().message());
      c[in.kind == Kind::kUser ? "User" : "StopSignal"] = *val;
      return ok();
    }
    case Kind::kExpose: {
      if (!c["ExposedPorts"].is_object()) c["ExposedPorts"] = nlohmann::json::object();
      for (const auto& a : in.args) {
        auto ports = expandWords(a, v, escape_);
        if (!ports) return fail(ports.error().message());
        for (auto p : *ports) c["ExposedPorts"][p.find('/') == std::string::npos ? p + "/tcp" : detail::toLower(p)] = nlohmann::json::object();
      }
      return ok();
    }
    case Kind::kVolume:
      if (!c["Volumes"].is_object()) c["Volumes"] = nlohmann::json::object();
      for (const auto& a : in.args) {
        auto path = word(a);
        if (!path) return fail(path.error().message());
        if (path->empty()) return fail("VOLUME specified can not be an empty string");
        c["Volumes"][*path] = nlohmann::json::object();
      }
      return ok();
    case Kind::kCmd:
      c["Cmd"] = argvOf(in, c);
      st.cmdSet = true;
      return ok();
    case Kind::kEntrypoint:
      c["Entrypoint"] = argvOf(in, c);
      if (!st.cmdSet) c["Cmd"] = nullptr;  // an inherited CMD goes with a new ENTRYPOINT (docker's rule)
      return ok();
    case Kind::kShell:
      if (!in.execForm) return fail("SHELL requires the arguments to be in JSON form");
      c["Shell"] = in.args;
      return ok();
    case Kind::kHealthcheck: {
      const auto& h = in.health;
      nlohmann::json j = {{"Test", h.test}};
      if (h.intervalNs) j["Interval"] = h.intervalNs;
      if (h.timeoutNs) j["Timeout"] = h.timeoutNs;
      if (h.startPeriodNs) j["StartPeriod"] = h.startPeriodNs;
      if (h.startIntervalNs) j["StartInterval"] = h.startIntervalNs;
      if (h.retries) j["Retries"] = h.retries;
      c["Healthcheck"] = j;
      return ok();
    }
    case Kind::kOnbuild:
      if (!c["OnBuild"].is_array()) c["OnBuild"] = nlohmann::json::array();
      c["OnBuild"].push_back(in.args.at(0));
      return ok();
    case Kind::kMaintainer:
      st.img.config["author"] = in.args.at(0);
      return ok();
    default:
      return fail("unexpected instruction " + std::string(kindName(in.kind)));
  }
}

asio::awaitable<Status> Builder::run(const Instruction& in, Stage& st) {
  if (auto s = checkFlags(in.flags, kRunFlags); !s) co_return fail(s.error().message());
  if (!in.flags.empty()) co_return fail(needsBuildKit(in.flags[0].name));
  auto& c = cfg::runConfig(st.img);
  RunStep r;
  r.argv = argvOf(in, c);
  for (const auto& e : c.value("Env", nlohmann::json::array())) {
    if (e.is_string()) r.env.push_back(e.get<std::string>());
  }
  std::vector<std::string> argParts;  // the build args a RUN sees are part of what decides it
  Vars env = vars(st);
  for (const auto& [k, val] : st.args) {
    bool inEnv = std::any_of(r.env.begin(), r.env.end(), [&](const std::string& e) { return e.rfind(k + "=", 0) == 0; });
    if (inEnv) continue;  // ENV wins, and the ARG is not a build arg of this RUN (docker's FilterAllowed)
    r.env.push_back(k + "=" + val);
    argParts.push_back(k + "=" + val);
  }
  r.user = c.value("User", "");
  r.workdir = c.value("WorkingDir", "");
  std::string createdBy = runCreatedBy(argParts, r.argv);
  std::string key;
  std::vector<std::string> parts{"run", createdBy};
  if (co_await fromCache(st, parts, key)) co_return ok();
  Output output = [this](std::string text) -> asio::awaitable<bool> { co_return co_await say(std::move(text)); };
  auto result = co_await host_.run(st.img, r, output);
  if (!result) co_return fail(result.error().message());
  if (result->exitCode != 0) {
    co_return fail("The command '" + joinArgv(r.argv) + "' returned a non-zero code: " + std::to_string(result->exitCode), result->exitCode);
  }
  cfg::addLayer(st.img.config, result->layer.diffId);
  st.img.topLayer = result->layer.chainId;
  cfg::addHistory(st.img.config, createdBy, false, nowNs());
  remember(st, key);
  co_return ok();
}

// --chown: names are looked up in the image's own /etc/passwd and /etc/group.
asio::awaitable<Result<Owner>> Builder::chownOf(const std::string& spec, const ImageState& img) {
  std::string passwd, group;
  if (chownNeedsLookup(spec)) {
    for (auto [path, into] : {std::pair<const char*, std::string*>{"/etc/passwd", &passwd}, {"/etc/group", &group}}) {
      std::string tar = opts_.workDir + "/account-" + std::to_string(++copies_) + ".tar";
      Status got = co_await host_.readFiles(img, path, tar);
      auto read = [tar, got]() -> Result<std::string> {
        auto text = got ? fileFromTar(tar, 4 << 20) : Result<std::string>(std::string());
        std::error_code ec;
        fs::remove(tar, ec);
        return text;
      };
      auto text = co_await pool_.run(read);
      if (!text) co_return std::move(text).error();
      *into = *text;
    }
  }
  co_return resolveChown(spec, passwd, group);
}

asio::awaitable<Status> Builder::copy(const Instruction& in, Stage& st) {
  const char* what = in.kind == Kind::kAdd ? "ADD" : "COPY";
  if (auto s = checkFlags(in.flags, kCopyFlags); !s) co_return fail(s.error().message());
  for (const char* bk : {"chmod", "link", "exclude", "parents"}) {
    if (flagValue(in.flags, bk)) co_return fail(needsBuildKit(bk));
  }
  Owner owner;
  if (auto chown = flagValue(in.flags, "chown")) {
    auto o = co_await chownOf(*chown, st.img);
    if (!o) co_return fail(o.error().message());
    owner = *o;
  }
  Vars v = vars(st);
  std::vector<std::string> words;
  for (const auto& a : in.args) {
    auto w = expandWord(a, v, escape_);
    if (!w) co_return fail(w.error().message());
    words.push_back(*w);
  }
  if (words.size() < 2) co_return fail(std::string(what) + " requires at least two arguments");
  std::string destWord = words.back();
  words.pop_back();
  for (const auto& w : words) {
    if (looksLikeUrl(w)) co_return fail(std::string(what) + " from a URL is not supported by vic: fetch it in a RUN step or add it to the context");
  }
  auto dest = destination(destWord, cfg::runConfig(st.img).value("WorkingDir", ""));
  // The files come from the context, or from another stage or image (copied out into scratch space).
  std::optional<GuestRoot> fromRoot;
  std::string source = "context";
  if (auto from = flagValue(in.flags, "from")) {
    auto img = co_await stageOrImage(*from);
    if (!img) co_return fail(img.error().message());
    std::string dir = opts_.workDir + "/from-" + std::to_string(++copies_);
    std::error_code ec;
    fs::create_directories(dir, ec);
    for (auto& w : words) {
      auto cleaned = cleanSource(w);
      if (!cleaned) co_return fail(cleaned.error().message());
      std::string tar = dir + ".tar";
      if (auto s = co_await host_.readFiles(*img, "/" + *cleaned, tar); !s) co_return fail(std::string(what) + " failed: " + s.error().message());
      auto unpack = [tar, dir]() -> Status {
        images::ExtractOptions eo;
        eo.sameOwner = true;
        eo.whiteouts = false;
        auto x = images::extractTar(tar, dir, eo);
        std::error_code gone;
        fs::remove(tar, gone);
        if (!x) return std::move(x).error();
        return ok();
      };
      if (auto x = co_await pool_.run(unpack); !x) co_return fail(x.error().message());
      w = lastName(*cleaned);  // docker cp puts its last name at the top
    }
    auto r = GuestRoot::open(dir);
    if (!r) co_return fail(r.error().message());
    fromRoot.emplace(std::move(*r));
    source = "stage " + *from;
  }
  DockerIgnore none;
  auto sources = matchSources(fromRoot ? *fromRoot : context_, words, fromRoot ? none : ignore_);
  if (!sources) co_return fail(std::string(what) + " failed: " + sources.error().message());
  // ADD of one local tar archive (plain or gzip): its contents go into the destination directory.
  if (in.kind == Kind::kAdd && !fromRoot && sources->size() == 1) {
    std::string dir = opts_.workDir + "/add-" + std::to_string(++copies_);
    auto unpack = [this, dir, src = sources->front()] { return unpackArchive(context_, src, dir); };
    auto unpacked = co_await pool_.run(unpack);
    if (unpacked) {
      fromRoot.emplace(std::move(*unpacked));
      *sources = {""};
      dest.dirLike = true;
    }
  }
  const GuestRoot& root = fromRoot ? *fromRoot : context_;
  const DockerIgnore& ignore = fromRoot ? none : ignore_;
  if (sources->size() > 1 && !destWord.ends_with('/')) {  // as written: "." is not enough for docker's classic builder
    co_return fail("When using " + std::string(what) + " with more than one source file, the destination must be a directory and end with a /");
  }
  CopyOptions co;
  co.owner = owner;
  co.ignoreApplies = !fromRoot;
  co.keepOwner = flagValue(in.flags, "from").has_value() && !flagValue(in.flags, "chown");  // docker keeps a stage's owners
  // What decides the step: the files (their tar, names under dest) and where they go. Not their
  // times: docker's file hashes leave mtime out.
  CopyOptions keyed = co;
  keyed.times = false;
  std::string probe = opts_.workDir + "/probe-" + std::to_string(++copies_) + ".tar";
  auto hashFiles = [&root, &sources, &dest, &ignore, &keyed, probe]() -> Result<std::string> {
    Status written = writeCopyTar(root, *sources, dest.path, true, ignore, keyed, probe);
    auto d = written ? fileDigest(probe) : Result<std::string>(std::move(written).error());
    std::error_code gone;
    fs::remove(probe, gone);
    return d;
  };
  auto digest = co_await pool_.run(hashFiles);
  if (!digest) co_return fail(digest.error().message());
  std::error_code ec;
  std::string key;
  std::vector<std::string> parts{what, *digest, dest.path, destKind(dest), std::to_string(owner.uid) + ":" + std::to_string(owner.gid)};
  if (co_await fromCache(st, parts, key)) co_return ok();
  std::string tarFile = opts_.workDir + "/copy-" + std::to_string(++copies_) + ".tar";
  BuildHost::TarMaker make = [&, tarFile](bool destIsDir) -> Result<std::string> {
    if (auto s = writeCopyTar(root, *sources, dest.path, destIsDir || dest.dirLike, ignore, co, tarFile); !s) return std::move(s).error();
    return tarFile;
  };
  auto layer = co_await host_.copy(st.img, dest.path, make);
  fs::remove(tarFile, ec);
  if (!layer) co_return fail(std::string(what) + " failed: " + layer.error().message());
  cfg::addLayer(st.img.config, layer->diffId);
  st.img.topLayer = layer->chainId;
  cfg::addHistory(st.img.config, "/bin/sh -c #(nop) " + std::string(what) + " " + digest->substr(7, 12) + " in " + dest.path + " ", false, nowNs());
  remember(st, key);
  co_return ok();
}

}  // namespace vic::build
