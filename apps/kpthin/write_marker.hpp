// The "unfinished write" marker (kpthin-channel(5)): NAME.write.unfinished beside a write channel
// file (beside the file a link points to) exists while a run may have boxes on their way that it
// has not seen confirmed. A run that dies leaves it; Sphinx packets it had already sent can land
// seconds later, in boxes after the saved position. The next run that finds the marker checks
// each of the boxes such packets may still fill instead of only its first one.
//
// A `tombstone --next` run also records the last box its tombstones may reach: a tombstone
// replaces whatever a box holds, so no check of a box can protect a message written there before
// a late tombstone lands. The next run completes that range first (dead_tombstones.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

namespace kpthin::cli {

class UnfinishedMarker {
 public:
  // The marker of the channel file at `channel_real_path` (links already followed). Looks once,
  // now, whether it exists and what it records; call while holding the channel file's lock.
  explicit UnfinishedMarker(const std::filesystem::path& channel_real_path);

  // True if the marker was there when this object was made: an earlier run did not finish.
  bool found() const { return found_; }
  const std::filesystem::path& path() const { return path_; }
  // The last box number (box_numbers.hpp) a dead `tombstone --next` run may still tombstone, as
  // the marker records it now (found, or set by this run); none for a marker without the record
  // (a write's, or one whose text is unreadable).
  std::optional<std::uint64_t> tombstones_through() const { return tombstones_through_; }

  // Makes sure the marker exists and survives a crash (file and directory fsynced) before the
  // caller sends anything. Throws CliError(kOther) if it cannot be created; nothing was sent then.
  void set();
  // As set(), recording that tombstones may land up to box `last_box` (inclusive); the record is
  // durable before this returns. Throws CliError(kOther) if it cannot be written.
  void set_tombstones(std::uint64_t last_box);
  // The recorded tombstones are all confirmed: the record goes. The marker itself stays if it was
  // found (a dead run's other boxes may still land) and is removed otherwise. Best effort.
  void tombstones_done();
  // Removes the marker (directory fsynced). Best effort: a marker left behind only makes the
  // next run check more boxes one by one.
  void clear();

 private:
  void write_text(const std::optional<std::uint64_t>& last_box);

  std::filesystem::path path_;
  bool found_ = false;
  bool present_ = false;
  std::optional<std::uint64_t> tombstones_through_;
};

}  // namespace kpthin::cli
