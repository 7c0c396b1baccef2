#include "progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "duration.hpp"
#include "output.hpp"

namespace kpthin::cli {

std::chrono::milliseconds progress_delay() {
  const char* text = std::getenv("KPTHIN_PROGRESS_DELAY");
  if (text != nullptr) {
    if (auto delay = parse_duration(text)) return *delay;
  }
  return std::chrono::seconds(1);
}

Progress::Progress(std::string what, std::uint64_t total)
    : enabled_(::isatty(STDERR_FILENO) == 1 && verbosity() != Verbosity::kQuiet),
      what_(std::move(what)),
      total_(total),
      delay_(progress_delay()),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (drawn_) clear_status_line();
}

void Progress::update(std::uint64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (!drawn_) {
    // Short work shows nothing, and finished work is not worth a line that is erased at once.
    if (now - start_ < delay_ || (total_ > 0 && done >= total_)) return;
  } else if (now - last_draw_ < std::chrono::milliseconds(100) && done != total_) {
    return;
  }
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  char line[160];
  if (total_ > 0) {
    std::snprintf(line, sizeof line, "%s: %llu/%llu (%.0f/s)", what_.c_str(), static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total_), rate);
  } else {
    std::snprintf(line, sizeof line, "%s: %llu (%.0f/s)", what_.c_str(), static_cast<unsigned long long>(done), rate);
  }
  draw_status_line(line);
  drawn_ = true;
}

}  // namespace kpthin::cli
