// docker push against the real fixture registry (Debian's docker-registry): a pulled image pushed
// to a new repository (its layers mounted from where they came), a loaded one (plain tars,
// compressed here) pushed and pulled back with the same ids, skopeo reading what was pushed;
// every tag of a repository; the htpasswd registry with no, wrong and right credentials; docker
// login's check; a registry that goes away mid-push leaves the store as it was.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/files.h"
#include "common/process.h"
#include "images/image_loader.h"
#include "images/puller.h"
#include "images/pusher.h"

namespace vic::images {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class PushIT : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = "/var/tmp/vic-push-it-" + std::to_string(::getpid());
    auto out = runChecked({VIC_REGISTRY_FIXTURES, "fill", dir_ + "/registry"}, "filling the fixture registry");
    ASSERT_TRUE(out) << out.error().message();
    std::ifstream(dir_ + "/registry/addr") >> addr_;
    std::ifstream(dir_ + "/registry/authaddr") >> authAddr_;
  }
  static void TearDownTestSuite() {
    (void)runProcess({VIC_REGISTRY_FIXTURES, "stop", dir_ + "/registry"});
    (void)runProcess({VIC_REGISTRY_FIXTURES, "stop", dir_ + "/other"});
    fs::remove_all(dir_);
  }
  void SetUp() override { store_ = open("a"); }
  std::unique_ptr<ImageStore> open(const std::string& name) {
    std::string root = dir_ + "/ds-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + name;
    auto d = hv::Datastore::open(root);
    EXPECT_TRUE(d);
    LayerStoreOptions opts;
    opts.diskSize = 256 << 20;
    auto s = ImageStore::open(*d, opts);
    EXPECT_TRUE(s) << s.error().message();
    return std::move(*s);
  }
  static Result<ImageRecord> pull(ImageStore& store, const std::string& ref, PullOptions opts = {}) {
    Puller puller(store, store.downloadDir());
    return puller.pull(ref, opts, {});
  }
  struct Pushed {
    Result<std::vector<PushedTag>> result;
    std::vector<std::string> lines;
  };
  Pushed push(const std::string& name, PushOptions opts = {}, const std::function<void(const std::string&)>& also = {}) {
    std::vector<std::string> lines;
    Pusher pusher(*store_, store_->downloadDir());
    auto r = pusher.push(name, opts, [&](const std::string& l) {
      lines.push_back(l);
      if (also) also(l);
    });
    return {std::move(r), std::move(lines)};
  }
  static size_t count(const std::vector<std::string>& lines, const std::string& what) {
    size_t n = 0;
    for (const auto& l : lines) n += l.find(what) != std::string::npos;
    return n;
  }
  static std::string skopeo(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"skopeo", "inspect", "--tls-verify=false"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto out = runChecked(argv, "skopeo inspect");
    EXPECT_TRUE(out) << out.error().message();
    return out ? *out : "";
  }
  static inline std::string dir_, addr_, authAddr_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(PushIT, APulledImageGoesToANewRepositoryByMountsAndComesBackTheSame) {
  auto img = pull(*store_, addr_ + "/test/layers:latest");
  ASSERT_TRUE(img) << img.error().message();
  std::string target = addr_ + "/pushed/layers";
  ASSERT_TRUE(store_->tag(img->id, target + ":v1"));
  auto p = push(target + ":v1");
  ASSERT_TRUE(p.result) << p.result.error().message();
  EXPECT_EQ(count(p.lines, "Mounted from test/layers"), 4u);  // the same registry has them: nothing uploaded
  EXPECT_EQ(p.lines.front(), "{\"status\":\"The push refers to repository [" + target + "]\"}\r\n");

  json manifest = json::parse(skopeo({"--raw", "docker://" + target + ":v1"}));
  EXPECT_EQ(manifest["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(manifest["config"]["digest"], img->id);
  std::string config = skopeo({"--config", "--raw", "docker://" + target + ":v1"});
  EXPECT_EQ(sha256Digest(config), img->id);  // the config as stored: its digest is the image id
  EXPECT_EQ((*p.result)[0].digest, sha256Digest(skopeo({"--raw", "docker://" + target + ":v1"})));

  auto other = open("b");
  auto back = pull(*other, target + ":v1");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->id, img->id);
  EXPECT_EQ(back->diffIds, img->diffIds);
  EXPECT_EQ(store_->find(img->id)->repoDigests.size(), 2u);  // where it came from, and where it went
}

TEST_F(PushIT, ALoadedImageIsCompressedHereAndPulledBackWithTheSameIds) {
  std::string tarball = dir_ + "/busybox-save.tar";
  auto saved = runChecked({"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + addr_ + "/test/layers:latest",
                           "docker-archive:" + tarball + ":saved/layers:1"}, "skopeo copy to a docker archive");
  ASSERT_TRUE(saved) << saved.error().message();
  auto loaded = loadImages(*store_, tarball, [](const std::string&) {});
  ASSERT_TRUE(loaded) << loaded.error().message();
  auto img = store_->find("saved/layers:1");
  ASSERT_TRUE(img);
  std::string target = addr_ + "/pushed/loaded";
  ASSERT_TRUE(store_->tag(img->id, target + ":1"));
  ASSERT_TRUE(store_->tag(img->id, target + ":2"));
  auto p = push(target);  // no tag: both
  ASSERT_TRUE(p.result) << p.result.error().message();
  ASSERT_EQ(p.result->size(), 2u);
  EXPECT_EQ(count(p.lines, "\"Pushed\""), 4u);
  EXPECT_EQ(count(p.lines, "Layer already exists"), 4u);  // the second tag's
  EXPECT_EQ((*p.result)[0].digest, (*p.result)[1].digest);
  auto tags = runChecked({"skopeo", "list-tags", "--tls-verify=false", "docker://" + target}, "skopeo list-tags");
  ASSERT_TRUE(tags);
  auto listed = json::parse(*tags)["Tags"].get<std::vector<std::string>>();
  std::sort(listed.begin(), listed.end());  // the registry lists them in no particular order
  EXPECT_EQ(listed, (std::vector<std::string>{"1", "2"}));

  auto other = open("b");
  auto back = pull(*other, target + ":2");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->id, img->id);
  EXPECT_EQ(back->diffIds, img->diffIds);  // the gzip we made unpacks to the same tars
  auto again = push(target + ":1");  // compressed again: the same digests, so all there
  ASSERT_TRUE(again.result);
  EXPECT_EQ(count(again.lines, "Layer already exists"), 4u);
  EXPECT_EQ((*again.result)[0].digest, (*p.result)[0].digest);
}

