#include "images/layer_apply.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "common/testing/temp_dir.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;

class LayerApply : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(base_ / "root");
  }

  // Makes a gzip'd tar layer from a shell snippet run in a fresh directory.
  std::string layer(const std::string& name, const std::string& script, const std::string& tarArgs = ".") {
    fs::path dir = base_ / ("src-" + name);
    fs::create_directories(dir);
    auto r = runChecked({"sh", "-c", "cd " + dir.string() + " && " + script + " && tar --owner=0 --group=0 -czf " +
                                         (base_ / (name + ".tgz")).string() + " " + tarArgs}, "making layer " + name);
    EXPECT_TRUE(r) << r.error().message();
    return (base_ / (name + ".tgz")).string();
  }
  // A tar layer written entry by entry by Python's tarfile (`t`), for entries tar(1) will not make.
  std::string crafted(const std::string& name, const std::string& body) {
    std::string file = (base_ / (name + ".tar")).string();
    std::string py = "import tarfile, io\nt = tarfile.open('" + file + "', 'w', format=tarfile.PAX_FORMAT)\n" + body + "\nt.close()\n";
    auto r = runChecked({"python3", "-c", py}, "crafting layer " + name);
    EXPECT_TRUE(r) << r.error().message();
    return file;
  }
  std::string read(const std::string& rel) {
    std::ifstream in(base_ / "root" / rel);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  vic::testing::TempDir dir_{"vic-layers"};
  fs::path base_ = dir_.path();
};

TEST_F(LayerApply, WhiteoutsOpaqueDirsAndLinksFlattenLikeDocker) {
  auto l1 = layer("l1", "mkdir -p bin data/keep data/opq && echo sh > bin/sh && echo cat > bin/cat && "
                        "echo a > data/keep/a && echo lower > data/opq/lower && echo x > data/orig && "
                        "ln data/orig data/hard && ln -s keep/a data/sym && chmod 750 data/keep");
  auto l2 = layer("l2", "mkdir -p bin data/opq && touch bin/.wh.cat data/opq/.wh..wh..opq && echo upper > data/opq/upper");
  auto first = applyLayer(l1, (base_ / "root").string(), false);
  ASSERT_TRUE(first) << first.error().message();
  auto st = applyLayer(l2, (base_ / "root").string(), false);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->whiteouts, 1u);
  EXPECT_EQ(st->opaqueDirs, 1u);
  EXPECT_TRUE(fs::exists(base_ / "root/bin/sh"));
  EXPECT_FALSE(fs::exists(base_ / "root/bin/cat"));
  EXPECT_FALSE(fs::exists(base_ / "root/bin/.wh.cat"));            // markers are never written
  EXPECT_FALSE(fs::exists(base_ / "root/data/opq/lower"));         // hidden by the opaque dir
  EXPECT_EQ(read("data/opq/upper"), "upper\n");                    // this layer's content stays
  EXPECT_FALSE(fs::exists(base_ / "root/data/opq/.wh..wh..opq"));
  EXPECT_EQ(fs::read_symlink(base_ / "root/data/sym"), "keep/a");
  struct stat a{}, b{};
  ::stat((base_ / "root/data/orig").c_str(), &a);
  ::stat((base_ / "root/data/hard").c_str(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino);
  ::stat((base_ / "root/data/keep").c_str(), &a);
  EXPECT_EQ(a.st_mode & 0777, 0750u);
}

TEST_F(LayerApply, EntriesLeavingTheRootAreRefusedAndNothingEscapes) {
  fs::create_directories(base_ / "outside");
  // a symlink to the outside, then a file written through it
  auto l1 = layer("evil1", "ln -s " + (base_ / "outside").string() + " link");
  auto l2 = layer("evil2", "mkdir link && echo pwned > link/file", "link/file");
  auto first = applyLayer(l1, (base_ / "root").string(), false);
  ASSERT_TRUE(first) << first.error().message();
  auto st = applyLayer(l2, (base_ / "root").string(), false);
  EXPECT_FALSE(fs::exists(base_ / "outside/file"));
  if (st) {  // libarchive replaced the symlink instead of following it: the file stays inside
    EXPECT_FALSE(fs::is_symlink(base_ / "root/link"));
    EXPECT_EQ(read("link/file"), "pwned\n");
  }
  // "../" names
  auto l3 = layer("evil3", "mkdir -p a && echo x > a/f", "--transform=s,^a,../escaped, a/f");
  auto dots = applyLayer(l3, (base_ / "root").string(), false);
  ASSERT_FALSE(dots);
  EXPECT_NE(dots.error().message().find("leaves the image root"), std::string::npos) << dots.error().message();
  EXPECT_FALSE(fs::exists(base_ / "escaped"));
}

