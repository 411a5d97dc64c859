// The Dockerfile parser against docker's documented behaviour (the Dockerfile reference and the
// cases buildkit's parser tests pin down), golden.
#include "runtime/build/dockerfile.h"

#include <gtest/gtest.h>

namespace vic::build {
namespace {

using Args = std::vector<std::string>;

Dockerfile parse(std::string_view text) {
  auto f = parseDockerfile(text);
  EXPECT_TRUE(f) << f.error().message();
  return f ? *f : Dockerfile{};
}

std::string parseError(std::string_view text) {
  auto f = parseDockerfile(text);
  EXPECT_FALSE(f) << text;
  return f ? "" : f.error().message();
}

// The instructions of the only stage of "FROM scratch\n" + text.
std::vector<Instruction> commands(std::string_view text) {
  Dockerfile f = parse("FROM scratch\n" + std::string(text));
  if (f.stages.size() != 1) return {};
  return f.stages[0].commands;
}

Instruction one(std::string_view text) {
  auto c = commands(text);
  EXPECT_EQ(c.size(), 1u) << text;
  return c.empty() ? Instruction{} : c[0];
}

// The error for "FROM scratch\n" + text (its line 2 is text's first).
std::string commandError(std::string_view text) { return parseError("FROM scratch\n" + std::string(text)); }

TEST(Dockerfile, StagesMetaArgsAndLines) {
  Dockerfile f = parse(
      "ARG BASE=busybox\n"
      "ARG TAG\n"
      "FROM ${BASE}:${TAG} AS Build\n"
      "RUN echo hi\n"
      "FROM build\n"
      "COPY --from=build /a /b\n");
  ASSERT_EQ(f.metaArgs.size(), 2u);
  EXPECT_EQ(f.metaArgs[0].pairs[0].key, "BASE");
  EXPECT_EQ(f.metaArgs[0].pairs[0].value, "busybox");
  EXPECT_TRUE(f.metaArgs[0].pairs[0].hasValue);
  EXPECT_EQ(f.metaArgs[1].pairs[0].key, "TAG");
  EXPECT_FALSE(f.metaArgs[1].pairs[0].hasValue);
  ASSERT_EQ(f.stages.size(), 2u);
  EXPECT_EQ(f.stages[0].baseName, "${BASE}:${TAG}");
  EXPECT_EQ(f.stages[0].name, "build");  // stage names are lowercased
  EXPECT_EQ(f.stages[0].from.original, "FROM ${BASE}:${TAG} AS Build");
  EXPECT_EQ(f.stages[0].from.line, 3);
  ASSERT_EQ(f.stages[0].commands.size(), 1u);
  EXPECT_EQ(f.stages[0].commands[0].kind, Kind::kRun);
  EXPECT_EQ(f.stages[0].commands[0].args, Args{"echo hi"});
  EXPECT_EQ(f.stages[0].commands[0].line, 4);
  EXPECT_EQ(f.stages[1].baseName, "build");
  EXPECT_EQ(f.stages[1].name, "");
  EXPECT_EQ(f.stages[1].commands[0].args, (Args{"/a", "/b"}));
  EXPECT_EQ(*flagValue(f.stages[1].commands[0].flags, "from"), "build");
  EXPECT_EQ(stepCount(f), 6u);
  EXPECT_EQ(f.escape, '\\');
}

TEST(Dockerfile, EmptyAndInstructionless) {
  EXPECT_EQ(parseError(""), "the Dockerfile (Dockerfile) cannot be empty");
  auto named = parseDockerfile("", "build/Dockerfile.dev");
  EXPECT_EQ(named.error().message(), "the Dockerfile (build/Dockerfile.dev) cannot be empty");
  EXPECT_EQ(parseError("# only a comment\n\n   \n"), "failed to parse Dockerfile: file with no instructions");
  EXPECT_EQ(parseError("\n"), "failed to parse Dockerfile: file with no instructions");
}

TEST(Dockerfile, NoBuildStage) {
  EXPECT_EQ(parseError("RUN echo\nFROM busybox\n"), "dockerfile parse error on line 1: no build stage in current context");
  EXPECT_EQ(parseError("ARG A\n\nENV b=c\nFROM x\n"), "dockerfile parse error on line 3: no build stage in current context");
  // only ARGs: parsed, with no stage (docker refuses it after running them)
  Dockerfile args = parse("ARG A=1\n");
  EXPECT_EQ(args.metaArgs.size(), 1u);
  EXPECT_TRUE(args.stages.empty());
  // an ARG after the first FROM belongs to the stage
  Dockerfile f = parse("ARG A\nFROM x\nARG B\n");
  EXPECT_EQ(f.metaArgs.size(), 1u);
  EXPECT_EQ(f.stages[0].commands[0].pairs[0].key, "B");
}

TEST(Dockerfile, UnknownInstructionsWithDockersSuggestion) {
  EXPECT_EQ(commandError("RUNN x"), "dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)");
  EXPECT_EQ(commandError("\ncopyy a b"), "dockerfile parse error on line 3: unknown instruction: copyy (did you mean copy?)");
  EXPECT_EQ(commandError("BOGUSWORD x"), "dockerfile parse error on line 2: unknown instruction: BOGUSWORD");
  EXPECT_EQ(parseError("foo bar"), "dockerfile parse error on line 1: unknown instruction: foo (did you mean from?)");
  // parser errors anywhere come first, as docker parses the whole file before checking
  EXPECT_EQ(commandError("BOGUSWORD\nRUN [\"a\", 1]"),
            "dockerfile parse error on line 3: when using JSON array syntax, arrays must be comprised of strings only");
}

TEST(Dockerfile, KeywordsAreCaseInsensitive) {
  Dockerfile f = parse("from busybox\nrun echo\nCmd [\"a\"]\n");
  ASSERT_EQ(f.stages.size(), 1u);
  EXPECT_EQ(f.stages[0].commands[0].kind, Kind::kRun);
  EXPECT_EQ(f.stages[0].commands[0].keyword, "run");
  EXPECT_EQ(f.stages[0].commands[1].kind, Kind::kCmd);
  EXPECT_TRUE(f.stages[0].commands[1].execForm);
  EXPECT_EQ(kindName(Kind::kStopSignal), "STOPSIGNAL");
}

TEST(Dockerfile, CommentsBlankLinesAndContinuations) {
  Dockerfile f = parse(
      "# comment\n"
      "FROM a\n"
      "\n"
      "  # indented comment\n"
      "RUN echo \\\n"
      "  # a comment inside the instruction\n"
      "  hello\n"
      "   \n"
      "ENV x=1\n");
  auto& c = f.stages[0].commands;
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].args, Args{"echo   hello"});
  EXPECT_EQ(c[0].original, "RUN echo   hello");
  EXPECT_EQ(c[0].line, 5);
  EXPECT_EQ(c[0].endLine, 7);
  EXPECT_EQ(c[1].line, 9);
  EXPECT_TRUE(f.warnings.empty());
}

