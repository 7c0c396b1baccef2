// Saves a channel position in the background (see LatestSaver): each position handed over is
// confirmed/delivered already, so whatever is on disk is never ahead of reality. flush() (and
// the destructor) waits until the newest position is on disk.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "channel_file.hpp"
#include "exit_codes.hpp"
#include "latest_saver.hpp"

namespace kpthin::cli {

class PositionSaver {
 public:
  // How far (in boxes) the saved position may lag the confirmed one when set() is given a count.
  // After a kill -9 the next write finds those boxes again, each at the cost of a check (see
  // kpthin-write(1)); waiting for the disk this rarely does not slow a stream down.
  static constexpr std::uint64_t kMaxUnsavedBoxes = 8;

  // `on_failure`, if not empty, is added to the message of a failed save (what the failure means
  // for the boxes already sent and what the next run does about it).
  explicit PositionSaver(ChannelFile& file, std::string on_failure = {})
      : saver_([this, &file, on_failure = std::move(on_failure)](const Entry& entry) {
          try {
            file.save_index(view(entry.index));
          } catch (const CliError& e) {
            if (on_failure.empty()) throw;
            throw CliError(e.code(), std::string(e.what()) + "; " + on_failure);
          }
          saved_boxes_ = entry.boxes;
        }) {}

  // Hands over a new position (returns at once). Rethrows an earlier save failure.
  void set(ByteView index) { saver_.set(Entry{Bytes(index.begin(), index.end()), saved_boxes_.load()}); }
  // The same for the position after `boxes` boxes (a count that only grows); waits for the disk
  // when the saved position would otherwise lag more than kMaxUnsavedBoxes behind.
  void set(ByteView index, std::uint64_t boxes) {
    saver_.set(Entry{Bytes(index.begin(), index.end()), boxes});
    if (boxes > saved_boxes_.load() + kMaxUnsavedBoxes) saver_.flush();
  }
  // Waits until the newest position is saved; rethrows a save failure (CliError).
  void flush() { saver_.flush(); }
  // The box count of the position on disk (for tests).
  std::uint64_t saved_boxes() const { return saved_boxes_.load(); }

 private:
  struct Entry {
    Bytes index;
    std::uint64_t boxes = 0;
  };
  std::atomic<std::uint64_t> saved_boxes_{0};
  LatestSaver<Entry> saver_;
};

}  // namespace kpthin::cli
