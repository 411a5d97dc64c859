#include <gtest/gtest.h>
#include <sys/stat.h>
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
  s.logLimits = {10'000'000, 3};
  s.health = {{"CMD-SHELL", "wget -q localhost"}, 2'000'000'000, 1'000'000'000, 5'000'000'000, 500'000'000, 4};
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
  EXPECT_EQ(back->logLimits.maxBytes, 10'000'000u);
  EXPECT_EQ(back->logLimits.maxFiles, 3);
  EXPECT_EQ(back->health, s.health);
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

void appendRecord(std::vector<uint8_t>& out, vsock::LogKind kind, int64_t ns, const std::string& data) {
  vsock::appendLogRecords(out, kind, ns, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

void writeFile(const std::string& file, const std::vector<uint8_t>& bytes) {
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
}

// A log is read a window at a time, whatever is in it: records cut by the window's end, and
// garbage longer than a window (the guest writes the file), are walked over to the end.
TEST(OutputLog, IsReadAWindowAtATime) {
  std::string file = "/tmp/vic-outlog-win-" + std::to_string(::getpid());
  std::vector<uint8_t> bytes;
  std::string want;
  for (int i = 0; i < 300; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    appendRecord(bytes, vsock::LogKind::kStdout, i, line);
    want += line;
  }
  bytes.insert(bytes.end(), 5000, 0x00);  // garbage, more than a window
  appendRecord(bytes, vsock::LogKind::kStderr, 1000, "after the garbage\n");
  want += "after the garbage\n";
  writeFile(file, bytes);
  std::string got;
  uint64_t offset = 0, reads = 0;
  for (uint64_t before = ~0ULL; before != offset; ++reads) {
    before = offset;
    for (const auto& r : readLogRecords(file, offset, &offset, 1000)) got += r.data;
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(offset, bytes.size());
  EXPECT_GT(reads, bytes.size() / 1000);  // it never read more than a window at once
  std::filesystem::remove(file);
}

// --tail over a log of many windows gives what lastLines over all of it gives, exit records aside.
TEST(OutputLog, TheTailOfALogLongerThanItsWindows) {
  std::string file = "/tmp/vic-outlog-tail-" + std::to_string(::getpid());
  std::vector<uint8_t> bytes;
  std::vector<vsock::LogRecord> all;
  std::string chunk(60000, 'z');
  for (int i = 0; i < 200; ++i) {  // ~12 MiB: beyond the point where the kept records are trimmed
    std::string data = i % 7 == 0 ? chunk : "n" + std::to_string(i) + (i % 3 ? "\n" : "");
    auto kind = i % 2 ? vsock::LogKind::kStdout : vsock::LogKind::kStderr;
    appendRecord(bytes, kind, i, data);
    all.push_back({kind, i, data});
  }
  appendRecord(bytes, vsock::LogKind::kExit, 300, R"({"exitCode":0})");
  writeFile(file, bytes);
  for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{40}, size_t{100000}}) {
    uint64_t next = 0;
    auto got = outputTail(file, n, &next);
    auto want = lastLines(all, n);
    ASSERT_EQ(got.size(), want.size()) << n;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].data, want[i].data) << n;
      EXPECT_EQ(got[i].kind, want[i].kind) << n;
    }
    EXPECT_EQ(next, bytes.size());
  }
  std::filesystem::remove(file);
}

// --log-opt max-size=64k max-file=3: the head is punched out at a record boundary; what stays
// reads whole, the exit record last, and the disk holds about what docker would keep.
TEST(OutputLog, TrimmingKeepsTheNewestRecordsWholeAndTheExitRecord) {
  std::string file = "/tmp/vic-outlog-trim-" + std::to_string(::getpid());
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 2000; ++i) appendRecord(bytes, vsock::LogKind::kStdout, i, "record " + std::to_string(i) + std::string(100, '.') + "\n");
  appendRecord(bytes, vsock::LogKind::kExit, 5000, R"({"exitCode":7})");
  writeFile(file, bytes);
  LogLimits limits{64 * 1024, 3};
  auto dropped = trimOutputLog(file, limits);
  ASSERT_TRUE(dropped) << dropped.error().message();
  EXPECT_GT(*dropped, bytes.size() - 2 * limits.maxBytes - 200);
  EXPECT_LE(bytes.size() - *dropped, 2 * limits.maxBytes + 4096);
  EXPECT_EQ(std::filesystem::file_size(file), bytes.size());  // readers' offsets stay good
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 3 * limits.maxBytes);  // the head is off the disk
  std::vector<vsock::LogRecord> recs;
  uint64_t offset = 0;
  for (uint64_t before = ~0ULL; before != offset;) {
    before = offset;
    for (auto& r : readLogRecords(file, offset, &offset)) recs.push_back(std::move(r));
  }
  ASSERT_GT(recs.size(), 100u);
  EXPECT_EQ(recs.back().kind, vsock::LogKind::kExit);
  for (size_t i = 1; i + 1 < recs.size(); ++i) {  // consecutive, whole records: no cut one
    EXPECT_EQ(recs[i].timeNs, recs[i - 1].timeNs + 1);
    EXPECT_EQ(recs[i].data, "record " + std::to_string(recs[i].timeNs) + std::string(100, '.') + "\n");
  }
  EXPECT_EQ(recs[recs.size() - 2].timeNs, 1999);
  OutputLogCache cache;
  ASSERT_TRUE(cache.lastExit(file));
  EXPECT_EQ(cache.lastExit(file)->exitCode, 7);
  auto again = trimOutputLog(file, limits);  // within the limits now
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
  auto one = trimOutputLog(file, {1024, 1});  // max-file=1 keeps only the last record
  ASSERT_TRUE(one);
  uint64_t next = 0;
  auto last = readLogRecords(file, 0, &next);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].kind, vsock::LogKind::kExit);
  EXPECT_TRUE(trimOutputLog(file, {}).hasValue());  // no limits: nothing to do
  std::filesystem::remove(file);
  EXPECT_EQ(*trimOutputLog(file, limits), 0u);  // none yet
}