// buildkit's continueIndent and escapes cases
TEST(Dockerfile, ContinuationLinesKeepTheirIndent) {
  EXPECT_EQ(one("RUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n  light\\\nning").args,
            Args{"echo hello  world  goodnight    moon  lightning"});
  EXPECT_EQ(one("RUN echo hello  \\  \nworld").args, Args{"echo hello  world"});
  EXPECT_EQ(one("RUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight").args, Args{"echo hi   world  goodnight"});
  EXPECT_EQ(one("RUN echo goodbye\\\nfrog").args, Args{"echo goodbyefrog"});
  // an escaped escape at the end does not continue the line
  EXPECT_EQ(commands("RUN echo a\\\\\nRUN b").size(), 2u);
  EXPECT_EQ(commands("RUN echo a\\\\\nRUN b")[0].args, Args{"echo a\\\\"});
  // a continuation at the end of the file
  EXPECT_EQ(one("RUN something \\").args, Args{"something"});
}

TEST(Dockerfile, EmptyContinuationLinesWarn) {
  Dockerfile f = parse("FROM a\nRUN foo \\\n\nbar \\\n\nbaz\n");
  EXPECT_EQ(f.stages[0].commands[0].args, Args{"foo bar baz"});
  EXPECT_EQ(f.stages[0].commands[0].endLine, 6);
  EXPECT_EQ(f.warnings, Args{"Empty continuation line found in: RUN foo bar baz"});
}