TEST_F(PushIT, TheHtpasswdRegistryWantsTheRightCredentials) {
  auto img = pull(*store_, addr_ + "/test/busybox:latest");
  ASSERT_TRUE(img) << img.error().message();
  std::string target = authAddr_ + "/pushed/private";
  ASSERT_TRUE(store_->tag(img->id, target + ":1"));
  auto before = readFile(dir_ + "/ds-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-a/images/index.json");
  auto none = push(target + ":1");
  ASSERT_FALSE(none.result);
  EXPECT_EQ(none.result.error().message(), "no basic auth credentials");  // docker's words
  PushOptions wrong;
  wrong.registry.creds = {"vic", "wrong", ""};
  auto refused = push(target + ":1", wrong);
  ASSERT_FALSE(refused.result);
  EXPECT_EQ(refused.result.error().message(), "unauthorized: authentication required");
  EXPECT_EQ(readFile(dir_ + "/ds-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-a/images/index.json"),
            before);
  PushOptions right;
  right.registry.creds = {"vic", "vic-secret", ""};
  auto p = push(target + ":1", right);
  ASSERT_TRUE(p.result) << p.result.error().message();
  json manifest = json::parse(skopeo({"--raw", "--creds", "vic:vic-secret", "docker://" + target + ":1"}));
  EXPECT_EQ(manifest["config"]["digest"], img->id);

  EXPECT_TRUE(login(authAddr_, {"vic", "vic-secret", ""}));
  auto bad = login(authAddr_, {"vic", "wrong", ""});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kForbidden);
  EXPECT_EQ(bad.error().message(), "login attempt to http://" + authAddr_ + "/v2/ failed with status: 401 Unauthorized");
  EXPECT_TRUE(login(addr_, {"anyone", "anything", ""}));  // a registry without auth lets anyone in, as with dockerd
}

bool portOpen(const std::string& hostPort) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(hostPort.substr(hostPort.find(':') + 1))));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return open;
}

TEST_F(PushIT, ARegistryThatGoesAwayMidPushFailsClearlyAndTheStoreStaysAsItWas) {
  auto started = runChecked({VIC_REGISTRY_FIXTURES, "start", dir_ + "/other"}, "starting a second registry");
  ASSERT_TRUE(started) << started.error().message();
  std::string otherAddr;
  std::ifstream(dir_ + "/other/addr") >> otherAddr;
  auto img = pull(*store_, addr_ + "/test/busybox:latest");
  ASSERT_TRUE(img) << img.error().message();
  ASSERT_TRUE(store_->tag(img->id, otherAddr + "/gone/away:1"));
  std::string index = dir_ + "/ds-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-a/images/index.json";
  auto before = readFile(index);
  bool killed = false;
  auto p = push(otherAddr + "/gone/away:1", {}, [&](const std::string& line) {
    if (killed || line.find("\"Pushing\"") == std::string::npos) return;
    killed = true;  // the first bytes are on their way: the registry goes, mid-upload
    (void)runProcess({VIC_REGISTRY_FIXTURES, "stop", dir_ + "/other"});
    for (int i = 0; i < 100 && portOpen(otherAddr); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  });
  ASSERT_TRUE(killed) << "no upload started";
  ASSERT_FALSE(p.result);
  std::printf("the push ended with: %s\n", p.result.error().message().c_str());
  EXPECT_NE(p.result.error().message().find("\"http://" + otherAddr + "/v2/gone/away/blobs/uploads/"), std::string::npos)
      << p.result.error().message();
  EXPECT_EQ(p.result.error().code(), Errc::kUnavailable) << p.result.error().message();
  EXPECT_EQ(readFile(index), before);
  EXPECT_TRUE(dirEntries(store_->downloadDir()).empty());
}

}  // namespace
}  // namespace vic::images
