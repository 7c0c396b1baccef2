// Progress for long operations ("412/1000 boxes, 1820/s"), on stderr, only when stderr is a
// terminal and not -q; redrawn at most ten times a second and erased when done.
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
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace kpthin::cli