// The hostile cases point at canaries beside the root: code that followed a guest symlink
// on the host would touch the canaries, never anything else on this machine.
class HostileLayer : public LayerApply {
 protected:
  void SetUp() override {
    LayerApply::SetUp();
    canary_ = base_ / "host";
    fs::create_directories(canary_ / "etc");
    std::ofstream(canary_ / "etc/passwd") << "root:x:0:0\n";
    std::ofstream(canary_ / "secret") << "s3cret\n";
    ::chmod(canary_.c_str(), 0700);
  }
  void expectCanariesUntouched() {
    EXPECT_TRUE(fs::exists(canary_ / "etc/passwd"));
    EXPECT_TRUE(fs::exists(canary_ / "secret"));
    std::error_code ec;
    EXPECT_FALSE(fs::is_empty(canary_ / "etc", ec) || ec) << "the canary directory was emptied";
    std::ifstream in(canary_ / "secret");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "s3cret\n");
    struct stat st{};
    ::stat(canary_.c_str(), &st);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(std::distance(fs::directory_iterator(canary_, ec), fs::directory_iterator()), 2);
  }
  Result<ApplyStats> apply(const std::string& file) { return applyLayer(file, (base_ / "root").string(), true); }
  fs::path canary_;
};

TEST_F(HostileLayer, WhiteoutUnderASymlinkStaysInTheRoot) {
  ASSERT_TRUE(apply(layer("l1", "ln -s " + canary_.string() + "/etc x && ln -s ../../../../../../.. up")));
  // only the markers are in the layer: their parents are the symlinks of the layer below
  std::string markers = "x/.wh.passwd up" + canary_.string() + "/.wh.secret";
  auto st = apply(layer("l2", "mkdir -p x up" + canary_.string() + " && touch " + markers, markers));
  EXPECT_TRUE(st) << st.error().message();
  expectCanariesUntouched();
  EXPECT_TRUE(fs::is_symlink(base_ / "root/x"));  // the whiteout resolved inside the root, where nothing matched
}

TEST_F(HostileLayer, OpaqueDirThroughASymlinkStaysInTheRoot) {
  ASSERT_TRUE(apply(layer("l1", "ln -s / x")));
  std::string inside = "x" + canary_.string();
  std::string markers = inside + "/etc/.wh..wh..opq " + inside + "/.wh..wh..opq";
  auto st = apply(layer("l2", "mkdir -p " + inside + "/etc && touch " + markers, markers));
  EXPECT_TRUE(st) << st.error().message();
  expectCanariesUntouched();
}

TEST_F(HostileLayer, WhiteoutNamesThatMeanTheParentAreRefused) {
  ASSERT_TRUE(apply(layer("l1", "mkdir -p keep && echo a > keep/a")));
  EXPECT_FALSE(apply(layer("l2", "mkdir -p keep && touch keep/.wh.", "keep/.wh.")));
  EXPECT_TRUE(fs::exists(base_ / "root/keep/a"));
}

TEST_F(HostileLayer, WritesThroughSymlinksNeverLeaveTheRoot) {
  ASSERT_TRUE(apply(layer("l1", "ln -s " + canary_.string() + " d && ln -s " + canary_.string() + "/secret f")));
  // a file under the symlinked directory, a file replacing the symlinked file, a directory
  // entry over the symlinked directory with other permissions
  (void)apply(layer("l2", "mkdir -p d && echo pwned > d/new && echo pwned > f && chmod 777 d", "d d/new f"));
  expectCanariesUntouched();
  EXPECT_FALSE(fs::exists(canary_ / "new"));
}

TEST_F(HostileLayer, HardlinksToHostFilesAreRefused) {
  ASSERT_TRUE(apply(layer("l1", "ln -s " + canary_.string() + " d")));
  // hard links whose targets go through the symlink, or name a host path
  for (const std::string& target : {std::string("d/secret"), canary_.string() + "/secret", std::string("../../host/secret")}) {
    auto l = crafted("hl", "h = tarfile.TarInfo('h'); h.type = tarfile.LNKTYPE; h.linkname = '" + target + "'; t.addfile(h)");
    (void)apply(l);
  }
  expectCanariesUntouched();
  struct stat host{};
  ::stat((canary_ / "secret").c_str(), &host);
  EXPECT_EQ(host.st_nlink, 1u);
  EXPECT_FALSE(fs::exists(base_ / "root/h"));
}

