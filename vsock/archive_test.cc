#include "vsock/archive.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/testing/temp_dir.h"

namespace vic::vsock {
namespace {

namespace fs = std::filesystem;

using vic::testing::TempDir;

void writeFile(const fs::path& p, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  ::chmod(p.c_str(), mode);
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> archive(const std::string& path) {
  auto src = ArchiveSource::open(path, "missing");
  EXPECT_TRUE(src);
  std::vector<uint8_t> out;
  uint8_t buf[777];  // odd size: headers and data split across reads
  while (true) {
    auto n = (*src)->read(buf, sizeof buf);
    EXPECT_TRUE(n);
    if (!n || *n == 0) break;
    out.insert(out.end(), buf, buf + *n);
  }
  return out;
}

Status extract(const std::vector<uint8_t>& tar, const std::string& dir, size_t split) {
  auto sink = ArchiveSink::open(dir);
  if (!sink) return sink.error();
  TarReader reader;
  for (size_t at = 0; at < tar.size(); at += split) {
    auto st = reader.feed(std::span(tar).subspan(at, std::min(split, tar.size() - at)), **sink);
    if (!st) return st;
  }
  return ok();
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST(Archive, RoundTripPreservesContentModesAndSymlinks) {
  TempDir src, dst;
  std::string big(300000, '\0');
  std::mt19937 rng(1);
  for (char& c : big) c = static_cast<char>(rng());
  writeFile(src.path() / "app/bin/run.sh", "#!/bin/sh\necho hi\n", 0755);
  writeFile(src.path() / "app/data/blob", big, 0600);
  std::string longName(150, 'n');
  writeFile(src.path() / "app/data" / longName, "long", 0640);
  fs::create_symlink("bin/run.sh", src.path() / "app/link");
  auto tar = archive((src.path() / "app").string());
  for (size_t split : {size_t{1}, size_t{511}, size_t{4096}, tar.size()}) {
    fs::remove_all(dst.path());
    fs::create_directories(dst.path());
    ASSERT_TRUE(extract(tar, dst.path().string(), split)) << split;
    EXPECT_EQ(readFile(dst.path() / "app/data/blob"), big);
    EXPECT_EQ(readFile(dst.path() / "app/data" / longName), "long");
    EXPECT_EQ(fs::read_symlink(dst.path() / "app/link"), "bin/run.sh");
    struct stat st{};
    ::stat((dst.path() / "app/bin/run.sh").c_str(), &st);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    ::stat((dst.path() / "app/data/blob").c_str(), &st);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
  }
}

TEST(Archive, GnuTarReadsOursAndWeReadGnuTars) {
  TempDir src, dst;
  std::string longName(120, 'x');
  writeFile(src.path() / "d/a.txt", "alpha");
  writeFile(src.path() / "d" / longName, "beta");
  auto tar = archive((src.path() / "d").string());
  std::ofstream(dst.path() / "ours.tar", std::ios::binary).write(reinterpret_cast<const char*>(tar.data()), static_cast<long>(tar.size()));
  std::string listing = run("tar -tf " + (dst.path() / "ours.tar").string());
  EXPECT_NE(listing.find("d/a.txt"), std::string::npos) << listing;
  EXPECT_NE(listing.find("d/" + longName), std::string::npos) << listing;

  for (const char* format : {"gnu", "posix", "ustar"}) {
    auto out = dst.path() / (std::string(format) + ".tar");
    std::string name = std::string(format) == "ustar" ? "d/a.txt" : "d";
    run("tar --format=" + std::string(format) + " -C " + src.path().string() + " -cf " + out.string() + " " + name);
    std::string bytes = readFile(out);
    TempDir x;
    ASSERT_TRUE(extract(std::vector<uint8_t>(bytes.begin(), bytes.end()), x.path().string(), 1000)) << format;
    EXPECT_EQ(readFile(x.path() / "d/a.txt"), "alpha") << format;
    if (std::string(format) != "ustar") {
      EXPECT_EQ(readFile(x.path() / "d" / longName), "beta") << format;
    }
  }
}

std::vector<uint8_t> handMade(const std::vector<TarEntry>& entries) {
  std::vector<uint8_t> out;
  for (const auto& e : entries) {
    auto h = tarHeader(e);
    out.insert(out.end(), h.begin(), h.end());
    out.resize(out.size() + e.size + tarPadding(e.size), 'z');
  }
  out.resize(out.size() + kTarTrailer, 0);
  return out;
}

TEST(Archive, EntriesThatLeaveTheDestinationAreRefused) {
  TempDir outer;
  auto dest = outer.path() / "dest";
  fs::create_directories(dest);
  TarEntry dotdot;
  dotdot.name = "../escaped";
  dotdot.size = 1;
  auto st = extract(handMade({dotdot}), dest.string(), 512);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "refusing to extract ../escaped: it leaves the destination");
  TarEntry abs;
  abs.name = "/etc/evil";
  EXPECT_FALSE(extract(handMade({abs}), dest.string(), 512));
  // a symlink inside the archive pointing out, then a file through it
  TarEntry link;
  link.name = "out";
  link.type = '2';
  link.linkname = outer.path().string();
  TarEntry through;
  through.name = "out/escaped";
  through.size = 1;
  st = extract(handMade({link, through}), dest.string(), 512);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("refusing to extract out/escaped through out"), std::string::npos);
  EXPECT_FALSE(fs::exists(outer.path() / "escaped"));
}

TEST(Archive, CorruptHeaderAndMissingPaths) {
  TempDir d;
  auto tar = handMade({TarEntry{"f", "", '0', 0644, 0, 0, 0, 3}});
  tar[10] ^= 0x55;  // breaks the checksum
  auto st = extract(tar, d.path().string(), 512);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "archive/tar: invalid tar header (bad checksum)");
  auto src = ArchiveSource::open("/nonexistent/x", "Could not find the file /nonexistent/x in container c1");
  ASSERT_FALSE(src);
  EXPECT_EQ(src.error().code(), Errc::kNotFound);
  EXPECT_FALSE(ArchiveSink::open("/nonexistent/dir"));
}

}  // namespace
}  // namespace vic::vsock
