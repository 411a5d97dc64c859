#include "vsock/tar.h"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace vic::vsock {
namespace {

void putOctal(uint8_t* field, size_t width, uint64_t value) {
  // width-1 octal digits and a NUL, zero padded
  std::string digits(width - 1, '0');
  for (size_t i = width - 1; i-- > 0 && value > 0; value >>= 3) digits[i] = static_cast<char>('0' + (value & 7));
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = 0;
}

uint64_t getOctal(const uint8_t* field, size_t width) {
  if (field[0] & 0x80) {  // base-256 (GNU) for big numbers
    uint64_t v = 0;
    for (size_t i = 1; i < width; ++i) v = (v << 8) | field[i];
    return v;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < width && field[i] != 0; ++i) {
    if (field[i] >= '0' && field[i] <= '7') v = (v << 3) | static_cast<uint64_t>(field[i] - '0');
  }
  return v;
}

std::string getString(const uint8_t* field, size_t width) {
  size_t n = 0;
  while (n < width && field[n] != 0) ++n;
  return std::string(reinterpret_cast<const char*>(field), n);
}

void checksum(uint8_t* h) {
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += h[i];
  putOctal(h + 148, 7, sum);
  h[155] = ' ';
}

std::vector<uint8_t> ustarBlock(const std::string& name, const std::string& link, char type, uint32_t mode,
                                uint32_t uid, uint32_t gid, int64_t mtime, uint64_t size) {
  std::vector<uint8_t> h(512, 0);
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  putOctal(&h[100], 8, mode & 07777);
  putOctal(&h[108], 8, uid);
  putOctal(&h[116], 8, gid);
  putOctal(&h[124], 12, size);
  putOctal(&h[136], 12, static_cast<uint64_t>(std::max<int64_t>(mtime, 0)));
  h[156] = static_cast<uint8_t>(type);
  std::memcpy(&h[157], link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(&h[257], "ustar\0" "00", 8);
  checksum(h.data());
  return h;
}

// "<len> key=value\n" where len counts the whole record including itself.
std::string paxRecord(const std::string& key, const std::string& value) {
  size_t body = key.size() + value.size() + 3;
  size_t len = body + std::to_string(body).size();
  if (std::to_string(len).size() != std::to_string(body).size()) ++len;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

}  // namespace

std::vector<uint8_t> tarHeader(const TarEntry& e) {
  std::string name = e.type == '5' ? e.name + "/" : e.name;
  std::string pax;
  if (name.size() > 100) pax += paxRecord("path", name);
  if (e.linkname.size() > 100) pax += paxRecord("linkpath", e.linkname);
  if (e.size >= (uint64_t{1} << 33)) pax += paxRecord("size", std::to_string(e.size));
  std::vector<uint8_t> out;
  if (!pax.empty()) {
    out = ustarBlock("PaxHeader/" + name.substr(0, 80), "", 'x', 0644, 0, 0, e.mtime, pax.size());
    out.insert(out.end(), pax.begin(), pax.end());
    out.resize(out.size() + tarPadding(pax.size()), 0);
  }
  auto h = ustarBlock(name, e.linkname, e.type, e.mode, e.uid, e.gid, e.mtime,
                      e.size >= (uint64_t{1} << 33) ? 0 : e.size);
  out.insert(out.end(), h.begin(), h.end());
  return out;
}

bool safeArchiveName(const std::string& name) {
  if (name.empty() || name[0] == '/') return false;
  std::istringstream parts(name);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part == "..") return false;
  }
  return true;
}

