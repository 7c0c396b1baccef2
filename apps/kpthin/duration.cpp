#include "duration.hpp"

#include <cmath>
#include <cstdio>

namespace kpthin::cli {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  std::size_t pos = 0;
  bool any = false;
  while (pos < text.size()) {
    // A decimal number ...
    std::size_t start = pos;
    bool seen_digit = false, seen_dot = false;
    while (pos < text.size() && ((text[pos] >= '0' && text[pos] <= '9') || text[pos] == '.')) {
      if (text[pos] == '.') {
        if (seen_dot) return std::nullopt;
        seen_dot = true;
      } else {
        seen_digit = true;
      }
      ++pos;
    }
    if (!seen_digit) return std::nullopt;
    double value = std::strtod(std::string(text.substr(start, pos - start)).c_str(), nullptr);
    // ... followed by a unit, or nothing (seconds) at the very end.
    std::size_t unit_start = pos;
    while (pos < text.size() && text[pos] >= 'a' && text[pos] <= 'z') ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    double factor;
    if (unit.empty()) {
      if (pos != text.size() || any) return std::nullopt;  // "1m30" is ambiguous: refuse it
      factor = 1000;
    } else if (unit == "ms") {
      factor = 1;
    } else if (unit == "s") {
      factor = 1000;
    } else if (unit == "m") {
      factor = 60'000;
    } else if (unit == "h") {
      factor = 3'600'000;
    } else {
      return std::nullopt;
    }
    total_ms += value * factor;
    any = true;
  }
  constexpr double kMaxMs = 100.0 * 365 * 24 * 3600 * 1000;
  if (!any || !std::isfinite(total_ms) || total_ms > kMaxMs) return std::nullopt;
  // Rounded half away from zero, as llround would (total_ms >= 0 here), without taking libm
  // into the program for one call: the fraction of a double is exact.
  auto whole = static_cast<long long>(total_ms);
  if (total_ms - static_cast<double>(whole) >= 0.5) ++whole;
  return std::chrono::milliseconds(whole);
}

std::string format_duration(std::chrono::milliseconds duration) {
  long long ms = duration.count();
  char buf[64];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", ms);
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.3gs", static_cast<double>(ms) / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", ms / 60'000, (ms / 1000) % 60);
  }
  return buf;
}

}  // namespace kpthin::cli
