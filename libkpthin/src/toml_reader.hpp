// libkpthin's one strict TOML reader, for the part of TOML 1.0 a thinclient.toml can use (read by
// config.cpp) and for channel files (top-level strings only, read through kpthin/toml.hpp by
// toml_strings.cpp), written so that no byte sequence reaches a general TOML parser: Debian's
// toml++ 3.3.0 reaches failed assertions (undefined behaviour in a release build) on malformed
// text (tests/fuzz/regressions/config and channel_file).
//
// Read: comments, blank lines, LF or CRLF, a leading UTF-8 byte order mark; [table] and
// [[array.of.tables]] headers; bare, "basic" and 'literal' keys, dotted; values that are strings
// (all four forms, TOML's escapes), integers (decimal, 0x/0o/0b), floats, booleans, arrays and
// inline tables. Refused: dates and times (no thinclient.toml has one), anything TOML refuses
// (duplicate keys, a table defined twice, invalid UTF-8, control characters), and nesting deeper
// than 32 arrays or inline tables. It may refuse text TOML allows; it never accepts text TOML
// refuses.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kpthin::detail {

struct TomlNode {
  enum class Kind { kTable, kArray, kString, kInteger, kFloat, kBoolean };
  Kind kind = Kind::kTable;
  std::size_t line = 0;  // 1-based line where the node is defined
  std::string string;    // kString: the value
  // kTable: the keys in file order; kArray: the items, with empty keys.
  std::vector<std::pair<std::string, std::unique_ptr<TomlNode>>> members;

  // How a table came to be, for TOML's rule that a table is defined once.
  bool header = false;     // by a [header]
  bool implicit = false;   // as a parent named in a header, not defined yet
  bool dotted = false;     // by a dotted key
  bool frozen = false;     // an inline table, or an array written as a value (not [[...]])

  // The member named `key` of a table, or null.
  TomlNode* find(std::string_view key) const;
  // "a table", "an integer", ...: the kind in the words of an error message.
  const char* kind_name() const;
};

struct TomlDocument {
  bool ok = false;
  TomlNode root;             // when ok
  std::size_t line = 0;      // when not ok: 1-based line of the defect
  std::string error;         // when not ok: what is wrong, in a sentence fragment
  bool unsupported = false;  // when not ok: TOML allows the text there, this reader does not (a
                             // date or time, deep nesting, a long number); else TOML refuses it
};

// Reads `text`. Total: any bytes give a document or a defect with its line. On a defect the
// strings read so far are wiped (a channel file's values are secrets).
TomlDocument read_toml(std::string_view text);

// Overwrites every string and key under `node` with zeros (before a tree holding secrets is freed).
void wipe_strings(TomlNode& node);

}  // namespace kpthin::detail
