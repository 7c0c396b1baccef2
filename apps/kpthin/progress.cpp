#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "output.hpp"

namespace kpthin::cli {

Progress::Progress(std::string what, std::uint64_t total)
    : enabled_(::isatty(STDERR_FILENO) == 1 && verbosity() != Verbosity::kQuiet),
      what_(std::move(what)),
      total_(total),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (drawn_) {
    static const char erase[] = "\r\033[K";
    ssize_t ignored = ::write(STDERR_FILENO, erase, sizeof erase - 1);
    (void)ignored;
  }
}

void Progress::update(std::uint64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done != total_) return;
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  char line[160];
  if (total_ > 0) {
    std::snprintf(line, sizeof line, "\r\033[K%s: %llu/%llu (%.0f/s)", what_.c_str(),
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), rate);
  } else {
    std::snprintf(line, sizeof line, "\r\033[K%s: %llu (%.0f/s)", what_.c_str(),
                  static_cast<unsigned long long>(done), rate);
  }
  std::string text(line);
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
  drawn_ = true;
}

}  // namespace kpthin::cli