TEST(Dockerfile, CrLfAndByteOrderMark) {
  Dockerfile f = parse("\xEF\xBB\xBF" "FROM a\r\nRUN echo hi\r\nRUN a \\\r\n b\r\n");
  ASSERT_EQ(f.stages.size(), 1u);
  EXPECT_EQ(f.stages[0].baseName, "a");
  EXPECT_EQ(f.stages[0].commands[0].args, Args{"echo hi"});
  EXPECT_EQ(f.stages[0].commands[1].args, Args{"a  b"});
}

TEST(Dockerfile, EscapeDirective) {
  Dockerfile f = parse("# escape=`\nFROM image\nENV GOPATH `\n\\go\nRUN dir c:\\ `\n  && echo\n");
  EXPECT_EQ(f.escape, '`');
  auto& c = f.stages[0].commands;
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].pairs[0].key, "GOPATH");
  EXPECT_EQ(c[0].pairs[0].value, "\\go");
  EXPECT_TRUE(c[0].pairs[0].legacy);
  EXPECT_EQ(c[1].args, Args{"dir c:\\   && echo"});
  EXPECT_EQ(parse("#escape = `\n\nFROM a\n").escape, '`');
  EXPECT_EQ(parse("  #  ESCAPE  =  `  \nFROM a\n").escape, '`');
  EXPECT_EQ(parse("\xEF\xBB\xBF# escape=`\nFROM a\n").escape, '`');
}

TEST(Dockerfile, DirectivesOnlyAtTheTop) {
  // after a comment, a blank line, an unknown directive or an instruction it is a comment
  EXPECT_EQ(parse("# a comment\n# escape=`\nFROM a\n").escape, '\\');
  EXPECT_EQ(parse("\n# escape=`\nFROM a\n").escape, '\\');
  EXPECT_EQ(parse("# foo=bar\n# escape=`\nFROM a\n").escape, '\\');
  EXPECT_EQ(parseError("FROM a\n# escape=`\nRUN a `\nb\n"), "dockerfile parse error on line 4: unknown instruction: b");
  Dockerfile f = parse("# syntax=docker/dockerfile:1.7\n# check=skip=all\n# escape=\\\nFROM a\n");
  EXPECT_EQ(f.syntax, "docker/dockerfile:1.7");
  EXPECT_EQ(f.check, "skip=all");
  EXPECT_EQ(parseError("# escape=x\nFROM a\n"), "dockerfile parse error on line 1: invalid escape token 'x' does not match ` or \\");
  EXPECT_EQ(parseError("# escape=`\n# Escape=\\\nFROM a\n"),
            "dockerfile parse error on line 2: only one escape parser directive can be used");
  // "# escape=" with no value is a comment
  EXPECT_EQ(parse("# escape=\n# escape=`\nFROM a\n").escape, '\\');
}

TEST(Dockerfile, JsonExecFormAndShellForm) {
  Instruction empty = one("CMD []");
  EXPECT_TRUE(empty.execForm);
  EXPECT_TRUE(empty.args.empty());
  EXPECT_EQ(one("CMD [\"\"]").args, Args{""});
  EXPECT_EQ(one("CMD\t[\t\"a\",\t\"b\"\t]\t").args, (Args{"a", "b"}));
  Instruction escapes = one(R"(CMD ["abc 123", "♥", "\" \\ \/ \b \f \n \r \t \u0000"])");
  EXPECT_EQ(escapes.args, (Args{"abc 123", "♥", std::string("\" \\ / \b \f \n \r \t \0", 17)}));
  EXPECT_EQ(one(R"(CMD [ "\/usr\\\"/bin/znc", "-f", "-r" ])").args, (Args{"/usr\\\"/bin/znc", "-f", "-r"}));
  // not JSON: the shell form, whole
  Instruction shell = one("ENTRYPOINT [ \"a\", ]");
  EXPECT_FALSE(shell.execForm);
  EXPECT_EQ(shell.args, Args{"[ \"a\", ]"});
  EXPECT_EQ(one("RUN [\"a\"] && b").args, Args{"[\"a\"] && b"});
  EXPECT_EQ(one("RUN [a]").args, Args{"[a]"});
  EXPECT_EQ(one("ENTRYPOINT echo \"hi\"").args, Args{"echo \"hi\""});
  Instruction none = one("CMD");
  EXPECT_FALSE(none.execForm);
  EXPECT_TRUE(none.args.empty());
  // JSON that is not an array of strings
  std::string notStrings = "dockerfile parse error on line 2: when using JSON array syntax, arrays must be comprised of strings only";
  EXPECT_EQ(commandError("RUN [\"a\", 1]"), notStrings);
  EXPECT_EQ(commandError("CMD [\"a\", [\"b\"]]"), notStrings);
  EXPECT_EQ(commandError("COPY [\"a\", {}]"), notStrings);
}

