// A strict reader for the one TOML shape channel files use: top-level `key = "string"` lines,
// comments and blank lines. Channel files are shared between people (a NAME.read is meant to be
// passed on), so they are hostile input; Debian's toml++ 3.3.0 reaches an assertion (undefined
// behaviour in a release build) on a table header cut by a newline, and a channel file never
// needs tables, so this reader never hands the text to a general TOML parser.
//
// What it accepts is a subset of TOML 1.0 and gives the same strings toml++ would: bare, "basic"
// and 'literal' keys; basic strings with TOML's escapes, literal strings, and their multi-line
// forms; comments; LF or CRLF line ends; a leading UTF-8 byte order mark. Everything else TOML
// allows (tables, dotted keys, arrays, numbers, ...) is rejected, as is anything TOML rejects
// (duplicate keys, invalid UTF-8, control characters). tests/fuzz/channel_file.cpp checks the
// two parsers agree.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace kpthin::cli {

struct FlatToml {
  enum class Outcome {
    kOk,
    kSyntax,     // not TOML at all (or not TOML as toml++ reads it)
    kNotString,  // maybe TOML, but something other than a top-level string key (a table, a number)
  };
  Outcome outcome = Outcome::kOk;
  std::map<std::string, std::string> values;  // key -> string value, when kOk
  std::size_t line = 0;                       // 1-based line of the defect, when not kOk
  std::string error;                          // what is wrong, when not kOk
};

// Reads `text`. Total: any bytes give kOk with the values, or a defect with its line.
FlatToml parse_flat_toml(std::string_view text);

}  // namespace kpthin::cli
