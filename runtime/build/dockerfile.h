// The Dockerfile as docker's classic builder reads it (buildkit's frontend/dockerfile parser and
// instructions packages): parser directives, comments, line continuations, instructions with
// their flags and arguments, split into build stages. Pure; nothing is expanded here (the
// executor expands words with shell_lex.h when it runs each step, as docker does).
//
// Refused: heredocs (<<EOF) - the classic builder's executor has nowhere to put them.
// Errors use docker's wording with the instruction's line:
//   "dockerfile parse error on line 3: unknown instruction: FOO (did you mean FROM?)"
// except "the Dockerfile (<name>) cannot be empty" and
// "failed to parse <name>: file with no instructions".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vic::build {

// docker's bufio.Scanner limit: a longer physical line is refused.
inline constexpr size_t kMaxDockerfileLine = 65535;

enum class Kind : uint8_t {
  kAdd, kArg, kCmd, kCopy, kEntrypoint, kEnv, kExpose, kFrom, kHealthcheck,
  kLabel, kMaintainer, kOnbuild, kRun, kShell, kStopSignal, kUser, kVolume, kWorkdir,
};
std::string_view kindName(Kind kind);  // "FROM"

// --name=value, or --name alone (hasValue false). Values have quotes and escapes removed.
struct Flag {
  std::string name;
  std::string value;
  bool hasValue = false;
};

// ENV/LABEL key=value (legacy "ENV key value": legacy true), ARG name[=default] (hasValue).
// Keys and values are as written (quotes kept): expand them with expandWord.
struct KeyValue {
  std::string key;
  std::string value;
  bool hasValue = true;
  bool legacy = false;
};

struct Healthcheck {
  // {"NONE"}, {"CMD", argv...} (exec form) or {"CMD-SHELL", command}: docker's Test field.
  std::vector<std::string> test;
  int64_t intervalNs = 0;  // 0: not given
  int64_t timeoutNs = 0;
  int64_t startPeriodNs = 0;
  int64_t startIntervalNs = 0;
  int retries = 0;
};

struct Instruction {
  Kind kind = Kind::kRun;
  std::string keyword;   // as written: "run", "Run"
  std::string original;  // the whole instruction, continuations joined: "Step N/M : <original>"
  int line = 0;          // 1-based line it starts on
  int endLine = 0;       // and ends on
  std::vector<Flag> flags;
  bool execForm = false;  // JSON array form (RUN/CMD/ENTRYPOINT/SHELL/COPY/ADD/VOLUME/HEALTHCHECK)
  // RUN/CMD/ENTRYPOINT: argv (exec form) or {command line} (shell form; none for an empty CMD);
  // SHELL: argv; COPY/ADD: sources..., destination; VOLUME, EXPOSE (sorted, as docker): the
  // words; FROM: {image} or {image, "AS", name}; WORKDIR/USER/STOPSIGNAL/MAINTAINER: {value};
  // ONBUILD: {trigger} (the instruction text after ONBUILD). Unexpanded.
  std::vector<std::string> args;
  std::vector<KeyValue> pairs;  // ENV, LABEL, ARG
  Healthcheck health;           // HEALTHCHECK
};

struct Stage {
  Instruction from;
  std::string baseName;  // the image, unexpanded (may name meta ARGs or an earlier stage)
  std::string name;      // "AS name", lowercased; "" when unnamed
  std::string platform;  // --platform, unexpanded
  std::vector<Instruction> commands;
};

struct Dockerfile {
  std::vector<Instruction> metaArgs;  // ARGs before the first FROM
  std::vector<Stage> stages;          // none when the file holds only ARGs (docker fails later:
                                      // "No image was generated. Is your Dockerfile empty?")
  char escape = '\\';   // # escape=
  std::string syntax;   // # syntax= (recorded; the classic builder ignores it)
  std::string check;    // # check=
  std::vector<std::string> warnings;  // "Empty continuation line found in: ..."
};

// `text`, the contents of the file `name` (for messages).
Result<Dockerfile> parseDockerfile(std::string_view text, std::string_view name = "Dockerfile");

// Instructions without stages: each ONBUILD trigger docker runs is parsed this way. FROM, if
// present, is an ordinary instruction here.
Result<std::vector<Instruction>> parseInstructions(std::string_view text, char escape = '\\');

// docker's step count ("Step N/M"): the meta ARGs, each FROM and each command.
size_t stepCount(const Dockerfile& file);

// An instruction's flags checked against the ones the executor supports, with docker's
// messages: "unknown flag: --fro (did you mean from?)", "duplicate flag specified: --from",
// "missing a value on flag: --from", "expecting boolean value for flag --link, not: x".
// A kStrings flag may repeat (COPY --exclude).
struct FlagSpec {
  enum Type : uint8_t { kBool, kString, kStrings };
  std::string_view name;
  Type type;
};
Status checkFlags(const std::vector<Flag>& flags, std::span<const FlagSpec> supported);
// The flags docker's parser accepts on `kind` (RUN: mount, network, security, device; COPY:
// from, chown, chmod, link, exclude, parents; ADD: chown, chmod, link, keep-git-dir, checksum,
// unpack, exclude; FROM: platform; HEALTHCHECK: its options; none elsewhere). docker refuses
// any other before the first step: checkFlags(ins.flags, dockerFlags(ins.kind)) on every
// instruction reproduces that; the executor then refuses what it does not support.
std::span<const FlagSpec> dockerFlags(Kind kind);
// The value of --name (the last one given); "true" for a bare boolean --name; nullopt if absent.
std::optional<std::string> flagValue(const std::vector<Flag>& flags, std::string_view name);
// Every value of a repeatable --name, in order.
std::vector<std::string> flagValues(const std::vector<Flag>& flags, std::string_view name);

}  // namespace vic::build