TEST(Dockerfile, CopyAddVolumeWordLists) {
  EXPECT_EQ(one("COPY a b /c/").args, (Args{"a", "b", "/c/"}));
  Instruction json = one("COPY [\"a b\", \"/c\"]");
  EXPECT_TRUE(json.execForm);
  EXPECT_EQ(json.args, (Args{"a b", "/c"}));
  // quotes are not special in the shell form of COPY (expansion deals with them later)
  EXPECT_EQ(one("ADD \"a b\" /c").args, (Args{"\"a", "b\"", "/c"}));
  EXPECT_EQ(one("VOLUME /a /b").args, (Args{"/a", "/b"}));
  EXPECT_EQ(one("VOLUME [\"/a\", \" /b \"]").args, (Args{"/a", "/b"}));
  EXPECT_EQ(commandError("VOLUME [\"\"]"), "dockerfile parse error on line 2: VOLUME specified can not be an empty string");
  EXPECT_EQ(commandError("VOLUME"), "dockerfile parse error on line 2: VOLUME requires at least one argument");
  EXPECT_EQ(commandError("COPY a"),
            "dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined");
  EXPECT_EQ(commandError("ADD [\"a\"]"),
            "dockerfile parse error on line 2: ADD requires at least two arguments, but only one was provided. Destination could not be determined");
  // buildkit's copyEmptyWhitespace: the instruction ends at the line without a continuation
  EXPECT_EQ(commandError("COPY\t\n\t\tquux \\\n      bar"),
            "dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined");
}

TEST(Dockerfile, FlagsParsedGenerically) {
  Instruction c = one("COPY --user=me --doit=true foo /tmp/");
  ASSERT_EQ(c.flags.size(), 2u);
  EXPECT_EQ(c.flags[0].name, "user");
  EXPECT_EQ(c.flags[0].value, "me");
  EXPECT_TRUE(c.flags[0].hasValue);
  EXPECT_EQ(c.args, (Args{"foo", "/tmp/"}));
  Instruction dashes = one("COPY --doit=true -- foo /tmp/");
  EXPECT_EQ(dashes.flags.size(), 1u);
  EXPECT_EQ(dashes.args, (Args{"foo", "/tmp/"}));
  EXPECT_EQ(one("COPY -- --foo /tmp/").args, (Args{"--foo", "/tmp/"}));
  Instruction quoted = one("COPY --chown=\"a b\" --chmod='7'55 --link x y");
  EXPECT_EQ(*flagValue(quoted.flags, "chown"), "a b");
  EXPECT_EQ(*flagValue(quoted.flags, "chmod"), "755");
  EXPECT_FALSE(quoted.flags[2].hasValue);
  EXPECT_EQ(*flagValue(quoted.flags, "link"), "true");
  EXPECT_FALSE(flagValue(quoted.flags, "from"));
  Instruction mount = one("RUN --mount=type=cache,target=/root/.cache --network=none go build");
  EXPECT_EQ(*flagValue(mount.flags, "mount"), "type=cache,target=/root/.cache");
  EXPECT_EQ(mount.args, Args{"go build"});
  Instruction exclude = one("COPY --exclude=*.md --exclude=*.txt . /src");
  EXPECT_EQ(flagValues(exclude.flags, "exclude"), (Args{"*.md", "*.txt"}));
  EXPECT_EQ(one("RUN --escaped\\ space=1 x").flags[0].name, "escaped space");
}

