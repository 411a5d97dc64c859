#include "common/result.h"

#include <gtest/gtest.h>

#include "common/unique_fd.h"

namespace vic {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return Error(Errc::kInvalidArgument, "odd number " + std::to_string(x));
  return x / 2;
}

TEST(Result, CarriesValueOrError) {
  auto good = half(8);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 4);
  auto bad = half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "odd number 3");
  EXPECT_EQ(bad.valueOr(-1), -1);
}

TEST(Result, WrapAddsContextOutermostFirst) {
  Error e = Error(Errc::kNotFound, "no such disk").wrap("attaching volume v1").wrap("starting c1");
  EXPECT_EQ(e.message(), "starting c1: attaching volume v1: no such disk");
  EXPECT_EQ(e.code(), Errc::kNotFound);
}

TEST(Result, FromErrnoMapsKinds) {
  EXPECT_EQ(Error::fromErrno("open x", ENOENT).code(), Errc::kNotFound);
  EXPECT_EQ(Error::fromErrno("mkdir x", EEXIST).code(), Errc::kConflict);
  Error e = Error::fromErrno("read", EIO);
  EXPECT_EQ(e.code(), Errc::kIo);
  EXPECT_EQ(e.sysErrno(), EIO);
  EXPECT_NE(e.message().find("read: "), std::string::npos);
}

TEST(Result, VoidStatus) {
  Status s = ok();
  EXPECT_TRUE(s);
  Status f = Error(Errc::kTimeout, "late");
  EXPECT_FALSE(f);
  EXPECT_EQ(f.error().code(), Errc::kTimeout);
}

// Taking the value of an error used to throw std::bad_variant_access from wherever it happened
// (an API handler, a coroutine) with no word of the error it hid.
TEST(ResultDeathTest, ValueOfAnErrorAbortsWithItsMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto bad = half(3);
  EXPECT_DEATH((void)*bad, "should never happen: the value of an error was taken: odd number 3");
  EXPECT_DEATH((void)std::move(bad).value(), "odd number 3");
  auto good = half(4);
  EXPECT_DEATH((void)good.error(), "should never happen: the error of a value was taken");
}

TEST(UniqueFd, ClosesOnceAndMoves) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  int raw = fds[0];
  {
    UniqueFd a(fds[0]);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
  }
  EXPECT_EQ(::close(raw), -1);  // already closed by b
  EXPECT_EQ(errno, EBADF);
  ::close(fds[1]);
}

}  // namespace
}  // namespace vic
