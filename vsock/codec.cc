#include "vsock/codec.h"

#include <array>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/json.h"

namespace vic::vsock {

using nlohmann::json;

// ---- struct <-> JSON (field names are the C++ names) ----
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ChannelSet, stdinCh, stdoutCh, stderrCh)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SessionSpec, id, argv, env, workdir, user, groups,
                                                tty, openStdin, stdinOnce, runBlock, rows, cols)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NetworkInterface, mac, name, addresses, gateway, mtu)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MountSpec, disk, target, readOnly)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ContainerConfig, id, name, hostname, domainname,
                                                rootDisk, dns, embeddedDns, extraHosts, networks, mounts, main)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Configure, config)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Identity, config, clockNs, seed, templateMac, newDevices)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Launch, session, channels)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Exec, session, channels)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Attach, session, channels)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Unblock, session)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Signal, session, signal)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Resize, session, rows, cols)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CloseStdin, session)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Wait, session)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Stat, path, sync)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ReadFiles, path, channel, contentOnly, oneFilesystem)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(WriteFiles, path, channel, keepOwner, noOverwriteDirNonDir)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PingResult, protocol, tetherVersion, awaitingIdentity)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Started, pid)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ExitStatus, session, exitCode, signal, oomKilled,
                                                startedNs, finishedNs, error)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FileStat, name, size, mode, mtimeNs, linkTarget)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ProcessInfo, pid, ppid, uid, user, state, tty, startNs, cpuNs, rssKiB,
                                                vszKiB, comm, argv)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ProcessList, processes, memTotalKiB, nowNs)

// Field-less messages are empty JSON objects.
template <class T>
  requires std::is_empty_v<T>
void to_json(json& j, const T&) { j = json::object(); }
template <class T>
  requires std::is_empty_v<T>
void from_json(const json&, T&) {}

void to_json(json& j, const SessionInfo& s) {
  j = json{{"id", s.id}, {"running", s.running}, {"pid", s.pid}};
  if (s.exit) j["exit"] = *s.exit;
}
void from_json(const json& j, SessionInfo& s) {
  s.id = j.value("id", "");
  s.running = j.value("running", false);
  s.pid = j.value("pid", 0);
  if (j.contains("exit")) s.exit = j.at("exit").get<ExitStatus>();
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SessionList, sessions)

namespace {

constexpr std::array<std::string_view, std::variant_size_v<Request>> kRequestNames = {
    "ping", "configure", "launch", "exec", "attach", "unblock", "signal",
    "resize", "close-stdin", "wait", "list", "stat", "read-files", "write-files", "identity",
    "list-processes"};
constexpr std::array<std::string_view, std::variant_size_v<ResultBody>> kResultNames = {
    "empty", "ping", "started", "exit", "sessions", "stat", "processes"};

template <class Names>
Result<size_t> indexOf(const Names& names, std::string_view name, std::string_view what) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return i;
  }
  return Error(Errc::kProtocol, "unknown " + std::string(what) + " '" + std::string(name) + "'");
}

// Builds alternative `index` of Variant from JSON.
template <class Variant, size_t I = 0>
Variant fromIndex(size_t index, const json& j) {
  if constexpr (I < std::variant_size_v<Variant>) {
    if (index == I) return Variant(std::in_place_index<I>, j.get<std::variant_alternative_t<I, Variant>>());
    return fromIndex<Variant, I + 1>(index, j);
  } else {
    throw std::out_of_range("variant index");
  }
}

Errc errcFromName(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Errc::kInternal); ++i) {
    if (errcName(static_cast<Errc>(i)) == name) return static_cast<Errc>(i);
  }
  return Errc::kInternal;
}

json toJson(const Message& m) {
  if (const auto* req = std::get_if<RequestMsg>(&m)) {
    json body;
    std::visit([&](const auto& r) { body = r; }, req->body);
    return {{"id", req->id}, {"request", kRequestNames[req->body.index()]}, {"body", body}};
  }
  const auto& resp = std::get<ResponseMsg>(m);
  if (resp.error) {
    return {{"id", resp.id},
            {"error", {{"kind", errcName(resp.error->code())}, {"message", resp.error->message()}}}};
  }
  json body;
  std::visit([&](const auto& r) { body = r; }, resp.body);
  return {{"id", resp.id}, {"result", kResultNames[resp.body.index()]}, {"body", body}};
}

Result<Message> fromJson(const json& j) {
  if (!j.is_object()) return Error(Errc::kProtocol, "control message is not a JSON object");
  auto id = j.at("id").get<uint64_t>();
  const json empty = json::object();
  const json& body = j.contains("body") ? j.at("body") : empty;
  if (j.contains("request")) {
    auto idx = indexOf(kRequestNames, j.at("request").get<std::string>(), "request");
    if (!idx) return std::move(idx).error();
    return Message(RequestMsg{id, fromIndex<Request>(*idx, body)});
  }
  if (j.contains("error")) {
    const json& e = j.at("error");
    Error err(errcFromName(e.value("kind", "")), e.value("message", ""));
    return Message(ResponseMsg{id, err, Empty{}});
  }
  if (j.contains("result")) {
    auto idx = indexOf(kResultNames, j.at("result").get<std::string>(), "result");
    if (!idx) return std::move(idx).error();
    return Message(ResponseMsg{id, std::nullopt, fromIndex<ResultBody>(*idx, body)});
  }
  return Error(Errc::kProtocol, "control message is neither a request nor a response");
}

