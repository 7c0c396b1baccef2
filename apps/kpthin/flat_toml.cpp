#include "flat_toml.hpp"

#include <cctype>
#include <cstdint>
#include <optional>

#include "kpthin/bytes.hpp"
#include "kpthin/utf8.hpp"

namespace kpthin::cli {
namespace {

using Outcome = FlatToml::Outcome;

// A defect: unwinds the reader to parse_flat_toml, which records it.
struct Defect {
  Outcome outcome;
  std::string what;
};

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  std::size_t line() const { return line_; }

  void parse(std::map<std::string, std::string>& values) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    while (!eof()) {
      skip_spaces();
      if (end_of_line()) continue;
      if (peek() == '#') {
        comment();
        continue;
      }
      if (peek() == '[') throw Defect{Outcome::kNotString, "a table header; a channel file has no tables"};
      std::string key = read_key();
      skip_spaces();
      if (peek() == '.') throw Defect{Outcome::kNotString, "a dotted key; a channel file has no tables"};
      if (peek() != '=') syntax("expected '=' after the key \"" + key + "\"");
      ++pos_;
      skip_spaces();
      std::optional<std::string> value = read_string();
      if (!value) throw Defect{Outcome::kNotString, "key \"" + key + "\" must be a string"};
      skip_spaces();
      if (!eof() && peek() == '#') {
        comment();
      } else if (!end_of_line()) {
        syntax("unexpected text after the value of \"" + key + "\"");
      }
      if (!values.emplace(std::move(key), std::move(*value)).second) syntax("a key is defined twice");
    }
  }

 private:
  [[noreturn]] void syntax(const std::string& what) { throw Defect{Outcome::kSyntax, what}; }

  bool eof() const { return pos_ >= text_.size(); }
  char peek(std::size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  bool at(std::string_view s) const { return text_.substr(pos_, s.size()) == s; }
  static bool is_control(char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F; }

  void skip_spaces() {
    while (!eof() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }

  // Consumes a line end (LF or CRLF) or recognises the end of the text; false otherwise.
  bool end_of_line() {
    if (eof()) return true;
    std::size_t n = at("\r\n") ? 2 : peek() == '\n' ? 1 : 0;
    if (n == 0) return false;
    pos_ += n;
    ++line_;
    return true;
  }

  void comment() {
    for (++pos_; !end_of_line(); pos_ += character_length()) {
      if (is_control(peek())) syntax("a control character in a comment");
    }
  }

  // The bytes of the character at pos_ (1 for ASCII); invalid UTF-8 is a defect there, where
  // toml++ finds it too (it decodes as it goes, so a defect earlier in the text comes first).
  std::size_t character_length() {
    std::size_t n = utf8::sequence_length(text_, pos_);
    if (n == 0) syntax("invalid UTF-8");
    return n;
  }

  // Appends the character at pos_ to `out` and moves past it.
  void take_character(std::string& out) {
    std::size_t n = character_length();
    out.append(text_.substr(pos_, n));
    pos_ += n;
  }

  std::string read_key() {
    char c = peek();
    if (c == '"') {
      ++pos_;
      return basic_body();
    }
    if (c == '\'') {
      ++pos_;
      return literal_body();
    }
    std::string key;
    while (!eof() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_' || peek() == '-')) {
      key += peek();
      ++pos_;
    }
    if (key.empty()) syntax("expected a key");
    return key;
  }

  // A string value, or nullopt if the value is some other kind (it is left unread).
  std::optional<std::string> read_string() {
    if (at("\"\"\"")) {
      pos_ += 3;
      return multiline('"');
    }
    if (at("'''")) {
      pos_ += 3;
      return multiline('\'');
    }
    if (peek() == '"') {
      ++pos_;
      return basic_body();
    }
    if (peek() == '\'') {
      ++pos_;
      return literal_body();
    }
    if (eof() || peek() == '\n' || peek() == '\r' || peek() == '#') syntax("a key without a value");
    return std::nullopt;
  }

  // After the opening quote of a one-line basic string.
  std::string basic_body() {
    std::string out;
    for (;;) {
      if (eof()) syntax("a string without its closing quote");
      char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        escape(out);
      } else {
        if (is_control(c)) syntax("a control character or line break inside a string");
        take_character(out);
      }
    }
  }

  // After the opening quote of a one-line literal string.
  std::string literal_body() {
    std::string out;
    for (;;) {
      if (eof()) syntax("a string without its closing quote");
      char c = peek();
      if (c == '\'') {
        ++pos_;
        return out;
      }
      if (is_control(c)) syntax("a control character or line break inside a string");
      take_character(out);
    }
  }

  // At a backslash inside a basic string.
  void escape(std::string& out) {
    if (const char* wrong = utf8::decode_toml_escape(text_, pos_, out)) syntax(wrong);
  }

  // After the opening triple quote of a multi-line string; `quote` is '"' or '\''.
  std::string multiline(char quote) {
    std::string out;
    end_of_line_inside();  // a line break right after the opening quotes is not part of the value
    for (;;) {
      if (eof()) syntax("a multi-line string without its closing quotes");
      char c = peek();
      if (c == quote && peek(1) == quote && peek(2) == quote) {
        std::size_t n = 3;
        while (peek(n) == quote) ++n;
        if (n > 5) syntax("too many quotes closing a multi-line string");
        out.append(n - 3, quote);
        pos_ += n;
        return out;
      }
      if (end_of_line_inside()) {
        out += '\n';
      } else if (c == '\\' && quote == '"') {
        std::size_t k = 1;
        while (peek(k) == ' ' || peek(k) == '\t') ++k;
        if (peek(k) == '\n' || (peek(k) == '\r' && peek(k + 1) == '\n')) {
          // A line-ending backslash: the line break and all whitespace after it vanish.
          pos_ += k;
          for (;;) {
            if (end_of_line_inside()) continue;
            if (peek() == ' ' || peek() == '\t') {
              ++pos_;
              continue;
            }
            break;
          }
        } else {
          escape(out);
        }
      } else {
        if (is_control(c)) syntax("a control character inside a string");
        take_character(out);
      }
    }
  }

  bool end_of_line_inside() { return !eof() && end_of_line(); }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

}  // namespace

FlatToml parse_flat_toml(std::string_view text) {
  FlatToml result;
  Reader reader(text);
  try {
    reader.parse(result.values);
  } catch (Defect& d) {
    result.outcome = d.outcome;
    result.error = std::move(d.what);
    result.line = reader.line();
    for (auto& [key, value] : result.values) wipe(value.data(), value.size());  // values may be secret
    result.values.clear();
  }
  return result;
}

}  // namespace kpthin::cli
