// Every parser is total: hostile input gets an answer (a result or an error) quickly, with no
// recursion as deep as the input. The time bounds are loose (the sanitizer build is slow); each
// case runs in milliseconds without them.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>

#include "runtime/build/dockerfile.h"
#include "runtime/build/dockerignore.h"
#include "runtime/build/shell_lex.h"

namespace vic::build {
namespace {

using namespace std::string_literals;

// Runs f, failing when it takes more than `limit`.
void quickly(const std::function<void()>& f, std::chrono::seconds limit = std::chrono::seconds(10)) {
  auto start = std::chrono::steady_clock::now();
  f();
  EXPECT_LT(std::chrono::steady_clock::now() - start, limit);
}

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(HostileInput, MegabyteLine) {
  quickly([] {
    auto f = parseDockerfile("FROM a\nRUN " + std::string(1 << 20, 'x') + "\n");
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().message(), "dockerfile parse error on line 2: dockerfile line greater than max allowed size of 65535");
  });
  // the longest line docker takes is fine
  EXPECT_TRUE(parseDockerfile("FROM a\nRUN " + std::string(kMaxDockerfileLine - 4, 'x')));
  EXPECT_FALSE(DockerIgnore::parse(std::string(1 << 20, '*')));
  quickly([] { EXPECT_FALSE(expandWord(std::string((1 << 20) + 1, '\''), {})); });
  quickly([] { EXPECT_EQ(expandWords(std::string(1 << 19, ' ') + "a", {})->size(), 1u); });
}

TEST(HostileInput, HundredThousandContinuationLines) {
  quickly([] {
    auto f = parseDockerfile("FROM a\nRUN echo \\\n" + repeat("x \\\n", 100000) + "end\n");
    ASSERT_TRUE(f) << f.error().message();
    const Instruction& run = f->stages[0].commands[0];
    EXPECT_EQ(run.line, 2);
    EXPECT_EQ(run.endLine, 100003);
    EXPECT_EQ(run.args[0].size(), std::string("echo ").size() + 100000 * 2 + 3);
  });
  quickly([] {
    // continuation lines that are empty or comments, and 100k instructions
    auto f = parseDockerfile("FROM a\nRUN a \\\n" + repeat("\n# c\n", 100000) + "b\n" + repeat("ENV a=b\n", 100000));
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(f->warnings.size(), 1u);
    EXPECT_EQ(f->stages[0].commands.size(), 100001u);
  });
}

TEST(HostileInput, UnbalancedQuotes) {
  auto f = parseDockerfile("FROM a\nENV a=\"b c\nLABEL 'x=y\nRUN --mount=\"x /a /b\nRUN [\"a\nARG \"\n");
  ASSERT_TRUE(f) << f.error().message();
  auto& c = f->stages[0].commands;
  EXPECT_EQ(c[0].pairs[0].value, "\"b c");
  EXPECT_EQ(c[2].flags[0].value, "x /a /b");
  EXPECT_EQ(c[3].args[0], "[\"a");
  EXPECT_EQ(expandWord(c[0].pairs[0].value, {}).error().message(),
            "failed to process \"\\\"b c\": unexpected end of statement while looking for matching double-quote");
  EXPECT_FALSE(expandWord("${a:-'}", {}));
  EXPECT_FALSE(expandWords("\"", {}));
}

TEST(HostileInput, NulBytes) {
  auto f = parseDockerfile("FROM a\0b\nRUN \0\0\nENV k\0=v\0\nCOPY \0 /x\n"s);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->stages[0].baseName, "a\0b"s);
  EXPECT_EQ(f->stages[0].commands[0].args[0], "\0\0"s);
  EXPECT_EQ(f->stages[0].commands[1].pairs[0].key, "k\0"s);
  EXPECT_EQ(f->stages[0].commands[2].args[0], "\0"s);
  auto bad = parseDockerfile("FROM a\n\0RUN x\n"s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "dockerfile parse error on line 2: unknown instruction: \0RUN (did you mean RUN?)"s);
  EXPECT_EQ(*expandWord("a\0$b\0"s, {{"b", "x"}}), "a\0x\0"s);
  auto d = DockerIgnore::parse("a\0*\n"s);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->ignored("a\0zz"s));
  EXPECT_FALSE(d->ignored("azz"));
}

TEST(HostileInput, DeeplyNestedExpansion) {
  auto nest = [](size_t depth) { return repeat("${a:-", depth) + "x" + std::string(depth, '}'); };
  EXPECT_EQ(*expandWord(nest(kMaxExpansionDepth), {}), "x");
  quickly([&] {
    auto r = expandWord(nest(100000), {});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("${} nested more than 32 deep"), std::string::npos) << r.error().message();
    EXPECT_LT(r.error().message().size(), 400u);  // the word is cut in the message
  });
  quickly([] { EXPECT_FALSE(expandWord(repeat("${", 100000), {})); });
  quickly([] { EXPECT_TRUE(expandWord(repeat("\"${a}\"", 100000), {})); });
}

TEST(HostileInput, ExpansionIsBounded) {
  Vars v = {{"b", std::string(65536, 'b')}};
  quickly([&] {
    auto r = expandWord(repeat("$b", 30000), v);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("expansion exceeds 1048576 bytes"), std::string::npos);
  });
  quickly([&] { EXPECT_FALSE(expandWord("${b//b/bbbbbbbbbbbbbbbbbbbb}", v)); });
  // a pattern whose matching would take |value| x |pattern| steps runs out of budget
  Vars big = {{"v", std::string(100000, 'a')}};
  quickly([&] {
    auto r = expandWord("${v/" + std::string(1000, '*') + "x/y}", big);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("pattern substitution needs too many steps"), std::string::npos);
  });
  quickly([&] { EXPECT_EQ(expandWord("${v//?/}", big)->size(), 0u); });
  quickly([&] { EXPECT_EQ(*expandWord("${v##*a}", big), ""); });
  quickly([&] { EXPECT_EQ(expandWord("${v%a*}", big)->size(), 99999u); });
}

TEST(HostileInput, DeepJsonAndOnbuildChains) {
  quickly([] {
    // deeper than Go's decoder takes: not JSON, so the shell form
    auto f = parseDockerfile("FROM a\nRUN " + std::string(20000, '[') + std::string(20000, ']'));
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_FALSE(f->stages[0].commands[0].execForm);
  });
  // nested arrays docker decodes: not strings
  auto nested = parseDockerfile("FROM a\nRUN " + std::string(5000, '[') + std::string(5000, ']'));
  ASSERT_FALSE(nested);
  EXPECT_NE(nested.error().message().find("arrays must be comprised of strings only"), std::string::npos);
  quickly([] {
    auto f = parseDockerfile("FROM a\n" + repeat("ONBUILD ", 8000) + "RUN x\n");
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().message(), "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  });
}

TEST(HostileInput, IgnorePatternsStayLinear) {
  quickly([] {
    auto d = DockerIgnore::parse(repeat("**/", 1000) + "x\n" + repeat("*a", 10000) + "b\n!" + repeat("[a-z]?", 5000) + "\n");
    ASSERT_TRUE(d) << d.error().message();
    std::string path = repeat("a/", 2000) + repeat("a", 2000);
    EXPECT_TRUE(d->ignored(path + "/x"));
    EXPECT_FALSE(d->ignored(path));
  });
}

}  // namespace
}  // namespace vic::build
