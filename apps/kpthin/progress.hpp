// Progress for long operations ("412/1000 boxes, 1820/s"), on stderr, only when stderr is a
// terminal and not -q. Like git, it appears only once the work has taken a while (1 s, or
// $KPTHIN_PROGRESS_DELAY), so a single box or a short run shows none; redrawn at most ten times
// a second; erased when done. The line itself is drawn by draw_status_line() (output.hpp), which
// keeps it off the lines data and messages use.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace kpthin::cli {

class Progress {
 public:
  // `total` = 0 when unknown (streams).
  Progress(std::string what, std::uint64_t total);
  ~Progress();  // erases the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::uint64_t done);

 private:
  bool enabled_;
  std::string what_;
  std::uint64_t total_;
  std::chrono::steady_clock::duration delay_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

// How long work runs before its progress shows: $KPTHIN_PROGRESS_DELAY as a duration ("0" shows
// it at once; tests use that), else 1 s. A malformed value counts as unset.
std::chrono::milliseconds progress_delay();

}  // namespace kpthin::cli
