#include "box_log.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace kpsim {

namespace {

// File layout: the magic line, then records of
//   u32 body length (big-endian) || body || BLAKE2b-128 of body
// with body = kind (1 byte) || id (32 bytes) || sealed payload (kBox only).
constexpr char kMagic[] = "kpclientd-sim box store 1\n";
constexpr std::size_t kMagicSize = sizeof kMagic - 1;
constexpr std::size_t kChecksumSize = 16;
constexpr std::size_t kIdSize = 32;
constexpr std::size_t kMaxBody = 1 + kIdSize + (1u << 20);  // sealed payloads are a few KiB

using kpthin::Bytes;
using kpthin::Status;

Status sys_error(const std::string& what) { return Status(std::error_code(errno, std::system_category()), what); }
Status bad_file(const std::string& what) { return Status(std::make_error_code(std::errc::invalid_argument), what); }

std::array<std::uint8_t, kChecksumSize> checksum(const std::uint8_t* body, std::size_t size) {
  std::array<std::uint8_t, kChecksumSize> sum{};
  crypto_generichash(sum.data(), sum.size(), body, size, nullptr, 0);
  return sum;
}

void encode(const BoxLogRecord& record, Bytes& out) {
  const std::size_t body = 1 + kIdSize + (record.kind == BoxLogRecord::Kind::kBox ? record.sealed.size() : 0);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(body >> shift));
  const std::size_t start = out.size();
  out.push_back(static_cast<std::uint8_t>(record.kind));
  out.insert(out.end(), record.id.begin(), record.id.end());
  if (record.kind == BoxLogRecord::Kind::kBox) out.insert(out.end(), record.sealed.begin(), record.sealed.end());
  const auto sum = checksum(out.data() + start, body);
  out.insert(out.end(), sum.begin(), sum.end());
}

// Decodes the body of one record; false if it is not a valid record.
bool decode(const std::uint8_t* body, std::size_t size, BoxLogRecord& record) {
  if (size < 1 + kIdSize) return false;
  const auto kind = static_cast<BoxLogRecord::Kind>(body[0]);
  if (kind != BoxLogRecord::Kind::kBox && kind != BoxLogRecord::Kind::kTombstone &&
      kind != BoxLogRecord::Kind::kCopyApplied)
    return false;
  if (kind != BoxLogRecord::Kind::kBox && size != 1 + kIdSize) return false;
  record.kind = kind;
  std::memcpy(record.id.data(), body + 1, kIdSize);
  record.sealed.assign(body + 1 + kIdSize, body + size);
  return true;
}

bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

BoxLog::~BoxLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status BoxLog::open(const std::string& path, const std::function<void(const BoxLogRecord&)>& replay) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("cannot open the box store " + path);
  Bytes data;
  std::uint8_t buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const Status status = sys_error("cannot read the box store " + path);
      ::close(fd);
      return status;
    }
    if (n == 0) break;
    data.insert(data.end(), buffer, buffer + n);
  }
  auto fail = [&](const std::string& what) {
    ::close(fd);
    return bad_file("the box store " + path + " " + what);
  };
  if (data.empty()) {
    if (!write_all(fd, reinterpret_cast<const std::uint8_t*>(kMagic), kMagicSize)) {
      const Status status = sys_error("cannot write the box store " + path);
      ::close(fd);
      return status;
    }
    data.assign(kMagic, kMagic + kMagicSize);
  }
  if (data.size() < kMagicSize || std::memcmp(data.data(), kMagic, kMagicSize) != 0)
    return fail("is not a kpclientd-sim box store (remove it or pass another file)");

  std::size_t at = kMagicSize;
  while (at < data.size()) {
    const std::size_t left = data.size() - at;
    std::size_t body = 0;
    if (left >= 4) body = std::size_t{data[at]} << 24 | std::size_t{data[at + 1]} << 16 | std::size_t{data[at + 2]} << 8 | data[at + 3];
    const bool whole = left >= 4 && body <= kMaxBody && left >= 4 + body + kChecksumSize;
    BoxLogRecord record;
    const bool valid = whole &&
                       std::memcmp(checksum(data.data() + at + 4, body).data(), data.data() + at + 4 + body,
                                   kChecksumSize) == 0 &&
                       decode(data.data() + at + 4, body, record);
    if (!valid) {
      // Only the last record may be torn (a crash during its append); anything else is damage.
      if (whole && left > 4 + body + kChecksumSize)
        return fail("is damaged at byte " + std::to_string(at) + " (not at its end, so not an interrupted append)");
      if (::ftruncate(fd, static_cast<off_t>(at)) != 0) {
        const Status status = sys_error("cannot drop the torn last record of the box store " + path);
        ::close(fd);
        return status;
      }
      torn_bytes_ = left;
      break;
    }
    replay(record);
    at += 4 + body + kChecksumSize;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  path_ = path;
  size_ = at;
  return {};
}

Status BoxLog::append(const std::vector<BoxLogRecord>& records) {
  if (fd_ < 0 || records.empty()) return {};
  Bytes out;
  for (const auto& record : records) encode(record, out);
  if (!write_all(fd_, out.data(), out.size())) {
    const Status status = sys_error("cannot append to the box store " + path_);
    // A partial append (a full disk) must not stay in the middle of the file; if even the
    // truncation fails, the next open() treats the remains as a torn last record.
    [[maybe_unused]] const int ignored = ::ftruncate(fd_, static_cast<off_t>(size_));
    return status;
  }
  size_ += out.size();
  return {};
}

}  // namespace kpsim