// A container prints what looks like records (a header claiming 64 KiB, a fake exit): a trim
// cuts only at real record starts, so what stays reads as exactly what was written.
TEST(OutputLog, TrimmingIsNotFooledByFakeHeadersInTheOutput) {
  std::string file = "/tmp/vic-outlog-fake-" + std::to_string(::getpid());
  std::vector<uint8_t> fake;
  appendRecord(fake, vsock::LogKind::kExit, 1, R"({"exitCode":99})");
  std::string forged(fake.begin(), fake.end());
  forged += std::string("\xd7\x01\x00\x00\x00\x01\x00\x00", 8);  // a stdout header claiming 64 KiB
  std::vector<uint8_t> bytes;
  std::vector<std::string> written;
  for (int i = 0; i < 2000; ++i) {
    written.push_back(forged + std::to_string(i) + "\n");
    appendRecord(bytes, vsock::LogKind::kStdout, i, written.back());
  }
  appendRecord(bytes, vsock::LogKind::kExit, 5000, R"({"exitCode":3})");
  writeFile(file, bytes);
  ASSERT_TRUE(trimOutputLog(file, {20000, 2}));
  uint64_t next = 0;
  auto recs = readLogRecords(file, 0, &next);
  ASSERT_GT(recs.size(), 10u);
  ASSERT_LT(recs.size(), 1000u);
  for (size_t i = 0; i + 1 < recs.size(); ++i) {
    ASSERT_EQ(recs[i].kind, vsock::LogKind::kStdout);
    EXPECT_EQ(recs[i].data, written[static_cast<size_t>(recs[i].timeNs)]);
  }
  OutputLogCache cache;
  ASSERT_TRUE(cache.lastExit(file));
  EXPECT_EQ(cache.lastExit(file)->exitCode, 3);
  std::filesystem::remove(file);
}

// A line written in two records is never cut in half by a trim (docker rotates whole lines).
TEST(OutputLog, TrimmingCutsAtALineStart) {
  std::string file = "/tmp/vic-outlog-lines-" + std::to_string(::getpid());
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 3000; ++i) {
    appendRecord(bytes, vsock::LogKind::kStdout, 2 * i, "first half " + std::to_string(i) + ", ");
    appendRecord(bytes, vsock::LogKind::kStdout, 2 * i + 1, "second half\n");
  }
  writeFile(file, bytes);
  ASSERT_TRUE(trimOutputLog(file, {10000, 2}));
  uint64_t next = 0;
  auto recs = readLogRecords(file, 0, &next);
  ASSERT_GT(recs.size(), 10u);
  EXPECT_LT(recs.size(), 2000u);
  EXPECT_EQ(recs.front().data.rfind("first half ", 0), 0u) << recs.front().data;
  std::filesystem::remove(file);
}

// The log's directory belongs to QEMU's group: a symlink in the log's place is never followed.
TEST(OutputLog, ASymlinkInItsPlaceIsNotFollowed) {
  std::string target = "/tmp/vic-outlog-target-" + std::to_string(::getpid());
  std::string link = "/tmp/vic-outlog-link-" + std::to_string(::getpid());
  std::vector<uint8_t> bytes;
  appendRecord(bytes, vsock::LogKind::kStdout, 1, "secret\n");
  writeFile(target, bytes);
  std::filesystem::create_symlink(target, link);
  uint64_t next = 0;
  EXPECT_TRUE(readLogRecords(link, 0, &next).empty());
  EXPECT_EQ(next, 0u);
  EXPECT_TRUE(outputTail(link, 10, &next).empty());
  EXPECT_FALSE(trimOutputLog(link, {1, 1}));
  std::filesystem::remove(link);
  std::filesystem::remove(target);
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
