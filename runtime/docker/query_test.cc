#include "runtime/docker/query.h"

#include <gtest/gtest.h>

namespace vic::docker {
namespace {

Request withQuery(std::map<std::string, std::string> q) {
  Request r;
  r.query = std::move(q);
  return r;
}

TEST(Query, IntegersAreGoAtoiAndJunkIsRefusedInItsWords) {
  EXPECT_EQ(*parseGoInt("42"), 42);
  EXPECT_EQ(*parseGoInt("+7"), 7);
  EXPECT_EQ(*parseGoInt("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(*parseGoInt("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parseGoInt("x").error().message(), "strconv.Atoi: parsing \"x\": invalid syntax");
  EXPECT_EQ(parseGoInt("").error().message(), "strconv.Atoi: parsing \"\": invalid syntax");
  EXPECT_EQ(parseGoInt("1.5").error().message(), "strconv.Atoi: parsing \"1.5\": invalid syntax");
  EXPECT_EQ(parseGoInt(" 1").error().message(), "strconv.Atoi: parsing \" 1\": invalid syntax");
  EXPECT_EQ(parseGoInt("-").error().message(), "strconv.Atoi: parsing \"-\": invalid syntax");
  EXPECT_EQ(parseGoInt("9223372036854775808").error().message(),
            "strconv.Atoi: parsing \"9223372036854775808\": value out of range");
  EXPECT_EQ(parseGoInt("x", "strconv.ParseInt").error().code(), Errc::kInvalidArgument);
}

TEST(Query, IntParamFallsBackOnlyWhenAbsentOrEmpty) {
  EXPECT_EQ(*intParam(withQuery({}), "limit", -1), -1);
  EXPECT_EQ(*intParam(withQuery({{"limit", ""}}), "limit", -1), -1);
  EXPECT_EQ(*intParam(withQuery({{"limit", "3"}}), "limit", -1), 3);
  EXPECT_EQ(intParam(withQuery({{"limit", "three"}}), "limit", -1).error().message(),
            "strconv.Atoi: parsing \"three\": invalid syntax");
  EXPECT_EQ(intParam(withQuery({{"t", "4294967296"}}), "t", 0).error().message(),
            "strconv.Atoi: parsing \"4294967296\": value out of range");
  EXPECT_FALSE(optionalIntParam(withQuery({}), "t")->has_value());
  EXPECT_EQ(**optionalIntParam(withQuery({{"t", "0"}}), "t"), 0);
}

TEST(Query, BooleansAreMobysBoolValue) {
  for (const char* no : {"", "0", "no", "false", "FALSE", "None", " false "}) {
    EXPECT_FALSE(withQuery({{"all", no}}).flag("all")) << no;
  }
  for (const char* yes : {"1", "true", "True", "yes", "one", "100"}) EXPECT_TRUE(withQuery({{"all", yes}}).flag("all")) << yes;
  EXPECT_FALSE(withQuery({}).flag("all"));
  EXPECT_TRUE(boolParam(withQuery({}), "stream", true));
  EXPECT_FALSE(boolParam(withQuery({{"stream", ""}}), "stream", true));  // present: BoolValue
  EXPECT_FALSE(boolParam(withQuery({{"stream", "0"}}), "stream", true));
  EXPECT_TRUE(boolParam(withQuery({{"stream", "1"}}), "stream", false));
}

TEST(Query, TimestampsAreSecondsWithAnOptionalFraction) {
  EXPECT_EQ(*timestampParam(withQuery({}), "since"), 0);
  EXPECT_EQ(*timestampParam(withQuery({{"since", "1700000000"}}), "since"), 1700000000000000000);
  EXPECT_EQ(*timestampParam(withQuery({{"since", "1700000000.5"}}), "since"), 1700000000500000000);
  EXPECT_EQ(*timestampParam(withQuery({{"since", "1700000000.000000001"}}), "since"), 1700000000000000001);
  EXPECT_EQ(timestampParam(withQuery({{"since", "yesterday"}}), "since").error().message(),
            "strconv.ParseInt: parsing \"yesterday\": invalid syntax");
  EXPECT_EQ(timestampParam(withQuery({{"since", "1.x"}}), "since").error().message(),
            "strconv.ParseInt: parsing \"x\": invalid syntax");
  EXPECT_FALSE(timestampParam(withQuery({{"since", "99999999999999999"}}), "since"));
}

TEST(Query, ResizeDimensionsAreRequiredAndFitAConsole) {
  EXPECT_EQ(*dimensionParam(withQuery({{"h", "40"}}), "h"), 40);
  EXPECT_EQ(dimensionParam(withQuery({}), "h").error().message(), "strconv.Atoi: parsing \"\": invalid syntax");
  EXPECT_EQ(dimensionParam(withQuery({{"h", "-1"}}), "h").error().message(), "strconv.Atoi: parsing \"-1\": value out of range");
  EXPECT_FALSE(dimensionParam(withQuery({{"w", "65536"}}), "w"));
}

TEST(Query, TailIsAllForAllJunkAndNegatives) {
  EXPECT_FALSE(tailParam(withQuery({})).has_value());
  EXPECT_FALSE(tailParam(withQuery({{"tail", "all"}})).has_value());
  EXPECT_FALSE(tailParam(withQuery({{"tail", "x"}})).has_value());
  EXPECT_FALSE(tailParam(withQuery({{"tail", "-1"}})).has_value());
  EXPECT_EQ(*tailParam(withQuery({{"tail", "0"}})), 0u);
  EXPECT_EQ(*tailParam(withQuery({{"tail", "5"}})), 5u);
}

}  // namespace
}  // namespace vic::docker
