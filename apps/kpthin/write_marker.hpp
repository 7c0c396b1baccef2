// The "unfinished write" marker (kpthin-channel(5)): NAME.write.unfinished beside a write channel
// file (beside the file a link points to) exists while a write run may have boxes on their way
// that it has not seen confirmed. A run that dies leaves it; Sphinx packets it had already sent
// can land seconds later, in boxes after the saved position. The next run that finds the marker
// checks each of the boxes such packets may still fill instead of only its first one.
#pragma once

#include <filesystem>

namespace kpthin::cli {

class UnfinishedMarker {
 public:
  // The marker of the channel file at `channel_real_path` (links already followed). Looks once,
  // now, whether it exists; call while holding the channel file's lock.
  explicit UnfinishedMarker(const std::filesystem::path& channel_real_path);

  // True if the marker was there when this object was made: an earlier run did not finish.
  bool found() const { return found_; }
  const std::filesystem::path& path() const { return path_; }

  // Makes sure the marker exists and survives a crash (file and directory fsynced) before the
  // caller sends anything. Throws CliError(kOther) if it cannot be created; nothing was sent then.
  void set();
  // Removes the marker (directory fsynced). Best effort: a marker left behind only makes the
  // next run check more boxes one by one.
  void clear();

 private:
  std::filesystem::path path_;
  bool found_ = false;
  bool present_ = false;
};

}  // namespace kpthin::cli
