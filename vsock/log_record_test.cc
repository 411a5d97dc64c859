#include "vsock/log_record.h"

#include <gtest/gtest.h>

namespace vic::vsock {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(LogRecord, GoldenBytes) {
  std::vector<uint8_t> out;
  appendLogRecords(out, LogKind::kStderr, 0x0102030405060708, bytes("hi"));
  std::vector<uint8_t> golden = {0xD7, 2, 0, 0, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 'h', 'i'};
  EXPECT_EQ(out, golden);
}

TEST(LogRecord, RoundTripSplitsLargePayloads) {
  std::string big(kMaxLogPayload * 2 + 10, 'b');
  std::vector<uint8_t> out;
  appendLogRecords(out, LogKind::kStdout, 5, bytes("first\n"));
  appendLogRecords(out, LogKind::kStdout, 6, bytes(big));
  appendLogRecords(out, LogKind::kExit, 7, bytes(R"({"exitCode":3})"));
  auto p = parseLog(out);
  ASSERT_EQ(p.records.size(), 5u);
  EXPECT_EQ(p.records[0].data, "first\n");
  std::string joined = p.records[1].data + p.records[2].data + p.records[3].data;
  EXPECT_EQ(joined, big);
  EXPECT_EQ(p.records[4].kind, LogKind::kExit);
  EXPECT_EQ(p.records[4].timeNs, 7);
  EXPECT_EQ(p.consumed, out.size());
}

TEST(LogRecord, TornTailAndGarbageAreTolerated) {
  std::vector<uint8_t> out = {1, 2, 3};  // garbage
  appendLogRecords(out, LogKind::kStdout, 1, bytes("ok"));
  size_t whole = out.size();
  appendLogRecords(out, LogKind::kStdout, 2, bytes("torn record"));
  out.resize(out.size() - 4);  // the VM died mid-write
  auto p = parseLog(out);
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].data, "ok");
  EXPECT_EQ(p.skipped, 3u);
  EXPECT_EQ(p.consumed, whole);
  EXPECT_EQ(p.starts, std::vector<size_t>{3});
}

TEST(LogRecord, GarbageIsConsumedUpToWhereARecordCouldStillBegin) {
  std::vector<uint8_t> out(1000, 0xD7);  // magic bytes, but never a valid header
  auto p = parseLog(out);
  EXPECT_TRUE(p.records.empty());
  EXPECT_EQ(p.consumed, out.size() - (kLogHeaderSize - 1));  // so a reader in windows moves on
  out.resize(out.size() - 3);
  appendLogRecords(out, LogKind::kStdout, 1, bytes("after"));
  p = parseLog(out);
  ASSERT_EQ(p.records.size(), 1u);
  EXPECT_EQ(p.records[0].data, "after");
  EXPECT_EQ(p.consumed, out.size());
}

}  // namespace
}  // namespace vic::vsock
