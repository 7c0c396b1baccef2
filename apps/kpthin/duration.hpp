// Durations on the command line: "500ms", "30s", "2m", "1h", "1m30s"; a bare number is seconds.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kpthin::cli {

// Parses a duration; nullopt for anything malformed, negative, or beyond ~100 years.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "1.5s", "250ms", "2m03s": short human text for messages.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace kpthin::cli
