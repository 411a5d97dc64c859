#include "runtime/docker/exec_registry.h"

#include <gtest/gtest.h>

namespace vic::docker {
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
  r.forgetGone([](const std::string& c) { return c != "c2"; });  // c2 removed by --rm
  EXPECT_EQ(r.size(), 0u);
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
}  // namespace vic::docker
