#include "common/blocking.h"

#include <gtest/gtest.h>

#include <thread>

namespace vic {
namespace {
namespace asio = boost::asio;

TEST(BlockingPool, RunsOffTheIoThreadAndResumesOnIt) {
  asio::io_context io;
  BlockingPool pool(1);
  std::thread::id ioId, workerId, resumedId;
  bool workerSawIo = true;
  int got = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    IoThreadScope mark;
    ioId = std::this_thread::get_id();
    auto work = [&] {
      workerId = std::this_thread::get_id();
      workerSawIo = onIoThread();
      return 42;
    };
    got = co_await pool.run(work);
    resumedId = std::this_thread::get_id();
  }, asio::detached);
  io.run();
  EXPECT_EQ(got, 42);
  EXPECT_NE(workerId, ioId);
  EXPECT_EQ(resumedId, ioId);
  EXPECT_FALSE(workerSawIo);
}

TEST(BlockingPool, VoidWork) {
  asio::io_context io;
  BlockingPool pool(1);
  bool ran = false;
  auto work = [&] { ran = true; };
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { co_await pool.run(work); }, asio::detached);
  io.run();
  EXPECT_TRUE(ran);
}

TEST(IoThreadScope, NestsAndRestores) {
  EXPECT_FALSE(onIoThread());
  {
    IoThreadScope a;
    EXPECT_TRUE(onIoThread());
    {
      IoThreadScope b;
      EXPECT_TRUE(onIoThread());
    }
    EXPECT_TRUE(onIoThread());
  }
  EXPECT_FALSE(onIoThread());
}

TEST(IoThreadScopeDeathTest, BlockingCallOnTheIoThreadAborts) {
  requireOffIoThread("fine here");
  EXPECT_DEATH({
    IoThreadScope mark;
    requireOffIoThread("virDomainGetState");
  }, "blocking call on the I/O thread: virDomainGetState");
}

}  // namespace
}  // namespace vic