TEST(Dockerfile, InstructionsWithoutFlagsRefuseThem) {
  EXPECT_EQ(commandError("MAINTAINER --boo joe@example.com"), "dockerfile parse error on line 2: unknown flag: --boo");
  EXPECT_EQ(commandError("CMD --doit [ \"a\" ]"), "dockerfile parse error on line 2: unknown flag: --doit");
  EXPECT_EQ(commandError("ENV --x a=b"), "dockerfile parse error on line 2: unknown flag: --x");
  // docker never looks at ARG's and STOPSIGNAL's flags
  EXPECT_EQ(one("STOPSIGNAL --x SIGKILL").args, Args{"SIGKILL"});
}

TEST(Dockerfile, CheckFlags) {
  constexpr FlagSpec kCopy[] = {{"from", FlagSpec::kString}, {"link", FlagSpec::kBool}, {"exclude", FlagSpec::kStrings}};
  auto check = [&](std::string_view line) {
    Instruction c = one(line);
    Status s = checkFlags(c.flags, kCopy);
    return s ? std::string() : s.error().message();
  };
  EXPECT_EQ(check("COPY --from=a --link --exclude=x --exclude=y a b"), "");
  EXPECT_EQ(check("COPY --link=false a b"), "");
  EXPECT_EQ(check("COPY --fro=a a b"), "unknown flag: --fro (did you mean from?)");
  EXPECT_EQ(check("COPY --chown=1 a b"), "unknown flag: --chown");
  EXPECT_EQ(check("COPY --from=a --from=b a b"), "duplicate flag specified: --from");
  EXPECT_EQ(check("COPY --from a b"), "missing a value on flag: --from");
  EXPECT_EQ(check("COPY --link= a b"), "missing a value on flag: --link");
  EXPECT_EQ(check("COPY --link=yes a b"), "expecting boolean value for flag --link, not: yes");
  // docker's own lists
  auto docker = [](std::string_view line) {
    Instruction c = one(line);
    Status s = checkFlags(c.flags, dockerFlags(c.kind));
    return s ? std::string() : s.error().message();
  };
  EXPECT_EQ(docker("RUN --mount=type=bind,target=/x --mount=type=tmpfs,target=/t --network=none true"), "");
  EXPECT_EQ(docker("RUN --mnt=x true"), "unknown flag: --mnt (did you mean mount?)");
  EXPECT_EQ(docker("COPY --parents --chmod=644 --exclude=a a b"), "");
  EXPECT_EQ(docker("ADD --checksum=sha256:0 --keep-git-dir=true --unpack a b"), "");
  EXPECT_EQ(docker("ADD --from=x a b"), "unknown flag: --from");
  EXPECT_EQ(docker("WORKDIR /a"), "");
  EXPECT_TRUE(dockerFlags(Kind::kEnv).empty());
}

// buildkit's env cases: values keep their quotes and escapes until expansion
TEST(Dockerfile, EnvAndLabelForms) {
  auto pairs = [](std::string_view line) { return one(line).pairs; };
  auto legacy = pairs("ENV name value");
  ASSERT_EQ(legacy.size(), 1u);
  EXPECT_EQ(legacy[0].key, "name");
  EXPECT_EQ(legacy[0].value, "value");
  EXPECT_TRUE(legacy[0].legacy);
  EXPECT_EQ(pairs("ENV name \t value  x")[0].value, "value  x");
  auto two = pairs("ENV name=value name2=value2");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].key, "name2");
  EXPECT_FALSE(two[1].legacy);
  EXPECT_EQ(pairs("ENV name=\"value value1\"")[0].value, "\"value value1\"");
  EXPECT_EQ(pairs("ENV name=value\\ value2")[0].value, "value\\ value2");
  EXPECT_EQ(pairs("ENV name='a\\'b''")[0].value, "'a\\'b''");
  EXPECT_EQ(pairs("ENV name=\"a\\\"b\"")[0].value, "\"a\\\"b\"");
  auto multi = pairs("ENV name=value \\\n    name1=value1 \\\n    name2=\"value2a \\\n           value2b\" \\\n");
  ASSERT_EQ(multi.size(), 3u);
  EXPECT_EQ(multi[2].value, "\"value2a            value2b\"");
  EXPECT_EQ(pairs("LABEL \"a b\"=c d=")[0].key, "\"a b\"");
  EXPECT_EQ(pairs("LABEL \"a b\"=c d=")[1].value, "");
  EXPECT_EQ(pairs("LABEL maintainer James Turnbull \"james@example.com\"")[0].value, "James Turnbull \"james@example.com\"");
  EXPECT_EQ(commandError("ENV a"), "dockerfile parse error on line 2: ENV must have two arguments");
  EXPECT_EQ(commandError("LABEL a"), "dockerfile parse error on line 2: LABEL must have two arguments");
  EXPECT_EQ(commandError("ENV a=b c"),
            "dockerfile parse error on line 2: Syntax error - can't find = in \"c\". Must be of the form: name=value");
  EXPECT_EQ(commandError("ENV =x"), "dockerfile parse error on line 2: ENV names can not be blank");
  EXPECT_EQ(commandError("ENV"), "dockerfile parse error on line 2: ENV requires at least one argument");
  EXPECT_EQ(commandError("LABEL"), "dockerfile parse error on line 2: LABEL requires at least one argument");
}

