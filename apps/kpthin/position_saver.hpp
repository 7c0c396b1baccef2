// Saves a channel position in the background (see LatestSaver): each position handed over is
// confirmed/delivered already, so whatever is on disk is never ahead of reality. flush() (and
// the destructor) waits until the newest position is on disk.
#pragma once

#include "channel_file.hpp"
#include "latest_saver.hpp"

namespace kpthin::cli {

class PositionSaver {
 public:
  explicit PositionSaver(ChannelFile& file)
      : saver_([&file](const Bytes& index) { file.save_index(view(index)); }) {}

  // Hands over a new position (returns at once). Rethrows an earlier save failure.
  void set(ByteView index) { saver_.set(Bytes(index.begin(), index.end())); }
  // Waits until the newest position is saved; rethrows a save failure (CliError).
  void flush() { saver_.flush(); }

 private:
  LatestSaver<Bytes> saver_;
};

}  // namespace kpthin::cli
