#include "common/json.h"

#include <gtest/gtest.h>

#include <vector>

namespace vic {
namespace {

TEST(Json, DepthIgnoresBracketsInStrings) {
  EXPECT_EQ(jsonDepth(R"({"a":[1,{"b":"[[[{{{"}]})"), 3u);
  EXPECT_EQ(jsonDepth(R"(["\"[["])"), 1u);
  EXPECT_EQ(jsonDepth("42"), 0u);
}

TEST(Json, TooDeepIsDiscardedNotParsed) {
  std::string deep(300000, '[');
  EXPECT_TRUE(parseJson(deep).is_discarded());
  std::string ok = std::string(100, '[') + std::string(100, ']');
  EXPECT_FALSE(parseJson(ok).is_discarded());
  std::string over = std::string(kMaxJsonDepth + 1, '{');
  EXPECT_TRUE(parseJson(over).is_discarded());
}

TEST(Json, NotJsonIsDiscarded) { EXPECT_TRUE(parseJson("{\"a\":").is_discarded()); }

TEST(Json, DumpReplacesInvalidUtf8) {
  nlohmann::json j = {{"message", std::string("bad \xff\xfe header")}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);
  EXPECT_EQ(dumpJson(j), "{\"message\":\"bad \xEF\xBF\xBD\xEF\xBF\xBD header\"}");
}

TEST(Json, ParseJsonObjectNamesWhatIsNotAnObject) {
  auto ok = parseJsonObject(R"({"a":1})", "volume record");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("a"), 1);
  for (const std::string& bad : std::vector<std::string>{"[1]", "\"s\"", "{\"a\":", "", std::string(200, '[') + std::string(200, ']')}) {
    auto r = parseJsonObject(bad, "volume record", Errc::kIo);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message(), "volume record is not a JSON object");
    EXPECT_EQ(r.error().code(), Errc::kIo);
  }
}

}  // namespace
}  // namespace vic