TEST(Dockerfile, Arg) {
  auto p = one("ARG a=1 b c=\"x y\"").pairs;
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].value, "1");
  EXPECT_FALSE(p[1].hasValue);
  EXPECT_EQ(p[2].value, "\"x y\"");
  EXPECT_EQ(one("ARG a=").pairs[0].value, "");
  EXPECT_TRUE(one("ARG a=").pairs[0].hasValue);
  EXPECT_EQ(commandError("ARG =x"), "dockerfile parse error on line 2: ARG names can not be blank");
  EXPECT_EQ(commandError("ARG"), "dockerfile parse error on line 2: ARG requires at least one argument");
}

TEST(Dockerfile, From) {
  Dockerfile f = parse("FROM --platform=$BUILDPLATFORM golang:1.22 as Builder\n");
  EXPECT_EQ(f.stages[0].platform, "$BUILDPLATFORM");
  EXPECT_EQ(f.stages[0].name, "builder");
  EXPECT_EQ(f.stages[0].from.args, (Args{"golang:1.22", "as", "Builder"}));
  EXPECT_EQ(parse("FROM a AS my-stage_1.x\n").stages[0].name, "my-stage_1.x");
  EXPECT_EQ(parseError("FROM a AS 1x"),
            "dockerfile parse error on line 1: invalid name for build stage: \"1x\", name can't start with a number or contain symbols");
  EXPECT_EQ(parseError("FROM a AS b$"),
            "dockerfile parse error on line 1: invalid name for build stage: \"b$\", name can't start with a number or contain symbols");
  EXPECT_EQ(parseError("FROM a b"), "dockerfile parse error on line 1: FROM requires either one or three arguments");
  EXPECT_EQ(parseError("FROM"), "dockerfile parse error on line 1: FROM requires either one or three arguments");
  EXPECT_EQ(parseError("FROM a AS b c"), "dockerfile parse error on line 1: FROM requires either one or three arguments");
  EXPECT_EQ(parseError("FROM --platfrm=x a"), "dockerfile parse error on line 1: unknown flag: --platfrm (did you mean platform?)");
}

