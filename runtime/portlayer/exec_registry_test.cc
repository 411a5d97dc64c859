#include "runtime/portlayer/exec_registry.h"

#include <gtest/gtest.h>

namespace vic::pl {
namespace {

std::shared_ptr<ExecRecord> exec(const std::string& id, const std::string& container, bool running = false) {
  auto e = std::make_shared<ExecRecord>();
  e->id = id;
  e->container = container;
  e->running = running;
  return e;
}

// Exec records were never freed: every docker exec grew the endpoint for good.
TEST(ExecRegistry, RecordsGoWithTheirContainer) {
  ExecRegistry r;
  r.add(exec("e1", "c1"));
  r.add(exec("e2", "c1"));
  r.add(exec("e3", "c2"));
  r.forgetContainer("c1");
  EXPECT_FALSE(r.find("e1"));
  EXPECT_FALSE(r.find("e2"));
  EXPECT_TRUE(r.find("e3"));
}

// Dropped when the port layer destroys the container (docker rm, --rm), not on the next create.
TEST(ExecRegistry, ADestroyEventDropsTheContainersRecords) {
  boost::asio::io_context io;
  EventBus bus(io.get_executor());
  ExecRegistry r;
  int sub = dropOnDestroy(bus, r);
  r.add(exec("e1", "c1", true));
  r.add(exec("e2", "c2"));
  bus.publish({"container", "die", "c1", {}, 0, 0});
  bus.publish({"volume", "destroy", "c2", {}, 0, 0});  // a volume of the same name: not a container
  EXPECT_EQ(r.size(), 2u);
  bus.publish({"container", "destroy", "c1", {}, 0, 0});
  EXPECT_FALSE(r.find("e1"));
  EXPECT_TRUE(r.find("e2"));
  bus.unsubscribe(sub);
  bus.publish({"container", "destroy", "c2", {}, 0, 0});
  EXPECT_TRUE(r.find("e2"));
}

TEST(ExecRegistry, AContainerKeepsABoundedNumberOfIdleRecordsOldestDroppedFirst) {
  ExecRegistry r(3);
  r.add(exec("run", "c1", true));  // running: never dropped for room
  for (int i = 0; i < 10; ++i) r.add(exec("e" + std::to_string(i), "c1"));
  r.add(exec("other", "c2"));
  EXPECT_TRUE(r.find("run"));
  EXPECT_FALSE(r.find("e6"));
  EXPECT_TRUE(r.find("e7"));
  EXPECT_TRUE(r.find("e9"));
  EXPECT_TRUE(r.find("other"));
  EXPECT_EQ(r.size(), 5u);
}

}  // namespace
}  // namespace vic::pl
