#include "runtime/build/chown.h"

#include <gtest/gtest.h>

namespace vic::build {
namespace {

constexpr std::string_view kPasswd = "root:x:0:0:root:/root:/bin/sh\nbin:x:2:2:bin:/bin:/sbin/nologin\napp:x:1000:1001::/home/app:/bin/sh\n";
constexpr std::string_view kGroup = "root:x:0:\nbin:x:2:\nstaff:x:50:app\nappgrp:x:1001:\n";

TEST(Chown, NumbersNeedNoLookupAndAUserAloneIsAlsoTheGroup) {
  EXPECT_FALSE(chownNeedsLookup("1000"));
  EXPECT_FALSE(chownNeedsLookup("1000:50"));
  EXPECT_TRUE(chownNeedsLookup("app"));
  EXPECT_TRUE(chownNeedsLookup("1000:staff"));
  auto o = resolveChown("1000", "", "");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->uid, 1000u);
  EXPECT_EQ(o->gid, 1000u);
}

TEST(Chown, NamesComeFromTheImagesFiles) {
  auto both = resolveChown("app:staff", kPasswd, kGroup);
  ASSERT_TRUE(both) << both.error().message();
  EXPECT_EQ(both->uid, 1000u);
  EXPECT_EQ(both->gid, 50u);
  auto alone = resolveChown("bin", kPasswd, kGroup);  // the group named as the user, as docker looks it up
  ASSERT_TRUE(alone);
  EXPECT_EQ(alone->uid, 2u);
  EXPECT_EQ(alone->gid, 2u);
  auto mixed = resolveChown("7:appgrp", kPasswd, kGroup);
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->uid, 7u);
  EXPECT_EQ(mixed->gid, 1001u);
}

TEST(Chown, AnUnknownNameIsDockersError) {
  auto user = resolveChown("nobody", kPasswd, kGroup);
  ASSERT_FALSE(user);
  EXPECT_EQ(user.error().message(),
            "unable to convert uid/gid chown string to host mapping: can't find uid for user nobody: no such user: nobody");
  auto group = resolveChown("app:nogroup", kPasswd, kGroup);
  ASSERT_FALSE(group);
  EXPECT_EQ(group.error().message(),
            "unable to convert uid/gid chown string to host mapping: can't find gid for group nogroup: no such group: nogroup");
  EXPECT_FALSE(resolveChown("app", kPasswd, ""));  // "app" is no group: docker fails the same way
  EXPECT_FALSE(resolveChown("99999999999:1", "", ""));  // beyond 32 bits: not a number, and no such name
}

TEST(Chown, MalformedLinesAreSkipped) {
  constexpr std::string_view passwd = "app\napp:x\napp:x:notanumber:1\napp:x:42:1\n";
  auto o = resolveChown("app:0", passwd, "");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->uid, 42u);
}

}  // namespace
}  // namespace vic::build