// The path of the first number with a fraction (the protocol has none; converting one to an
// integer out of range is undefined behaviour), or nullopt.
std::optional<std::string> firstFloat(const json& j, const std::string& path) {
  if (j.is_number_float()) return path.empty() ? "the document" : path;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (auto p = firstFloat(v, path.empty() ? k : path + "." + k)) return p;
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      if (auto p = firstFloat(j[i], path + "[" + std::to_string(i) + "]")) return p;
    }
  }
  return std::nullopt;
}

// Exact integer equality (json's == calls -1 and 2^64-1 equal); floats were refused before.
bool sameInteger(const json& a, const json& b) {
  auto split = [](const json& j) -> std::pair<bool, uint64_t> {  // (negative, magnitude)
    if (j.is_number_unsigned()) return {false, j.get<uint64_t>()};
    int64_t v = j.get<int64_t>();
    return v < 0 ? std::pair{true, static_cast<uint64_t>(-(v + 1)) + 1} : std::pair{false, static_cast<uint64_t>(v)};
  };
  return a.is_number_integer() && b.is_number_integer() && split(a) == split(b);
}

// The path of the first number in `sent` that did not survive decoding (`decoded` is the
// decoded value encoded again): out of its field's range, e.g. rows 70000 or id -1.
std::optional<std::string> firstChangedNumber(const json& sent, const json& decoded, const std::string& path) {
  if (sent.is_number()) {
    if (!sameInteger(sent, decoded)) return path.empty() ? "the document" : path;
  } else if (sent.is_object() && decoded.is_object()) {
    for (const auto& [k, v] : sent.items()) {
      auto it = decoded.find(k);
      if (it == decoded.end()) continue;  // a field we do not know
      if (auto p = firstChangedNumber(v, *it, path.empty() ? k : path + "." + k)) return p;
    }
  } else if (sent.is_array() && decoded.is_array() && sent.size() == decoded.size()) {
    for (size_t i = 0; i < sent.size(); ++i) {
      if (auto p = firstChangedNumber(sent[i], decoded[i], path + "[" + std::to_string(i) + "]")) return p;
    }
  }
  return std::nullopt;
}

// Decodes `text` with `convert` (json -> T, may throw) and `reencode` (T -> json): never
// throws; nesting is bounded, fractions and numbers out of their field's range are errors.
template <class T, class Convert, class Reencode>
Result<T> decodeTotal(std::string_view text, std::string_view what, Errc code, Convert convert, Reencode reencode) {
  json j = parseJson(text);
  if (j.is_discarded()) return Error(code, std::string(what) + " is not valid JSON");
  const std::string malformed = "malformed " + std::string(what) + ": ";
  if (auto p = firstFloat(j, "")) return Error(code, malformed + *p + " must be an integer");
  try {
    Result<T> out = convert(j);
    if (!out) return out;
    if (auto p = firstChangedNumber(j, reencode(*out), "")) return Error(code, malformed + *p + " is out of range");
    return out;
  } catch (const std::exception& e) {
    return Error(code, malformed + e.what());
  } catch (...) {
    return Error(code, malformed + "unknown exception");
  }
}

}  // namespace

std::string encode(const Message& m) { return dumpJson(toJson(m)); }

Result<Message> decode(std::string_view text) {
  return decodeTotal<Message>(text, "control message", Errc::kProtocol, fromJson, toJson);
}

Result<Message> decode(std::span<const uint8_t> bytes) {
  return decode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string encodeConfig(const ContainerConfig& c) { return dumpJson(json(c)); }

Result<ContainerConfig> decodeConfig(std::string_view text) {
  return decodeTotal<ContainerConfig>(
      text, "container configuration", Errc::kInvalidArgument,
      [](const json& j) { return Result<ContainerConfig>(j.get<ContainerConfig>()); },
      [](const ContainerConfig& c) { return json(c); });
}

std::string encodeExitStatus(const ExitStatus& e) { return dumpJson(json(e)); }

Result<ExitStatus> decodeExitStatus(std::string_view text) {
  return decodeTotal<ExitStatus>(
      text, "exit record", Errc::kProtocol, [](const json& j) { return Result<ExitStatus>(j.get<ExitStatus>()); },
      [](const ExitStatus& e) { return json(e); });
}

std::string_view requestName(const Request& r) { return kRequestNames[r.index()]; }

}  // namespace vic::vsock
