#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/portlayer/container.h"
#include "runtime/portlayer/events.h"
#include "runtime/portlayer/output_log.h"
#include "vsock/codec.h"

namespace vic::pl {
namespace {

TEST(ContainerSpec, RoundTripsThroughTheVmMetadata) {
  ContainerSpec s;
  s.id = newContainerId();
  s.name = "web";
  s.imageRef = "busybox";
  s.imageId = "sha256:" + std::string(64, 'a');
  s.memoryMiB = 256;
  s.stopSignal = 2;
  s.autoRemove = true;
  s.annotations = {{"docker.config", "{\"Tty\":true}"}};
  s.config.hostname = "web";
  s.config.main.argv = {"sh", "-c", "echo hi"};
  s.config.main.env = {"A=b"};
  s.config.main.tty = true;
  auto back = decodeSpec(encodeSpec(s));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(encodeSpec(*back), encodeSpec(s));
  EXPECT_EQ(back->config.main.argv, s.config.main.argv);
  EXPECT_TRUE(back->config.main.tty);
  EXPECT_EQ(back->annotations.at("docker.config"), "{\"Tty\":true}");
  EXPECT_FALSE(decodeSpec("{}"));
  EXPECT_FALSE(decodeSpec("[1]"));
}

TEST(ContainerSpec, IdsAndNames) {
  auto a = newContainerId(), b = newContainerId();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(validName(randomName()));
  EXPECT_TRUE(validName("web-1.a_b"));
  EXPECT_FALSE(validName("-web"));
  EXPECT_FALSE(validName("a"));
  EXPECT_FALSE(validName("we b"));
  EXPECT_EQ(runStateName(RunState::kExited), "exited");
}

TEST(OutputLog, IncrementalReadsAndTheLastExitRecord) {
  std::string file = "/tmp/vic-outlog-" + std::to_string(::getpid());
  std::vector<uint8_t> bytes;
  std::string hi = "hi\n";
  vsock::appendLogRecords(bytes, vsock::LogKind::kStdout, 10, std::span(reinterpret_cast<const uint8_t*>(hi.data()), hi.size()));
  vsock::ExitStatus e;
  e.session = "main";
  e.exitCode = 3;
  e.finishedNs = 20;
  std::string rec = vsock::encodeExitStatus(e);
  vsock::appendLogRecords(bytes, vsock::LogKind::kExit, 20, std::span(reinterpret_cast<const uint8_t*>(rec.data()), rec.size()));
  size_t firstLen = bytes.size();
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size() - 3));
  uint64_t next = 0;
  auto recs = readLogRecords(file, 0, &next);
  ASSERT_EQ(recs.size(), 1u);  // the torn exit record waits
  EXPECT_EQ(recs[0].data, "hi\n");
  OutputLogCache cache;
  EXPECT_FALSE(cache.lastExit(file));
  std::ofstream(file, std::ios::binary | std::ios::app).write(reinterpret_cast<const char*>(bytes.data() + firstLen - 3), 3);
  auto exit = cache.lastExit(file);
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exitCode, 3);
  EXPECT_EQ(cache.lastWriteNs(file), 20);
  std::filesystem::remove(file);
}

// docker logs --tail N counts lines, whatever the records that carried them.
TEST(OutputLog, TheLastLinesCutAcrossRecords) {
  using vsock::LogKind;
  std::vector<vsock::LogRecord> recs{{LogKind::kStdout, 1, "a\nb\nc"}, {LogKind::kStdout, 2, "d\n"},
                                     {LogKind::kStderr, 3, "e\nf\n"}, {LogKind::kStdout, 4, "g\n"}};
  auto text = [](const std::vector<vsock::LogRecord>& rs) {
    std::string all;
    for (const auto& r : rs) all += r.data;
    return all;
  };
  EXPECT_EQ(text(lastLines(recs, 1)), "g\n");
  EXPECT_EQ(text(lastLines(recs, 3)), "e\nf\ng\n");
  auto four = lastLines(recs, 4);
  EXPECT_EQ(text(four), "cd\ne\nf\ng\n");  // "c" + "d\n" is one line over two records
  ASSERT_EQ(four.size(), 4u);
  EXPECT_EQ(four[0].data, "c");
  EXPECT_EQ(four[0].timeNs, 1);
  EXPECT_EQ(four[2].kind, LogKind::kStderr);
  EXPECT_EQ(text(lastLines(recs, 100)), text(recs));
  EXPECT_TRUE(lastLines(recs, 0).empty());
  std::vector<vsock::LogRecord> open{{LogKind::kStdout, 1, "x\ny\nno newline yet"}};
  EXPECT_EQ(text(lastLines(open, 2)), "y\nno newline yet");
  std::vector<vsock::LogRecord> blank{{LogKind::kStdout, 1, "\n\n\n"}};
  EXPECT_EQ(text(lastLines(blank, 2)), "\n\n");
}

// What a container prints is its own: one endless line, or a flood of tiny records.
TEST(OutputLog, TheLastLinesOfHostileOutput) {
  using vsock::LogKind;
  std::vector<vsock::LogRecord> oneLine{{LogKind::kStdout, 1, std::string(8 << 20, 'x')}};
  auto kept = lastLines(oneLine, 3);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].data.size(), size_t{8} << 20);
  std::vector<vsock::LogRecord> flood(200000, vsock::LogRecord{LogKind::kStderr, 1, "\n"});
  EXPECT_EQ(lastLines(flood, 5).size(), 5u);
  EXPECT_EQ(lastLines(flood, size_t(-1)).size(), flood.size());  // --tail larger than anything
}

TEST(EventBus, KeepsOrderAndHistory) {
  boost::asio::io_context io;
  EventBus bus(io.get_executor());
  bus.publish({"container", "create", "a", {}, 0, 0});
  bus.publish({"container", "start", "a", {}, 0, 0});
  auto all = bus.since(0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].action, "start");
  EXPECT_GT(all[0].timeNs, 0);
  EXPECT_EQ(bus.since(1).size(), 1u);
  EXPECT_EQ(bus.lastSeq(), 2u);
}

}  // namespace
}  // namespace vic::pl
