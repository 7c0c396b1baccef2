// The append-only file behind kpclientd-sim --store: the replicas' boxes and the courier's
// record of applied copies outlive the simulated daemon, as they outlive a real kpclientd.
//
// Contract: append() returns only after the record was handed to the kernel with write(2), so a
// record appended before a reply is sent survives a kill -9 of the process right after (fsync
// is deliberately not called: process death, not power loss, is what the tests exercise). A
// crash in the middle of an append leaves a torn last record; open() drops it (truncating the
// file back to the last whole record) and reports it. Damage anywhere else is an error.
// Single-threaded, like the rest of the simulator.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kpthin/bytes.hpp"
#include "kpthin/status.hpp"

namespace kpsim {

struct BoxLogRecord {
  enum class Kind : std::uint8_t { kBox = 1, kTombstone = 2, kCopyApplied = 3 };
  Kind kind = Kind::kBox;
  std::array<std::uint8_t, 32> id{};  // box id, or the copy's write-cap hash
  kpthin::Bytes sealed;                // kBox only
};

class BoxLog {
 public:
  BoxLog() = default;
  BoxLog(const BoxLog&) = delete;
  BoxLog& operator=(const BoxLog&) = delete;
  ~BoxLog();

  // Opens (creating, mode 0600) the log at `path` and calls `replay` for every whole record in
  // file order. Fails if the file is not a box log or is damaged before its last record.
  kpthin::Status open(const std::string& path, const std::function<void(const BoxLogRecord&)>& replay);

  // Appends `records` with a single write(2): after a crash either all of them or none are
  // read back by the next open(). No-op while no log is open. Fails only on an I/O error.
  kpthin::Status append(const std::vector<BoxLogRecord>& records);

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  std::uint64_t torn_bytes_dropped() const { return torn_bytes_; }

 private:
  int fd_ = -1;
  std::string path_;
  std::uint64_t size_ = 0;  // bytes of whole records (and the magic line) in the file
  std::uint64_t torn_bytes_ = 0;
};

}  // namespace kpsim