TEST_F(HostileLayer, DeviceNodesAndSetuidStayInTheImage) {
  auto st = apply(layer("l1", "mknod null c 1 3 && echo x > suid && chmod 4755 suid"));
  ASSERT_TRUE(st) << st.error().message();
  struct stat s{};
  ASSERT_EQ(::lstat((base_ / "root/null").c_str(), &s), 0);
  EXPECT_TRUE(S_ISCHR(s.st_mode));  // kept in the image's tree: the host mounts it nodev,nosuid
  ASSERT_EQ(::lstat((base_ / "root/suid").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 04755u);
}

TEST_F(HostileLayer, DeepTreesAreRemovedWithoutRecursion) {
  std::string deep;
  for (int i = 0; i < 600; ++i) deep += "d/";
  ASSERT_TRUE(apply(layer("l1", "mkdir -p " + deep + " && touch " + deep + "f")));
  auto st = apply(layer("l2", "touch .wh.d"));
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_FALSE(fs::exists(base_ / "root/d"));
}

TEST_F(HostileLayer, ArchivesForDockerLoadGetNoDevicesAndNoWhiteouts) {
  ExtractOptions load;
  load.whiteouts = false;
  load.devices = false;
  std::string root = (base_ / "root").string();
  // a hard link that carries data, aimed at the canary: libarchive wrote the data into it
  auto evil = crafted("evil", "h = tarfile.TarInfo('evil'); h.type = tarfile.LNKTYPE; h.linkname = '" + canary_.string() +
                                  "/secret'; h.size = 6; t.addfile(h, io.BytesIO(b'pwned\\n'))");
  EXPECT_FALSE(extractTar(evil, root, load));
  expectCanariesUntouched();
  auto names = crafted("names", "f = tarfile.TarInfo('.wh.kept'); t.addfile(f)");
  ASSERT_TRUE(extractTar(names, root, load));
  EXPECT_TRUE(fs::exists(base_ / "root/.wh.kept"));  // an archive's name, not a whiteout
  auto dev = crafted("dev", "d = tarfile.TarInfo('mem'); d.type = tarfile.CHRTYPE; d.devmajor = 1; d.devminor = 1; t.addfile(d)");
  auto refused = extractTar(dev, root, load);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("refusing device"), std::string::npos) << refused.error().message();
  EXPECT_FALSE(fs::exists(base_ / "root/mem"));
}

TEST_F(HostileLayer, TarBombsStopAtTheByteAndEntryLimits) {
  auto bomb = layer("bomb", "head -c 8388608 /dev/zero > zeros");  // 8 MiB of zeros: a few KiB gzip'd
  ExtractOptions opts;
  opts.maxBytes = 1 << 20;
  auto st = extractTar(bomb, (base_ / "root").string(), opts);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("more than 1 MiB"), std::string::npos) << st.error().message();
  EXPECT_FALSE(fs::exists(base_ / "root/zeros"));
  auto diff = layerDiffId(bomb, 1 << 20);  // the pull's check, before anything is written
  ASSERT_FALSE(diff);
  EXPECT_NE(diff.error().message().find("expands to more than 1 MiB"), std::string::npos) << diff.error().message();
  EXPECT_TRUE(layerDiffId(bomb, 16 << 20));
  auto many = layer("many", "mkdir m && touch m/1 m/2 m/3 m/4");
  opts.maxEntries = 3;
  EXPECT_FALSE(extractTar(many, (base_ / "root").string(), opts));
}

TEST_F(LayerApply, CorruptAndMissingLayers) {
  std::ofstream(base_ / "junk.tgz") << "\x1f\x8b not really gzip";
  EXPECT_FALSE(applyLayer((base_ / "junk.tgz").string(), (base_ / "root").string(), false));
  EXPECT_FALSE(applyLayer((base_ / "missing.tgz").string(), (base_ / "root").string(), false));
}

TEST_F(LayerApply, DiffIdIsTheSha256OfTheUncompressedTar) {
  auto gz = layer("d", "echo hi > f");
  auto plain = (base_ / "d.tar").string();
  ASSERT_TRUE(runChecked({"sh", "-c", "gzip -dc " + gz + " > " + plain}, "gunzip"));
  auto expect = runChecked({"sha256sum", plain}, "sha256sum");
  ASSERT_TRUE(expect);
  auto fromGz = layerDiffId(gz);
  auto fromTar = layerDiffId(plain);
  ASSERT_TRUE(fromGz) << fromGz.error().message();
  ASSERT_TRUE(fromTar) << fromTar.error().message();
  EXPECT_EQ(*fromGz, "sha256:" + expect->substr(0, 64));
  EXPECT_EQ(*fromTar, *fromGz);
  EXPECT_FALSE(layerDiffId((base_ / "missing").string()));
}

}  // namespace
}  // namespace vic::images
