// docker's word expansion, golden: the cases the Dockerfile reference documents and buildkit's
// lexer tests pin down (unset variables, escapes, quotes inside words, a backtick escape).
#include "runtime/build/shell_lex.h"

#include <gtest/gtest.h>

namespace vic::build {
namespace {

using Words = std::vector<std::string>;

const Vars kEnv = {{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}};

struct Case {
  const char* in;
  const char* out;  // nullptr: an error
};

void expectWords(const std::vector<Case>& cases, const Vars& vars, char escape = '\\') {
  for (const Case& c : cases) {
    auto r = expandWord(c.in, vars, escape);
    if (c.out == nullptr) {
      EXPECT_FALSE(r) << c.in << " -> " << (r ? *r : "");
    } else {
      ASSERT_TRUE(r) << c.in << ": " << r.error().message();
      EXPECT_EQ(*r, c.out) << c.in;
    }
  }
}

TEST(ShellLex, QuotesAndEscapes) {
  expectWords({{"hello", "hello"},
               {"he'll'o", "hello"},
               {"he'llo", nullptr},
               {"he\\'llo", "he'llo"},
               {"he\\\\'llo", nullptr},
               {"abc\\tdef", "abctdef"},
               {"\"abc\\tdef\"", "abc\\tdef"},
               {"\"abc\\\\tdef\"", "abc\\tdef"},
               {"'abc\\tdef'", "abc\\tdef"},
               {"hello\\", "hello"},
               {"hello\\\\", "hello\\"},
               {"\"hello", nullptr},
               {"\"hello\\\"", nullptr},
               {"\"hel'lo\"", "hel'lo"},
               {"'hello", nullptr},
               {"'hello\\'", "hello\\"},
               {"'hello\\\\there'", "hello\\\\there"},
               {"\"''\"", "''"},
               {"'\"hello\"'", "\"hello\""},
               {"안'녕'하세요", "안녕하세요"},
               {"안녕\\'하세요", "안녕'하세요"}},
              kEnv);
}

TEST(ShellLex, Variables) {
  expectWords({{"$.", "$."},
               {"he$1x", "hex"},
               {"he$.x", "he$.x"},
               {"he$pwd.", "he."},  // names are case-sensitive
               {"he$PWD", "he/home"},
               {"he\\$PWD", "he$PWD"},
               {"he\\\\$PWD", "he\\/home"},
               {"\"he\\$PWD\"", "he$PWD"},
               {"\"he\\\\$PWD\"", "he\\/home"},
               {"'he$PWD'", "he$PWD"},
               {"'\\$PWD'", "\\$PWD"},
               {"\"he'$PWD'\"", "he'/home'"},
               {"\\${}", "${}"},
               {"he\\${}xx", "he${}xx"},
               {"he${hi}xx", "hexx"},
               {"he${PWD}", "he/home"},
               {"안녕$KOREAN", "안녕한국어"},
               {"$KOREAN", "한국어"},
               {"${aaa}}", "}"}},
              kEnv);
}

TEST(ShellLex, DefaultsAndAlternatives) {
  expectWords({{"he${XXX:-000}xx", "he000xx"},
               {"he${PWD:-000}xx", "he/homexx"},
               {"he${XXX:-$PWD}xx", "he/homexx"},
               {"he${XXX:-${PWD:-yyy}}xx", "he/homexx"},
               {"he${XXX:-${YYY:-yyy}}xx", "heyyyxx"},
               {"he${XXX:+${PWD}}xx", "hexx"},
               {"he${PWD:+${XXX}}xx", "hexx"},
               {"he${PWD:+${SHELL}}xx", "hebashxx"},
               {"he${XXX:+000}xx", "hexx"},
               {"he${PWD:+000}xx", "he000xx"},
               {"he${PWD:+${PWD}:}xx", "he/home:xx"},
               {"he${XXX:-\\$PWD:}xx", "he$PWD:xx"},
               {"he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"},
               {"${aaa:-bbb}}", "bbb}"},
               {"${aaa:-bbb {foo}", "bbb {foo"},
               {"${aaa:-\"b}c\"}", "b}c"},
               // without the colon an empty value counts as set
               {"${NULL-x}", ""},
               {"${NULL:-x}", "x"},
               {"${NULL+x}", "x"},
               {"${NULL:+x}", ""},
               {"${UNSET-x}", "x"},
               {"${UNSET+x}", ""},
               {"${PWD?}", "/home"},
               {"he${NULL?}", "he"},
               // positional and special parameters are never set
               {"${1:-bbb}", "bbb"},
               {"$999aaa", "aaa"},
               {"${001:-bbb}aaa", "bbbaaa"},
               {"$@@@", "@@"},
               {"${@:-bbb}aaa", "bbbaaa"},
               {"$$", ""},
               {"${0:+bbb}", ""}},
              kEnv);
}

TEST(ShellLex, SyntaxErrorsSayWhat) {
  auto err = [](std::string_view w) {
    auto r = expandWord(w, kEnv);
    return r ? std::string("(no error)") : r.error().message();
  };
  EXPECT_EQ(err("he${PWD"), "failed to process \"he${PWD\": syntax error: missing '}'");
  EXPECT_EQ(err("${aaa:-bbb"), "failed to process \"${aaa:-bbb\": syntax error: missing '}'");
  EXPECT_EQ(err("${aaa:-bbb ${foo}"), "failed to process \"${aaa:-bbb ${foo}\": syntax error: missing '}'");
  EXPECT_EQ(err("he${}xx"), "failed to process \"he${}xx\": syntax error: bad substitution");
  EXPECT_EQ(err("${{aaa}"), "failed to process \"${{aaa}\": syntax error: bad substitution");
  EXPECT_EQ(err("${:-bbb}"), "failed to process \"${:-bbb}\": syntax error: bad substitution");
  EXPECT_EQ(err("he${.}"), "failed to process \"he${.}\": unsupported modifier (.) in substitution");
  EXPECT_EQ(err("he${PWD:=000}xx"), "failed to process \"he${PWD:=000}xx\": unsupported modifier (:=) in substitution");
  EXPECT_EQ(err("he${XXX:YYY}"), "failed to process \"he${XXX:YYY}\": unsupported modifier (:Y) in substitution");
  EXPECT_EQ(err("${PWD:#x}"), "failed to process \"${PWD:#x}\": unsupported modifier (:#) in substitution");
  EXPECT_EQ(err("he${XXX?}"), "failed to process \"he${XXX?}\": XXX: is not allowed to be unset");
  EXPECT_EQ(err("he${NULL:?}"), "failed to process \"he${NULL:?}\": NULL: is not allowed to be empty");
  EXPECT_EQ(err("'abc"), "failed to process \"'abc\": unexpected end of statement while looking for matching single-quote");
  EXPECT_EQ(err("\"abc"), "failed to process \"\\\"abc\": unexpected end of statement while looking for matching double-quote");
}

// buildkit's TestShellParserMandatoryEnvVars
TEST(ShellLex, RequiredVariablesWithMessage) {
  const Vars set = {{"VAR", "plain"}, {"ARG", "x"}};
  const Vars empty = {{"VAR", ""}, {"ARG", "x"}};
  const Vars unset = {{"ARG", "x"}};
  EXPECT_EQ(*expandWord("${VAR:?message here$ARG}", set), "plain");
  EXPECT_EQ(expandWord("${VAR:?message here$ARG}", empty).error().message(),
            "failed to process \"${VAR:?message here$ARG}\": VAR: message herex");
  EXPECT_FALSE(expandWord("${VAR:?message here$ARG}", unset));
  EXPECT_EQ(*expandWord("${VAR?message here$ARG}", empty), "");
  EXPECT_FALSE(expandWord("${VAR?message here$ARG}", unset));
}

// The Dockerfile reference's examples of the pattern forms
TEST(ShellLex, PatternTrimAndReplace) {
  const Vars v = {{"str", "foobarbaz"}, {"path", "/usr/local/bin/app.tar.gz"}, {"nl", "a\nb"}};
  expectWords({{"${str#f*b}", "arbaz"},
               {"${str##f*b}", "az"},
               {"${str%b*}", "foobar"},
               {"${str%%b*}", "foo"},
               {"${str/ba/fo}", "fooforbaz"},
               {"${str//ba/fo}", "fooforfoz"},
               {"${path##*/}", "app.tar.gz"},
               {"${path%/*}", "/usr/local/bin"},
               {"${path%.*}", "/usr/local/bin/app.tar"},
               {"${path%%.*}", "/usr/local/bin/app"},
               {"${str#x}", "foobarbaz"},
               {"${str/?/X}", "Xoobarbaz"},
               {"${str//o/}", "fbarbaz"},
               {"${str/#/x}", "foobarbaz"},
               {"${str/\\*/x}", "foobarbaz"},
               {"${str/b*/}", "foo"},
               {"${unset#x}", ""},
               {"${nl/*/x}", "x\nb"},  // * does not cross a newline (Go's regexp)
               {"${str/a\\/b/x}", "foobarbaz"}},
              v);
  EXPECT_EQ(expandWord("${str#\\x}", v).error().message(),
            "failed to process \"${str#\\\\x}\": invalid pattern (\\x) in substitution: invalid escape '\\x'");
  EXPECT_EQ(expandWord("${str/a", v).error().message(), "failed to process \"${str/a\": syntax error: missing '/' in ${}");
}

TEST(ShellLex, BacktickEscape) {
  expectWords({{"he`$PWD", "he$PWD"},
               {"c:\\windows", "c:\\windows"},
               {"\"a`\"b\"", "a\"b"},
               {"\"a\\b\"", "a\\b"},
               {"a` b", "a b"},
               {"end`", "end"}},
              kEnv, '`');
}

void expectSplit(const char* in, const Words& out, const Vars& vars) {
  auto r = expandWords(in, vars);
  ASSERT_TRUE(r) << in << ": " << r.error().message();
  EXPECT_EQ(*r, out) << in;
}

// buildkit's wordsTest: splitting after expansion
TEST(ShellLex, WordSplitting) {
  const Vars vars = {{"hi", "hi"}, {"space", "abc  def"}, {"leading", "  ab c"}, {"trailing", "ab c   "}, {"PORTS", "80 443/udp"}};
  expectSplit("hello", {"hello"}, vars);
  expectSplit("hello${unset}bye", {"hellobye"}, vars);
  expectSplit("hello${hi}bye", {"hellohibye"}, vars);
  expectSplit("hello${space}bye", {"helloabc", "defbye"}, vars);
  expectSplit("hello\"${space}\"bye", {"helloabc  defbye"}, vars);
  expectSplit("hello \"${space}\"bye", {"hello", "abc  defbye"}, vars);
  expectSplit("hello${leading}def", {"hello", "ab", "cdef"}, vars);
  expectSplit("hello\"${leading}\" def", {"hello  ab c", "def"}, vars);
  expectSplit("hello${trailing}", {"helloab", "c"}, vars);
  expectSplit("hello${trailing}d", {"helloab", "c", "d"}, vars);
  expectSplit("hel\"lo${trailing}\"", {"helloab c   "}, vars);
  expectSplit("hello\" there  \"", {"hello there  "}, vars);
  expectSplit("hello there     ", {"hello", "there"}, vars);
  expectSplit("hello\\ there", {"hello there"}, vars);
  expectSplit("hello\\\" there", {"hello\"", "there"}, vars);
  expectSplit("hello\"\\\\there\"", {"hello\\there"}, vars);
  expectSplit("hello'\\\\there'", {"hello\\\\there"}, vars);
  expectSplit("$PORTS 8080", {"80", "443/udp", "8080"}, vars);  // EXPOSE $PORTS
  expectSplit("a \"\" b", {"a", "b"}, vars);
  expectSplit("", {}, vars);
  EXPECT_FALSE(expandWords("hello\" there", vars));
}

}  // namespace
}  // namespace vic::build
