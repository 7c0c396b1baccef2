// pigeonhole-cp's `genkey` text: labelled standard base64 values, one per paragraph:
//
//   Read Capability (share with recipient):
//   <base64>
//
//   Write Capability (keep secret):
//   <base64>
//
//   First Index:
//   <base64>
//
// Scripts and pigeonhole-cp's own tests find each value on the line after a line starting with
// its label, so parsing does the same. Either capability may be absent (a recipient only has the
// read capability); "First Index" may be absent because BACAP capabilities end with their first
// index.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kpthin/bytes.hpp"

namespace kpthin::cli {

struct GenkeyText {
  std::optional<Bytes> read_cap;
  std::optional<SecretBytes> write_cap;
  std::optional<Bytes> index;
};

// Formats the present values in pigeonhole-cp's order.
std::string format_genkey_text(const GenkeyText& values);

// Parses the text; throws CliError(kUsage) naming `source` if a value is malformed, of the
// wrong size, or if neither capability is present. Fills `index` from a capability when the
// text has no "First Index".
GenkeyText parse_genkey_text(std::string_view text, const std::string& source);

// The index a capability embeds (its last 104 bytes).
Bytes index_embedded_in(ByteView capability);

}  // namespace kpthin::cli
