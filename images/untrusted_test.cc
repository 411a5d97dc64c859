#include "images/untrusted.h"

#include <gtest/gtest.h>

namespace vic::images {
namespace {

using nlohmann::json;

TEST(FieldReader, ReadsTypedMembersAndKeepsTheFirstProblem) {
  json j = json::parse(R"({"s":"x","n":5,"big":18446744073709551615,"neg":-3,"f":1.5,"a":[1],"o":{},"nul":null,"ss":["a","b"]})");
  FieldReader r(j, "top");
  EXPECT_EQ(r.str("s"), "x");
  EXPECT_EQ(r.integer("n", 0, 10), 5);
  EXPECT_EQ(r.str("absent", false, "dflt"), "dflt");
  EXPECT_EQ(r.str("nul", false, "dflt"), "dflt");  // null counts as absent
  EXPECT_NE(r.array("a"), nullptr);
  EXPECT_NE(r.object("o"), nullptr);
  EXPECT_EQ(r.strings("ss"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.integer("big", 0, 100, false, 7), 7);
  EXPECT_EQ(*r.problem(), "top.big is out of range (18446744073709551615)");
  EXPECT_EQ(r.integer("neg", 0, 100), 0);
  EXPECT_EQ(r.str("n"), "");
  EXPECT_EQ(r.error(Errc::kProtocol, "reading x").message(), "reading x: top.big is out of range (18446744073709551615)");

  FieldReader each(j, "");
  (void)each.integer("f", 0, 10);
  EXPECT_EQ(*each.problem(), "f must be an integer, not a number with a fraction");
  FieldReader missing(j, "");
  (void)missing.str("nope", true);
  EXPECT_EQ(*missing.problem(), "nope is missing");
  json array = json::array();
  FieldReader notObject(array, "layers[3]");
  EXPECT_EQ(*notObject.problem(), "layers[3] must be an object, not an array");
  EXPECT_EQ(notObject.str("x"), "");  // reading on keeps giving fallbacks
}

TEST(Printable, ReplacesInvalidUtf8AndControlsAndCuts) {
  EXPECT_EQ(printable("plain ascii"), "plain ascii");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(printable("a\xff" "b"), "a" + r + "b");
  EXPECT_EQ(printable("\xc0\xaf"), r + r);              // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), r + r + r);      // a surrogate
  EXPECT_EQ(printable("\xe2\x82"), r + r);              // cut short
  EXPECT_EQ(printable("a\r\nb\x1b[31m"), "a" + r + r + "b" + r + "[31m");
  EXPECT_EQ(printable(std::string(300, 'x'), 10), std::string(10, 'x') + "...");
  EXPECT_EQ(printable("\xc3\xa9\xc3\xa9", 3), "\xc3\xa9...");  // never half a character
  // whatever goes in, the result serialises as JSON without throwing
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_NO_THROW((void)json(printable(all, 4096)).dump());
}

}  // namespace
}  // namespace vic::images
