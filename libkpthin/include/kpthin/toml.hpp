// TOML files whose top level holds only string values (kpthin's channel files are one), read by
// libkpthin's strict TOML reader (the one thinclient.toml goes through, src/toml_reader.hpp), so
// no byte of such a file reaches a general TOML parser. Channel files are shared between people
// (a NAME.read is meant to be passed on), so they are hostile input; Debian's toml++ 3.3.0
// reaches failed assertions (undefined behaviour in a release build) on malformed text.
//
// The strings are those toml++ would give: bare, "basic" and 'literal' keys; basic strings with
// TOML's escapes, literal strings and their multi-line forms; comments; LF or CRLF line ends; a
// leading UTF-8 byte order mark. tests/fuzz/file_targets.cpp (channel_file) checks that the
// reader and toml++ agree.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace kpthin {

struct TomlStrings {
  enum class Outcome {
    kOk,
    kSyntax,     // not TOML (anything TOML refuses: duplicate keys, invalid UTF-8, control characters)
    kNotString,  // TOML, or maybe TOML, but a top-level value is not a string (a table, an array,
                 // a number), or it holds what the reader refuses though TOML allows it (a date
                 // or time, arrays nested deeper than 32)
  };
  Outcome outcome = Outcome::kOk;
  std::map<std::string, std::string> values;  // key -> string value, when kOk
  std::size_t line = 0;                       // 1-based line of the defect, when not kOk
  std::string error;                          // what is wrong, a sentence fragment, when not kOk
};

// Reads `text`. Total: any bytes give kOk with the values, or a defect with its line (the first
// value that is not a string, in file order, for kNotString). The values may be secrets: the
// caller wipes them; the reader wipes the strings it read when it gives a defect instead.
TomlStrings read_toml_strings(std::string_view text);

}  // namespace kpthin
