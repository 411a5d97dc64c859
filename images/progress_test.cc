#include "images/progress.h"

#include <gtest/gtest.h>

#include "common/id.h"

namespace vic::images {
namespace {

TEST(Progress, GoldenLines) {
  EXPECT_EQ(progressStatus("Pulling from library/busybox", "latest"),
            "{\"id\":\"latest\",\"status\":\"Pulling from library/busybox\"}\r\n");
  EXPECT_EQ(progressStatus("Pulling fs layer", shortId("sha256:6602617241c36fcd6db9c498ef67dbbd")),
            "{\"id\":\"6602617241c3\",\"progressDetail\":{},\"status\":\"Pulling fs layer\"}\r\n");
  EXPECT_EQ(progressBytes("Downloading", "6602617241c3", 1048576, 2097152),
            "{\"id\":\"6602617241c3\",\"progress\":\"[=========================>                         ] "
            "1.05MB/2.1MB\",\"progressDetail\":{\"current\":1048576,\"total\":2097152},\"status\":\"Downloading\"}\r\n");
  EXPECT_EQ(progressError("manifest unknown"),
            "{\"error\":\"manifest unknown\",\"errorDetail\":{\"message\":\"manifest unknown\"}}\r\n");
}

TEST(Progress, BarsAndSizes) {
  EXPECT_EQ(humanSize(0), "0B");
  EXPECT_EQ(humanSize(999), "999B");
  EXPECT_EQ(humanSize(1234), "1.23kB");
  EXPECT_EQ(humanSize(45600000), "45.6MB");
  EXPECT_EQ(progressBar(0, 100), "[>" + std::string(50, ' ') + "] 0B/100B");
  EXPECT_EQ(progressBar(100, 100), "[" + std::string(50, '=') + ">] 100B/100B");
  EXPECT_EQ(progressBar(150, 100), "[" + std::string(50, '=') + ">] 150B/100B");
  EXPECT_EQ(progressBar(500, 0), "500B");  // total unknown
}

}  // namespace
}  // namespace vic::images
