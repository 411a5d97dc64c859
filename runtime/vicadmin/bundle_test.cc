#include "runtime/vicadmin/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include "common/json.h"
#include "images/archive_ptr.h"
#include "runtime/vicadmin/status.h"
#include "runtime/vicadmin/test_fixture.h"

namespace vic::vicadmin {
namespace {

// The members of a .tar.gz file: name -> content.
std::map<std::string, std::string> readTarGz(int fd) {
  std::map<std::string, std::string> out;
  ::lseek(fd, 0, SEEK_SET);
  images::ArchiveReader a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  EXPECT_EQ(archive_read_open_fd(a.get(), fd, 65536), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    std::string data, name = archive_entry_pathname(e);
    char buf[8192];
    for (la_ssize_t n; (n = archive_read_data(a.get(), buf, sizeof buf)) > 0;) data.append(buf, static_cast<size_t>(n));
    out[name] = data;
  }
  return out;
}

TEST(VicadminBundle, RedactionKeepsPathsAndDropsSecrets) {
  json in = {{"name", "vch1"},
             {"api", {{"tls", {{"key", "/var/lib/vic/vch1/certs/server-key.pem"}, {"cert", "/c.pem"}, {"enabled", true}}}}},
             {"admin", {{"tokenFile", "/var/lib/vic/vch1/admin-token"}, {"token", "abc123"}}},
             {"registryAuth", {{"user", "bob"}, {"password", "hunter2"}}},
             {"keyPem", "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"},
             {"note", "-----BEGIN PRIVATE KEY-----"},
             {"secretPath", "/etc/x\n-----BEGIN"},
             {"list", {"/a", "b"}}};
  json want = {{"name", "vch1"},
               {"api", {{"tls", {{"key", "/var/lib/vic/vch1/certs/server-key.pem"}, {"cert", "/c.pem"}, {"enabled", true}}}}},
               {"admin", {{"tokenFile", "/var/lib/vic/vch1/admin-token"}, {"token", "<redacted>"}}},
               {"registryAuth", {{"user", "<redacted>"}, {"password", "<redacted>"}}},
               {"keyPem", "<redacted>"},
               {"note", "<redacted>"},
               {"secretPath", "<redacted>"},
               {"list", {"/a", "b"}}};
  EXPECT_EQ(redactConfig(in), want);
  // The real config: every field survives (it holds paths only), nothing is a key's content.
  testing::TestVch v;
  json real = parseJson(vch::encodeVchConfig(v.cfg));
  EXPECT_EQ(redactConfig(real), real);
}

TEST(VicadminBundle, PrivateKeyBlocksAreCut) {
  EXPECT_EQ(redactPrivateKeys("a\n-----BEGIN EC PRIVATE KEY-----\nxyz\n-----END EC PRIVATE KEY-----\nb\n"), "a\n[private key removed]\nb\n");
  EXPECT_EQ(redactPrivateKeys("-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"),
            "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(redactPrivateKeys("x -----BEGIN PRIVATE KEY-----\nunterminated"), "x [private key removed]");
  EXPECT_EQ(redactPrivateKeys("-----BEGIN"), "-----BEGIN");
}

TEST(VicadminBundle, HoldsEveryLogAndNoSecret) {
  testing::TestVch v;
  testing::FakeProbe p;
  // A log that printed a key by mistake: the bundle still carries none.
  testing::TestVch::append(v.cfg.logFile, "oops -----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY----- done\n");
  LogFiles files{v.cfg.logFile, v.cfg.adminLogFile, v.cfg.datastore + "/containers"};
  std::vector<ContainerName> cs = {{testing::kId1, "web"}, {testing::kId2, "db"}};
  auto members = bundleMembers(v.cfg, p, files, gatherStatus(v.cfg, p), availableLogs(cs, {}));
  UniqueFd fd(::open(v.dir.str().c_str(), O_TMPFILE | O_RDWR, 0600));
  ASSERT_TRUE(fd);
  ASSERT_TRUE(writeBundle(members, fd.get(), 1700000000));
  auto got = readTarGz(fd.get());
  std::vector<std::string> names;
  for (const auto& [name, _] : got) names.push_back(name);
  std::vector<std::string> want = {"docker-info.json", "docker-version.json",
                                   "logs/containers/" + testing::kId1 + "/console.log", "logs/containers/" + testing::kId1 + "/output.log",
                                   "logs/containers/" + testing::kId2 + "/console.log", "logs/containers/" + testing::kId2 + "/output.log",
                                   "logs/endpoint.log", "logs/vicadmin.log", "status.json", "vch.json",
                                   "vms/vch1-aaaaaaaaaaaa.xml", "vms/vch1-bbbbbbbbbbbb.xml"};
  EXPECT_EQ(names, want);
  for (const auto& [name, data] : got) {
    EXPECT_FALSE(name.ends_with(".key")) << name;
    EXPECT_EQ(data.find("PRIVATE KEY-----"), std::string::npos) << name;
    EXPECT_EQ(data.find("s3cret-token"), std::string::npos) << name;
  }
  EXPECT_NE(got["logs/endpoint.log"].find("endpoint line 2\noops [private key removed] done\n"), std::string::npos);
  EXPECT_EQ(got["logs/containers/" + testing::kId1 + "/output.log"], testing::TestVch::outputRecord("output of aaaa\n<b>bold</b>\n"));  // raw
  EXPECT_EQ(parseJson(got["vch.json"])["name"], "vch1");
  EXPECT_EQ(parseJson(got["docker-version.json"])["Version"], "28.2.2-vic");
  EXPECT_EQ(bundleName("vch1", 1700000000), "vch-vch1-20231114T221320Z.tar.gz");
}

TEST(VicadminBundle, ALogThatCannotBeReadSaysWhy) {
  testing::TestVch v;
  testing::FakeProbe p;
  p.setEndpointDown("no endpoint listening");
  p.libvirtDown = Error(Errc::kUnavailable, "libvirtd is not running");
  std::filesystem::remove(v.cfg.logFile);
  LogFiles files{v.cfg.logFile, v.cfg.adminLogFile, v.cfg.datastore + "/containers"};
  auto members = bundleMembers(v.cfg, p, files, json::object(), availableLogs(std::nullopt, {}));
  UniqueFd fd(::open(v.dir.str().c_str(), O_TMPFILE | O_RDWR, 0600));
  ASSERT_TRUE(writeBundle(members, fd.get(), 0));
  auto got = readTarGz(fd.get());
  EXPECT_TRUE(got.contains("logs/endpoint.log.error"));
  EXPECT_TRUE(got.contains("docker-info.json.error"));
  EXPECT_NE(got["vms.error"].find("libvirtd is not running"), std::string::npos);
  EXPECT_TRUE(got.contains("logs/vicadmin.log"));
}

}  // namespace
}  // namespace vic::vicadmin
