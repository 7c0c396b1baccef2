// Saves a channel position in the background (see LatestSaver): each position handed over is
// confirmed/delivered already, so whatever is on disk is never ahead of reality. flush() (and
// the destructor) waits until the newest position is on disk.
#pragma once

#include <string>

#include "channel_file.hpp"
#include "exit_codes.hpp"
#include "latest_saver.hpp"

namespace kpthin::cli {

class PositionSaver {
 public:
  // `on_failure`, if not empty, is added to the message of a failed save (what the failure means
  // for the boxes already sent and what the next run does about it).
  explicit PositionSaver(ChannelFile& file, std::string on_failure = {})
      : saver_([&file, on_failure = std::move(on_failure)](const Bytes& index) {
          try {
            file.save_index(view(index));
          } catch (const CliError& e) {
            if (on_failure.empty()) throw;
            throw CliError(e.code(), std::string(e.what()) + "; " + on_failure);
          }
        }) {}

  // Hands over a new position (returns at once). Rethrows an earlier save failure.
  void set(ByteView index) { saver_.set(Bytes(index.begin(), index.end())); }
  // Waits until the newest position is saved; rethrows a save failure (CliError).
  void flush() { saver_.flush(); }

 private:
  LatestSaver<Bytes> saver_;
};

}  // namespace kpthin::cli
