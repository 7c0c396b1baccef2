// Saves a channel position in the background so fsync latency (milliseconds per atomic
// replace) does not limit how many boxes per second a pipeline moves. Only the newest position
// is written; each one handed over is confirmed/delivered already, so whatever is on disk is
// never ahead of reality. flush() (and the destructor) waits until the newest position is on
// disk.
#pragma once

#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "channel_file.hpp"

namespace kpthin::cli {

class PositionSaver {
 public:
  explicit PositionSaver(ChannelFile& file);
  ~PositionSaver();  // flushes; errors are reported by flush(), not here
  PositionSaver(const PositionSaver&) = delete;
  PositionSaver& operator=(const PositionSaver&) = delete;

  // Hands over a new position (returns at once). Rethrows an earlier save failure.
  void set(ByteView index);
  // Waits until the newest position is saved; rethrows a save failure (CliError).
  void flush();

 private:
  void run();

  ChannelFile& file_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Bytes> pending_;
  bool busy_ = false;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace kpthin::cli
