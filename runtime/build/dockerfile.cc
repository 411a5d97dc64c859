// Pass two of the Dockerfile parser (docker's instructions package): each instruction's checks,
// then stages; and the flag checks the executor applies.
#include "runtime/build/dockerfile.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>

#include "runtime/build/dockerfile_internal.h"
#include "runtime/build/text.h"

namespace vic::build {

using detail::goQuote;
using detail::Node;

namespace {

constexpr std::array<std::string_view, 18> kKindNames = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
};

constexpr FlagSpec kRunFlags[] = {{"mount", FlagSpec::kStrings}, {"network", FlagSpec::kString},
                                  {"security", FlagSpec::kString}, {"device", FlagSpec::kStrings}};
constexpr FlagSpec kCopyFlags[] = {{"chown", FlagSpec::kString}, {"from", FlagSpec::kString},
                                   {"chmod", FlagSpec::kString}, {"link", FlagSpec::kBool},
                                   {"exclude", FlagSpec::kStrings}, {"parents", FlagSpec::kBool}};
constexpr FlagSpec kAddFlags[] = {{"chown", FlagSpec::kString}, {"chmod", FlagSpec::kString},
                                  {"link", FlagSpec::kBool}, {"keep-git-dir", FlagSpec::kBool},
                                  {"checksum", FlagSpec::kString}, {"unpack", FlagSpec::kBool},
                                  {"exclude", FlagSpec::kStrings}};
constexpr FlagSpec kFromFlags[] = {{"platform", FlagSpec::kString}};
constexpr FlagSpec kHealthFlags[] = {{"interval", FlagSpec::kString}, {"timeout", FlagSpec::kString},
                                     {"start-period", FlagSpec::kString}, {"start-interval", FlagSpec::kString},
                                     {"retries", FlagSpec::kString}};

Error invalid(std::string message) { return Error(Errc::kInvalidArgument, std::move(message)); }

Error atLeastOne(std::string_view what) { return invalid(std::string(what) + " requires at least one argument"); }
Error exactlyOne(std::string_view what) { return invalid(std::string(what) + " requires exactly one argument"); }

Status checkPairs(const Instruction& ins, std::string_view what) {
  if (ins.pairs.empty()) return atLeastOne(what);
  for (const KeyValue& kv : ins.pairs) {
    if (kv.key.empty()) return invalid(std::string(what) + " names can not be blank");
  }
  return ok();
}

Status checkArg(Instruction& ins) {
  if (ins.args.empty()) return atLeastOne("ARG");
  for (const std::string& word : ins.args) {
    size_t eq = word.find('=');
    if (eq == 0) return invalid("ARG names can not be blank");
    if (eq == std::string::npos) {
      ins.pairs.push_back({word, "", false, false});
    } else {
      ins.pairs.push_back({word.substr(0, eq), word.substr(eq + 1), true, false});
    }
  }
  ins.args.clear();
  return ok();
}

bool validStageName(std::string_view name) {
  if (name.empty() || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

Status checkFrom(const Instruction& ins) {
  if (ins.args.size() == 3 && detail::equalsFold(ins.args[1], "as")) {
    if (!validStageName(detail::toLower(ins.args[2]))) {
      return invalid("invalid name for build stage: " + goQuote(ins.args[2]) +
                     ", name can't start with a number or contain symbols");
    }
  } else if (ins.args.size() != 1) {
    return invalid("FROM requires either one or three arguments");
  }
  return checkFlags(ins.flags, kFromFlags);
}

Status checkOnbuild(Node& node) {
  std::string trigger = detail::toUpper(node.trigger);
  if (trigger == "ONBUILD") return invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger == "MAINTAINER" || trigger == "FROM") return invalid(trigger + " isn't allowed as an ONBUILD trigger");
  // docker's trigger text: the line without (?i)^\s*ONBUILD\s*
  std::string_view rest = detail::trimLeftSpace(node.rawOriginal);
  rest.remove_prefix(std::min(rest.size(), std::string_view("ONBUILD").size()));
  node.ins.args = {std::string(detail::trimLeftSpace(rest))};
  return ok();
}

// HEALTHCHECK --interval etc.: Go durations; 0 means unset; otherwise at least 1ms.
Result<int64_t> healthDuration(const Instruction& ins, std::string_view flag) {
  std::string value = flagValue(ins.flags, flag).value_or("");
  if (value.empty()) return int64_t{0};
  auto d = detail::parseGoDuration(value);
  if (!d || *d == 0) return d;
  if (*d < 1'000'000) return invalid("Interval " + goQuote(flag) + " cannot be less than 1ms");
  return d;
}

// strconv.ParseInt(value, 10, 32)
Result<int> parseRetries(const std::string& value) {
  std::string_view digits = value;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  bool syntax = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  errno = 0;
  long long n = syntax ? std::strtoll(value.c_str(), nullptr, 10) : 0;
  if (!syntax) return invalid("strconv.ParseInt: parsing " + goQuote(value) + ": invalid syntax");
  if (errno == ERANGE || n > INT32_MAX || n < INT32_MIN) {
    return invalid("strconv.ParseInt: parsing " + goQuote(value) + ": value out of range");
  }
  if (n < 0) return invalid("--retries cannot be negative (" + std::to_string(n) + ")");
  return static_cast<int>(n);
}

Status checkHealthcheck(Instruction& ins) {
  if (ins.args.empty()) return atLeastOne("HEALTHCHECK");
  std::string type = detail::toUpper(ins.args[0]);
  Healthcheck& h = ins.health;
  if (type == "NONE") {
    if (ins.args.size() != 1) return invalid("HEALTHCHECK NONE takes no arguments");
    h.test = {type};
    return ok();
  }
  if (auto s = checkFlags(ins.flags, kHealthFlags); !s) return s;
  if (type != "CMD") return invalid("Unknown type " + goQuote(type) + " in HEALTHCHECK (try CMD)");
  if (ins.args.size() == 1) return invalid("Missing command after HEALTHCHECK CMD");
  h.test = {ins.execForm ? "CMD" : "CMD-SHELL"};
  h.test.insert(h.test.end(), ins.args.begin() + 1, ins.args.end());
  std::pair<std::string_view, int64_t*> durations[] = {{"interval", &h.intervalNs},
                                                       {"timeout", &h.timeoutNs},
                                                       {"start-period", &h.startPeriodNs},
                                                       {"start-interval", &h.startIntervalNs}};
  for (auto [flag, field] : durations) {
    auto d = healthDuration(ins, flag);
    if (!d) return std::move(d).error();
    *field = *d;
  }
  if (auto retries = flagValue(ins.flags, "retries"); retries && !retries->empty()) {
    auto n = parseRetries(*retries);
    if (!n) return std::move(n).error();
    h.retries = *n;
  }
  return ok();
}

Status checkVolume(Instruction& ins) {
  for (std::string& v : ins.args) {
    v = std::string(detail::trimSpace(v));
    if (v.empty()) return invalid("VOLUME specified can not be an empty string");
  }
  return ok();
}

Status checkShell(const Instruction& ins) {
  if (ins.args.empty()) return atLeastOne("SHELL");
  if (!ins.execForm) return invalid("SHELL requires the arguments to be in JSON form");
  return ok();
}

// Instructions docker gives no flags: any flag is "unknown flag: --x".
Status noFlags(const Instruction& ins) { return checkFlags(ins.flags, {}); }

Status checkOneArg(const Instruction& ins) {
  if (ins.args.size() != 1) return exactlyOne(kindName(ins.kind));
  return ins.kind == Kind::kStopSignal ? ok() : noFlags(ins);
}

Status checkCopy(const Instruction& ins) {
  if (ins.args.size() >= 2) return ok();
  return invalid(std::string(kindName(ins.kind)) +
                 " requires at least two arguments, but only one was provided. Destination could not be determined");
}

// In docker's order: argument counts and flags as each of its parse functions checks them.
Status checkKind(Node& node) {
  Instruction& ins = node.ins;
  Status flags = noFlags(ins);
  switch (ins.kind) {
    case Kind::kEnv: return !flags ? flags : checkPairs(ins, "ENV");
    case Kind::kLabel: return !flags ? flags : checkPairs(ins, "LABEL");
    case Kind::kArg: return checkArg(ins);  // docker ignores ARG's flags
    case Kind::kMaintainer:
    case Kind::kWorkdir:
    case Kind::kUser:
    case Kind::kStopSignal:  // STOPSIGNAL's flags are ignored too
      return checkOneArg(ins);
    case Kind::kAdd:
    case Kind::kCopy:
      return checkCopy(ins);
    case Kind::kFrom: return checkFrom(ins);
    case Kind::kOnbuild:
      if (ins.args.empty()) return atLeastOne("ONBUILD");
      return !flags ? flags : checkOnbuild(node);
    case Kind::kHealthcheck: return checkHealthcheck(ins);
    case Kind::kExpose:
      if (ins.args.empty()) return atLeastOne("EXPOSE");
      std::sort(ins.args.begin(), ins.args.end());
      return flags;
    case Kind::kVolume:
      if (ins.args.empty()) return atLeastOne("VOLUME");
      return !flags ? flags : checkVolume(ins);
    case Kind::kShell: return !flags ? flags : checkShell(ins);
    case Kind::kCmd:
    case Kind::kEntrypoint:
      return flags;
    case Kind::kRun:
      return ok();  // RUN --mount etc.: the executor checks them (checkFlags)
  }
  return ok();
}

Stage stageOf(Instruction from) {
  Stage s;
  s.baseName = from.args[0];
  if (from.args.size() == 3) s.name = detail::toLower(from.args[2]);
  s.platform = flagValue(from.flags, "platform").value_or("");
  s.from = std::move(from);
  return s;
}

}  // namespace

namespace detail {

Status checkNode(Node& node) {
  if (!node.known) {
    std::string message = "unknown instruction: " + node.ins.keyword;
    if (auto match = suggest(node.ins.keyword, kKindNames, false)) message += " (did you mean " + *match + "?)";
    return lineError(node.ins.line, message);
  }
  if (auto s = checkKind(node); !s) return lineError(node.ins.line, s.error().message());
  return ok();
}

}  // namespace detail

std::string_view kindName(Kind kind) { return kKindNames[static_cast<size_t>(kind)]; }

Result<Dockerfile> parseDockerfile(std::string_view text, std::string_view name) {
  if (text.empty()) return invalid("the Dockerfile (" + std::string(name) + ") cannot be empty");
  auto nodes = detail::parseNodes(text, '\\');
  if (!nodes) return std::move(nodes).error();
  if (nodes->nodes.empty()) return invalid("failed to parse " + std::string(name) + ": file with no instructions");
  Dockerfile out;
  out.escape = nodes->escape;
  out.syntax = std::move(nodes->syntax);
  out.check = std::move(nodes->check);
  out.warnings = std::move(nodes->warnings);
  for (Node& node : nodes->nodes) {
    if (auto s = detail::checkNode(node); !s) return std::move(s).error();
    Instruction& ins = node.ins;
    if (out.stages.empty() && ins.kind == Kind::kArg) {
      out.metaArgs.push_back(std::move(ins));
    } else if (ins.kind == Kind::kFrom) {
      out.stages.push_back(stageOf(std::move(ins)));
    } else if (out.stages.empty()) {
      return detail::lineError(ins.line, "no build stage in current context");
    } else {
      out.stages.back().commands.push_back(std::move(ins));
    }
  }
  return out;
}

Result<std::vector<Instruction>> parseInstructions(std::string_view text, char escape) {
  auto nodes = detail::parseNodes(text, escape);
  if (!nodes) return std::move(nodes).error();
  if (nodes->nodes.empty()) return invalid("file with no instructions");
  std::vector<Instruction> out;
  for (Node& node : nodes->nodes) {
    if (auto s = detail::checkNode(node); !s) return std::move(s).error();
    out.push_back(std::move(node.ins));
  }
  return out;
}

size_t stepCount(const Dockerfile& file) {
  size_t n = file.metaArgs.size() + file.stages.size();
  for (const Stage& s : file.stages) n += s.commands.size();
  return n;
}

Status checkFlags(const std::vector<Flag>& flags, std::span<const FlagSpec> supported) {
  std::vector<std::string_view> names;
  for (const FlagSpec& f : supported) names.push_back(f.name);
  std::vector<std::string_view> seen;
  for (const Flag& f : flags) {
    std::string dashed = "--" + f.name;
    auto spec = std::find_if(supported.begin(), supported.end(), [&](const FlagSpec& s) { return s.name == f.name; });
    if (spec == supported.end()) {
      std::string message = "unknown flag: " + dashed;
      if (auto match = detail::suggest(f.name, names, true)) message += " (did you mean " + *match + "?)";
      return invalid(message);
    }
    bool again = std::find(seen.begin(), seen.end(), spec->name) != seen.end();
    if (again && spec->type != FlagSpec::kStrings) return invalid("duplicate flag specified: " + dashed);
    seen.push_back(spec->name);
    if (spec->type == FlagSpec::kBool) {
      if (f.hasValue && f.value.empty()) return invalid("missing a value on flag: " + dashed);
      std::string v = detail::toLower(f.value);
      if (v != "true" && v != "false" && !v.empty()) {
        return invalid("expecting boolean value for flag " + dashed + ", not: " + f.value);
      }
    } else if (!f.hasValue) {
      return invalid("missing a value on flag: " + dashed);
    }
  }
  return ok();
}

std::span<const FlagSpec> dockerFlags(Kind kind) {
  switch (kind) {
    case Kind::kRun: return kRunFlags;
    case Kind::kCopy: return kCopyFlags;
    case Kind::kAdd: return kAddFlags;
    case Kind::kFrom: return kFromFlags;
    case Kind::kHealthcheck: return kHealthFlags;
    default: return {};
  }
}

std::optional<std::string> flagValue(const std::vector<Flag>& flags, std::string_view name) {
  std::optional<std::string> out;
  for (const Flag& f : flags) {
    if (f.name == name) out = f.hasValue ? f.value : "true";
  }
  return out;
}

std::vector<std::string> flagValues(const std::vector<Flag>& flags, std::string_view name) {
  std::vector<std::string> out;
  for (const Flag& f : flags) {
    if (f.name == name) out.push_back(f.value);
  }
  return out;
}

}  // namespace vic::build
