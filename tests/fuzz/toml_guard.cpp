#include "toml_guard.hpp"

#include <cctype>
#include <string>

namespace kpthin::detail {

std::size_t line_toml_cannot_take(std::string_view text) {
  std::size_t line = 1;
  bool line_start = true;
  char quote = 0;       // inside a string
  bool triple = false;  // ... a multi-line one, which only three quotes close
  char prev = '\n';     // the last character outside strings and blanks on this line ('\n': none)
  int equals = 0;       // '=' signs outside strings on this line
  int depth = 0;        // open inline tables ('{')
  bool comment = false;
  std::size_t i = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // a byte order mark is fine
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      ++line, line_start = true, prev = '\n', equals = 0, depth = 0, comment = false;
      if (!triple) quote = 0;
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (c == '\\' && quote == '"') {
        // toml++ asks whether what follows a backslash (and the blanks and line breaks after it)
        // is whitespace, and its Unicode whitespace test is undefined for most non-ASCII code
        // points (U+00A1..U+0499, U+FA46..U+FEFE, ...).
        std::size_t k = i + 1;
        while (k < text.size() && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r' || text[k] == '\n')) ++k;
        if (k < text.size() && static_cast<unsigned char>(text[k]) >= 0x80) return line;
        ++i;
      } else if (c == quote && (!triple || text.substr(i, 3) == std::string(3, c))) {
        if (triple) i += 2;
        quote = 0, triple = false, prev = c;
      }
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) return line;
    if (line_start && c == '[') {
      std::size_t k = i + 1;
      if (k < text.size() && text[k] == '[') ++k;
      while (k < text.size() && (text[k] == ' ' || text[k] == '\t')) ++k;
      if (k < text.size()) {
        char n = text[k];
        bool key_start = std::isalnum(static_cast<unsigned char>(n)) || n == '_' || n == '-' || n == '"' || n == '\'';
        if (!key_start) return line;
      }
    }
    // Arrays: toml++ asserts on malformed ones (`[}`), and neither a thinclient.toml nor a
    // channel file has a use for them. (`[[` opens an array-of-tables header.)
    bool header_bracket = line_start || (prev == '[' && equals == 0 && i > 0 && text[i - 1] == '[');
    if (c == '[' && !header_bracket) return line;
    // An inline table only where a value goes (right after the line's first '=', or inside one).
    if (c == '{' && !(prev == '=' && (equals == 1 || depth > 0))) return line;
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    if (c == ' ' || c == '\t') continue;
    line_start = false;
    // A quote opens a string only where TOML has one: a key (line start, after '[' or '.', before
    // any '='; in an inline table after '{', ',' or '.') or a value (right after the line's first
    // '=', or any '=' in an inline table); a quote anywhere else does not make what follows safe.
    bool opens = (equals == 0 && (prev == '\n' || prev == '[' || prev == '.')) ||
                 (prev == '=' && (equals == 1 || depth > 0)) ||
                 (depth > 0 && (prev == '{' || prev == ',' || prev == '.'));
    if ((c == '"' || c == '\'') && opens) {
      quote = c;
      triple = text.substr(i, 3) == std::string(3, c);
      if (triple) i += 2;
      continue;
    }
    if (c == '#') comment = true;
    if (c == '=') ++equals;
    prev = c;
  }
  return 0;
}

}  // namespace kpthin::detail
