#include "runtime/portlayer/container_fs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "common/testing/temp_dir.h"

namespace vic::pl {
namespace {

namespace fs = std::filesystem;

struct Root {
  vic::testing::TempDir temp{"vic-cfs"};
  fs::path dir = temp.path();
  Root() {
    fs::create_directories(dir / "etc");
    fs::create_directories(dir / "data/sub");
    std::ofstream(dir / "etc/passwd") << "root:x:0:0:inside\n";
    std::ofstream(dir / "data/sub/f") << "f\n";
    fs::create_symlink("/etc", dir / "etclink");        // absolute: the container's /etc, not the host's
    fs::create_symlink("../../../../..", dir / "up");  // climbing stops at the container's root
    fs::create_symlink("/data/sub", dir / "sublink");
  }
};

std::string drain(vsock::ArchiveSource& src) {
  std::string out;
  uint8_t buf[4096];
  while (true) {
    auto n = src.read(buf, sizeof buf);
    if (!n || *n == 0) break;
    out.append(reinterpret_cast<char*>(buf), *n);
  }
  return out;
}

TEST(ContainerFs, SymlinksResolveInsideTheRoot) {
  Root r;
  auto cfs = ContainerFs::open(r.dir.string(), "c1");
  ASSERT_TRUE(cfs);
  auto st = cfs->stat("/etclink/passwd");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->size, 18);  // the container's file, not the host's /etc/passwd
  auto up = cfs->read("/up/etc/passwd");
  ASSERT_TRUE(up) << up.error().message();
  EXPECT_NE(drain(**up).find("root:x:0:0:inside"), std::string::npos);
}

TEST(ContainerFs, TheLastComponentIsNotFollowedUnlessItEndsInASlash) {
  Root r;
  auto cfs = ContainerFs::open(r.dir.string(), "c1");
  ASSERT_TRUE(cfs);
  auto link = cfs->stat("/sublink");
  ASSERT_TRUE(link);
  EXPECT_TRUE(S_ISLNK(link->mode));
  EXPECT_EQ(link->linkTarget, "/data/sub");
  auto tar = cfs->read("/sublink/");
  ASSERT_TRUE(tar);
  std::string bytes = drain(**tar);
  EXPECT_EQ(bytes.rfind("sublink", 0), 0u) << "the top entry is named as asked";
  EXPECT_NE(bytes.find("sublink/f"), std::string::npos) << "and the directory behind the link is copied";
}

TEST(ContainerFs, MissingPathsAndWritesUseDockersWords) {
  Root r;
  auto cfs = ContainerFs::open(r.dir.string(), "c1");
  ASSERT_TRUE(cfs);
  auto missing = cfs->stat("/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "Could not find the file /nope in container c1");
  auto notDir = cfs->write("/etc/passwd", {});
  ASSERT_FALSE(notDir);
  EXPECT_EQ(notDir.error().message(), "extraction point is not a directory");
  auto sink = cfs->write("/etclink", {});  // followed inside the root
  ASSERT_TRUE(sink) << sink.error().message();
}

}  // namespace
}  // namespace vic::pl