Status TarReader::feed(std::span<const uint8_t> bytes, TarSink& sink) {
  while (!bytes.empty() && !finished_) {
    if (state_ == State::kHeader) {
      size_t n = std::min(512 - block_.size(), bytes.size());
      block_.insert(block_.end(), bytes.begin(), bytes.begin() + static_cast<long>(n));
      bytes = bytes.subspan(n);
      if (block_.size() < 512) continue;
      auto st = onHeader(sink);
      block_.clear();
      if (!st) return st;
      continue;
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
    if (state_ == State::kData) {
      if (auto st = sink.data(bytes.first(n)); !st) return st;
    } else if (state_ == State::kMeta) {
      meta_.append(bytes.begin(), bytes.begin() + static_cast<long>(n));
    }
    remaining_ -= n;
    bytes = bytes.subspan(n);
    if (remaining_ == 0) {
      if (auto st = finishSection(sink); !st) return st;
    }
  }
  return ok();
}

// The data (or extended header, or skipped bytes) of one entry is complete.
Status TarReader::finishSection(TarSink& sink) {
  State was = state_;
  state_ = padding_ > 0 ? State::kSkip : State::kHeader;
  remaining_ = padding_;
  padding_ = 0;
  if (was == State::kData) return sink.end();
  if (was == State::kMeta) return onMeta();
  return ok();
}

Status TarReader::onHeader(TarSink& sink) {
  const uint8_t* h = block_.data();
  if (std::all_of(block_.begin(), block_.end(), [](uint8_t b) { return b == 0; })) {
    if (++zeroBlocks_ == 2) finished_ = true;
    return ok();
  }
  zeroBlocks_ = 0;
  unsigned want = static_cast<unsigned>(getOctal(h + 148, 8));
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  if (sum != want) return Error(Errc::kInvalidArgument, "archive/tar: invalid tar header (bad checksum)");
  TarEntry e;
  e.type = h[156] == 0 ? '0' : static_cast<char>(h[156]);
  std::string prefix = getString(h + 345, 155);
  e.name = getString(h, 100);
  if (std::memcmp(h + 257, "ustar", 5) == 0 && !prefix.empty()) e.name = prefix + "/" + e.name;
  e.linkname = getString(h + 157, 100);
  e.mode = static_cast<uint32_t>(getOctal(h + 100, 8));
  e.uid = static_cast<uint32_t>(getOctal(h + 108, 8));
  e.gid = static_cast<uint32_t>(getOctal(h + 116, 8));
  e.size = getOctal(h + 124, 12);
  e.mtime = static_cast<int64_t>(getOctal(h + 136, 12));
  if (e.type == 'x' || e.type == 'g' || e.type == 'L' || e.type == 'K') {
    if (e.size > (1 << 20)) return Error(Errc::kInvalidArgument, "archive/tar: extended header too large");
    metaType_ = e.type;
    meta_.clear();
    if (e.size == 0) return onMeta();
    state_ = State::kMeta;
    remaining_ = e.size;
    padding_ = tarPadding(e.size);
    return ok();
  }
  if (havePendingName_) e.name = pending_.name;
  if (havePendingLink_) e.linkname = pending_.linkname;
  if (havePendingSize_) e.size = pending_.size;
  havePendingName_ = havePendingLink_ = havePendingSize_ = false;
  while (e.name.size() > 1 && e.name.back() == '/') e.name.pop_back();
  if (e.type != '0' && e.type != '7') e.size = e.type == '1' || e.type == '2' || e.type == '5' ? 0 : e.size;
  bool known = e.type == '0' || e.type == '7' || e.type == '5' || e.type == '2' || e.type == '1';
  if (!known) {  // devices, fifos: skipped (a containerVM's cp does not create device nodes)
    if (e.size > 0) {
      state_ = State::kSkip;
      remaining_ = e.size + tarPadding(e.size);
    }
    return ok();
  }
  if (e.type == '7') e.type = '0';
  if (auto st = sink.begin(e); !st) return st;
  if (e.size == 0) return sink.end();
  state_ = State::kData;
  remaining_ = e.size;
  padding_ = tarPadding(e.size);
  return ok();
}

Status TarReader::onMeta() {
  if (metaType_ == 'L' || metaType_ == 'K') {
    std::string v = meta_.substr(0, meta_.find('\0'));
    if (metaType_ == 'L') pending_.name = v, havePendingName_ = true;
    else pending_.linkname = v, havePendingLink_ = true;
    return ok();
  }
  if (metaType_ == 'g') return ok();
  size_t pos = 0;
  while (pos < meta_.size()) {
    size_t space = meta_.find(' ', pos);
    if (space == std::string::npos) break;
    size_t len = std::strtoul(meta_.c_str() + pos, nullptr, 10);
    if (len == 0 || pos + len > meta_.size()) return Error(Errc::kInvalidArgument, "archive/tar: invalid pax record");
    std::string rec = meta_.substr(space + 1, pos + len - space - 2);
    size_t eq = rec.find('=');
    if (eq != std::string::npos) {
      std::string key = rec.substr(0, eq), value = rec.substr(eq + 1);
      if (key == "path") pending_.name = value, havePendingName_ = true;
      if (key == "linkpath") pending_.linkname = value, havePendingLink_ = true;
      if (key == "size") pending_.size = std::strtoull(value.c_str(), nullptr, 10), havePendingSize_ = true;
    }
    pos += len;
  }
  return ok();
}

}  // namespace vic::vsock