// buildkit's health cases
TEST(Dockerfile, Healthcheck) {
  EXPECT_EQ(one("HEALTHCHECK NONE").health.test, Args{"NONE"});
  EXPECT_EQ(one("HEALTHCHECK --interval=bad none").health.test, Args{"NONE"});  // NONE's flags are not read
  Healthcheck h = one("HEALTHCHECK --interval=5s --timeout=3s --retries=3 \\\n  CMD /app/check.sh --quiet").health;
  EXPECT_EQ(h.test, (Args{"CMD-SHELL", "/app/check.sh --quiet"}));
  EXPECT_EQ(h.intervalNs, 5'000'000'000);
  EXPECT_EQ(h.timeoutNs, 3'000'000'000);
  EXPECT_EQ(h.retries, 3);
  EXPECT_EQ(one("HEALTHCHECK   CMD   a b").health.test, (Args{"CMD-SHELL", "a b"}));
  EXPECT_EQ(one("HEALTHCHECK --timeout=3s CMD [\"foo\", \"x\"]").health.test, (Args{"CMD", "foo", "x"}));
  EXPECT_EQ(one("healthcheck cmd foo").health.test, (Args{"CMD-SHELL", "foo"}));
  Healthcheck zero = one("HEALTHCHECK --start-period=0s --start-interval=0s --interval=5s --timeout=0s --retries=0 CMD [\"foo\"]").health;
  EXPECT_EQ(zero.startPeriodNs, 0);
  EXPECT_EQ(zero.intervalNs, 5'000'000'000);
  Healthcheck go = one("HEALTHCHECK --interval=1m30s --timeout=1.5h --start-period=300ms --start-interval=2ms CMD x").health;
  EXPECT_EQ(go.intervalNs, 90'000'000'000);
  EXPECT_EQ(go.timeoutNs, 5'400'000'000'000);
  EXPECT_EQ(go.startPeriodNs, 300'000'000);
  EXPECT_EQ(go.startIntervalNs, 2'000'000);
  auto err = [](std::string_view line) { return commandError(line).substr(std::string("dockerfile parse error on line 2: ").size()); };
  EXPECT_EQ(err("HEALTHCHECK"), "HEALTHCHECK requires at least one argument");
  EXPECT_EQ(err("HEALTHCHECK CMD"), "Missing command after HEALTHCHECK CMD");
  EXPECT_EQ(err("HEALTHCHECK CMD []"), "Missing command after HEALTHCHECK CMD");
  EXPECT_EQ(err("HEALTHCHECK NONE x"), "HEALTHCHECK NONE takes no arguments");
  EXPECT_EQ(err("HEALTHCHECK CONNECT TCP 7000"), "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)");
  EXPECT_EQ(err("HEALTHCHECK --foo=1 CMD x"), "unknown flag: --foo");
  EXPECT_EQ(err("HEALTHCHECK --interval=1us CMD x"), "Interval \"interval\" cannot be less than 1ms");
  EXPECT_EQ(err("HEALTHCHECK --timeout=-1s CMD x"), "Interval \"timeout\" cannot be less than 1ms");
  EXPECT_EQ(err("HEALTHCHECK --timeout=abc CMD x"), "time: invalid duration \"abc\"");
  EXPECT_EQ(err("HEALTHCHECK --interval=10 CMD x"), "time: missing unit in duration \"10\"");
  EXPECT_EQ(err("HEALTHCHECK --interval=10y CMD x"), "time: unknown unit \"y\" in duration \"10y\"");
  EXPECT_EQ(err("HEALTHCHECK --interval=9999999999h CMD x"), "time: invalid duration \"9999999999h\"");
  EXPECT_EQ(err("HEALTHCHECK --retries=-1 CMD x"), "--retries cannot be negative (-1)");
  EXPECT_EQ(err("HEALTHCHECK --retries=x CMD x"), "strconv.ParseInt: parsing \"x\": invalid syntax");
  EXPECT_EQ(err("HEALTHCHECK --retries=3000000000 CMD x"), "strconv.ParseInt: parsing \"3000000000\": value out of range");
}

TEST(Dockerfile, Onbuild) {
  EXPECT_EQ(one("ONBUILD RUN echo hi").args, Args{"RUN echo hi"});
  EXPECT_EQ(one("onbuild   ADD --chown=1 . /app").args, Args{"ADD --chown=1 . /app"});
  EXPECT_EQ(one("ONBUILD BOGUS x").args, Args{"BOGUS x"});  // docker checks a trigger when it runs
  auto err = [](std::string_view line) { return commandError(line).substr(std::string("dockerfile parse error on line 2: ").size()); };
  EXPECT_EQ(err("ONBUILD ONBUILD RUN touch foobar"), "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  EXPECT_EQ(err("ONBUILD FROM scratch"), "FROM isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(err("ONBUILD maintainer me"), "MAINTAINER isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(err("ONBUILD"), "ONBUILD requires at least one argument");
  EXPECT_EQ(err("ONBUILD RUN [\"a\", 1]"), "when using JSON array syntax, arrays must be comprised of strings only");
  EXPECT_EQ(err("ONBUILD ENV a"), "ENV must have two arguments");
}

TEST(Dockerfile, HeredocsAreRefused) {
  EXPECT_EQ(commandError("RUN <<EOF\necho hi\nEOF"),
            "dockerfile parse error on line 2: heredocs (<<EOF) are not supported by this builder");
  EXPECT_EQ(commandError("COPY <<-EOT /x\nhello\nEOT"),
            "dockerfile parse error on line 2: heredocs (<<-EOT) are not supported by this builder");
  EXPECT_EQ(commandError("RUN python3 2<<'PY'\nprint(1)\nPY"),
            "dockerfile parse error on line 2: heredocs (2<<'PY') are not supported by this builder");
  EXPECT_EQ(commandError("RUN cat << EOF > /x\nhi\nEOF"),
            "dockerfile parse error on line 2: heredocs (<< EOF) are not supported by this builder");
  EXPECT_EQ(commandError("ONBUILD RUN <<EOF\nx\nEOF"),
            "dockerfile parse error on line 2: heredocs (<<EOF) are not supported by this builder");
  // not heredocs
  EXPECT_EQ(one("RUN echo \"<<EOF\"").args, Args{"echo \"<<EOF\""});
  EXPECT_EQ(one("RUN echo $((1<<2))").args, Args{"echo $((1<<2))"});
  EXPECT_EQ(one("RUN cat <<< word").args, Args{"cat <<< word"});
  EXPECT_EQ(one("RUN [\"cat\", \"<<EOF\"]").args, (Args{"cat", "<<EOF"}));
  EXPECT_EQ(one("ENV a=<<EOF").pairs[0].value, "<<EOF");
}

TEST(Dockerfile, SingleValueInstructions) {
  EXPECT_EQ(one("WORKDIR /a b").args, Args{"/a b"});
  EXPECT_EQ(one("USER 1000:1000").args, Args{"1000:1000"});
  EXPECT_EQ(one("STOPSIGNAL SIGKILL").args, Args{"SIGKILL"});
  EXPECT_EQ(one("MAINTAINER Jane Doe <jane@example.com>").args, Args{"Jane Doe <jane@example.com>"});
  EXPECT_EQ(commandError("WORKDIR"), "dockerfile parse error on line 2: WORKDIR requires exactly one argument");
  EXPECT_EQ(commandError("USER"), "dockerfile parse error on line 2: USER requires exactly one argument");
  EXPECT_EQ(commandError("STOPSIGNAL"), "dockerfile parse error on line 2: STOPSIGNAL requires exactly one argument");
  EXPECT_EQ(commandError("MAINTAINER"), "dockerfile parse error on line 2: MAINTAINER requires exactly one argument");
}

TEST(Dockerfile, ExposeAndShell) {
  EXPECT_EQ(one("EXPOSE 8080 80/udp 443").args, (Args{"443", "80/udp", "8080"}));  // sorted, as docker
  EXPECT_EQ(commandError("EXPOSE"), "dockerfile parse error on line 2: EXPOSE requires at least one argument");
  Instruction shell = one("SHELL [\"/bin/bash\", \"-c\"]");
  EXPECT_EQ(shell.args, (Args{"/bin/bash", "-c"}));
  EXPECT_EQ(commandError("SHELL /bin/bash -c"), "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form");
  EXPECT_EQ(commandError("SHELL []"), "dockerfile parse error on line 2: SHELL requires at least one argument");
}

TEST(Dockerfile, OriginalTextForStepOutput) {
  Dockerfile f = parse("FROM a\n  RUN echo a \\\n   && echo b   \nCMD   [\"x\"]\n");
  EXPECT_EQ(f.stages[0].commands[0].original, "RUN echo a    && echo b");
  EXPECT_EQ(f.stages[0].commands[0].line, 2);
  EXPECT_EQ(f.stages[0].commands[0].endLine, 3);
  EXPECT_EQ(f.stages[0].commands[1].original, "CMD   [\"x\"]");
}

TEST(Dockerfile, ParseInstructionsForTriggers) {
  auto list = parseInstructions("RUN a\nFROM b\n");
  ASSERT_TRUE(list) << list.error().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].kind, Kind::kFrom);
  EXPECT_EQ(parseInstructions("RUN a `\n b", '`')->at(0).args, Args{"a  b"});
  EXPECT_EQ(parseInstructions("BOGUS").error().message(), "dockerfile parse error on line 1: unknown instruction: BOGUS");
  EXPECT_EQ(parseInstructions("\n").error().message(), "file with no instructions");
}

}  // namespace
}  // namespace vic::build
