// thinclient.toml (spec §8.1): where the daemon listens. Exactly one [Dial.*] table.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "kpthin/status.hpp"

namespace kpthin {

enum class TransportKind { kUnix, kTcp, kWebSocket };

struct DialTarget {
  TransportKind kind = TransportKind::kUnix;
  std::string address;  // unix: path or "@abstract"; tcp: "host:port" / "[v6]:port"; ws: "ws://..."
  std::string network;  // tcp only: "tcp" (default), "tcp4", "tcp6"
};

// Parses thinclient.toml text. Unknown keys, zero or several [Dial.*] tables, wrong types and
// empty addresses are rejected with an error (local_errc::config_invalid) naming the key.
Result<DialTarget> parse_config(std::string_view toml_text, std::string_view source_name = "thinclient.toml");
Result<DialTarget> load_config(const std::filesystem::path& path);

// The thinclient.toml text for a target (used by kpclientd-sim --write-config and tests).
std::string format_config(const DialTarget& target);

}  // namespace kpthin
