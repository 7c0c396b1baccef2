#include "toml_reader.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "kpthin/bytes.hpp"
#include "kpthin/utf8.hpp"

namespace kpthin::detail {

TomlNode* TomlNode::find(std::string_view key) const {
  for (const auto& [name, node] : members) {
    if (name == key) return node.get();
  }
  return nullptr;
}

const char* TomlNode::kind_name() const {
  switch (kind) {
    case Kind::kTable: return "a table";
    case Kind::kArray: return "an array";
    case Kind::kString: return "a string";
    case Kind::kInteger: return "an integer";
    case Kind::kFloat: return "a float";
    case Kind::kBoolean: return "a boolean";
  }
  return "nothing";
}

namespace {

using Kind = TomlNode::Kind;

constexpr int kMaxDepth = 32;

// A defect: unwinds the reader to read_toml, which records it with the current line.
struct Defect {
  std::string what;
  bool unsupported = false;  // TOML allows it, this reader does not (TomlDocument::unsupported)
};

[[noreturn]] void defect(std::string what) { throw Defect{std::move(what)}; }
[[noreturn]] void unsupported(std::string what) { throw Defect{std::move(what), true}; }

bool is_digit(char c, int base) {
  if (base == 16) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  return c >= '0' && c < static_cast<char>('0' + base);
}

// Whether `s` is one or more digits of `base`, single underscores only between digits.
bool digits(std::string_view s, int base) {
  if (s.empty() || !is_digit(s.front(), base) || !is_digit(s.back(), base)) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (!is_digit(s[i + 1], base)) return false;
    } else if (!is_digit(s[i], base)) {
      return false;
    }
  }
  return true;
}

// Whether the digits fit a signed 64-bit integer (TOML refuses the others).
bool fits_int64(std::string_view s, int base, bool negative) {
  const std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  std::uint64_t value = 0;
  for (char c : s) {
    if (c == '_') continue;
    const auto d = static_cast<std::uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    if (value > (limit - d) / static_cast<std::uint64_t>(base)) return false;
    value = value * static_cast<std::uint64_t>(base) + d;
  }
  return true;
}

// The kind of a bare value token (a number or a boolean); throws for anything else.
Kind bare_value_kind(std::string_view token) {
  if (token == "true" || token == "false") return Kind::kBoolean;
  // toml++ refuses long digit strings even when the value fits (0x followed by 200 zeros);
  // no thinclient.toml has a number at all, so long ones are refused here whatever they hold.
  if (token.size() > 24) unsupported("a number longer than kpthin reads");
  std::string_view body = token;
  const bool negative = !body.empty() && body.front() == '-';
  const bool sign = !body.empty() && (body.front() == '+' || body.front() == '-');
  if (sign) body.remove_prefix(1);
  if (body == "inf" || body == "nan") return Kind::kFloat;
  // A word where a value belongs is most likely a string someone wrote without its quotes.
  if (!body.empty() && (body.front() | 0x20) >= 'a' && (body.front() | 0x20) <= 'z') {
    defect("a word that is not a value (a string needs quotes)");
  }
  if (!sign && body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'o' || body[1] == 'b')) {
    const int base = body[1] == 'x' ? 16 : body[1] == 'o' ? 8 : 2;
    body.remove_prefix(2);
    if (!digits(body, base)) defect("a malformed number");
    if (!fits_int64(body, base, false)) defect("an integer too large for 64 bits");
    return Kind::kInteger;
  }
  const std::size_t int_end = body.find_first_of(".eE");
  const std::string_view whole = body.substr(0, int_end);
  const bool whole_ok = digits(whole, 10) && (whole.size() == 1 || whole[0] != '0');
  if (int_end == std::string_view::npos) {
    if (!whole_ok) {
      if (token.find_first_of(":") != std::string_view::npos || token.find('-', 1) != std::string_view::npos) {
        unsupported("a date or time; kpthin reads none in this file");
      }
      defect("a value that is not a string, number, boolean, array or table");
    }
    if (!fits_int64(whole, 10, negative)) defect("an integer too large for 64 bits");
    return Kind::kInteger;
  }
  if (!whole_ok) defect("a malformed number");
  std::string_view rest = body.substr(int_end);
  if (rest.front() == '.') {
    const std::size_t frac_end = rest.find_first_of("eE");
    if (!digits(rest.substr(1, frac_end == std::string_view::npos ? std::string_view::npos : frac_end - 1), 10)) {
      defect("a malformed number");
    }
    rest = frac_end == std::string_view::npos ? std::string_view{} : rest.substr(frac_end);
  }
  if (!rest.empty()) {
    rest.remove_prefix(1);  // e or E
    if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) rest.remove_prefix(1);
    if (!digits(rest, 10)) defect("a malformed number");
  }
  // toml++ refuses a float a double cannot hold (5e445); refusing underflow too is stricter still.
  std::string plain;
  for (char c : token)
    if (c != '_') plain += c;
  errno = 0;
  (void)std::strtod(plain.c_str(), nullptr);
  if (errno == ERANGE) defect("a float out of range");
  return Kind::kFloat;
}

std::unique_ptr<TomlNode> make_node(Kind kind, std::size_t line) {
  auto node = std::make_unique<TomlNode>();
  node->kind = kind;
  node->line = line;
  return node;
}

TomlNode* add(TomlNode& parent, std::string key, std::unique_ptr<TomlNode> node) {
  parent.members.emplace_back(std::move(key), std::move(node));
  return parent.members.back().second.get();
}

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  std::size_t line() const { return line_; }

  void parse(TomlNode& root) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    TomlNode* current = &root;
    while (!eof()) {
      skip_spaces();
      if (end_of_line()) continue;
      if (peek() == '#') {
        comment();
        continue;
      }
      if (peek() == '[') {
        current = header(root);
      } else {
        key_value(*current, 0);
      }
      end_of_statement();
    }
  }

 private:
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
    const std::size_t n = at("\r\n") ? 2 : peek() == '\n' ? 1 : 0;
    if (n == 0) return false;
    pos_ += n;
    ++line_;
    return true;
  }

  // After a header or a key/value line: blanks, maybe a comment, then the line end.
  void end_of_statement() {
    skip_spaces();
    if (peek() == '#') {
      comment();
    } else if (!end_of_line()) {
      defect("unexpected text after the end of the line's key and value or header");
    }
  }

  // At '#': consumes the comment and its line end.
  void comment() {
    for (++pos_; !end_of_line(); pos_ += character_length()) {
      if (is_control(peek())) defect("a control character in a comment");
    }
  }

  std::size_t character_length() {
    const std::size_t n = utf8::sequence_length(text_, pos_);
    if (n == 0) defect("invalid UTF-8");
    return n;
  }

  void take_character(std::string& out) {
    const std::size_t n = character_length();
    out.append(text_.substr(pos_, n));
    pos_ += n;
  }

  // A key and its dotted continuations: `a . "b" . 'c'`.
  std::vector<std::string> dotted_key() {
    std::vector<std::string> keys{simple_key()};
    for (;;) {
      skip_spaces();
      if (peek() != '.') return keys;
      ++pos_;
      skip_spaces();
      keys.push_back(simple_key());
    }
  }

  std::string simple_key() {
    if (peek() == '"' && !at("\"\"\"")) {
      ++pos_;
      return basic_body();
    }
    if (peek() == '\'' && !at("'''")) {
      ++pos_;
      return literal_body();
    }
    std::string key;
    for (char c = peek(); (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         c = peek()) {
      key += c;
      ++pos_;
    }
    if (key.empty()) defect("expected a key");
    return key;
  }

  // At '[': a [table] or [[array of tables]] header; returns the table that follows it.
  TomlNode* header(TomlNode& root) {
    const bool array = at("[[");
    pos_ += array ? 2 : 1;
    skip_spaces();
    const std::vector<std::string> keys = dotted_key();
    if (!at(array ? "]]" : "]")) defect(array ? "expected ']]' to close the header" : "expected ']' to close the header");
    pos_ += array ? 2 : 1;
    TomlNode* table = &root;
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) table = parent_for_header(*table, keys[i]);
    const std::string& name = keys.back();
    TomlNode* existing = table->find(name);
    if (array) {
      if (existing == nullptr) existing = add(*table, name, make_node(Kind::kArray, line_));
      if (existing->kind != Kind::kArray || existing->frozen) defect("\"" + name + "\" is already defined as something else");
      TomlNode* element = add(*existing, "", make_node(Kind::kTable, line_));
      element->header = true;
      return element;
    }
    if (existing == nullptr) {
      existing = add(*table, name, make_node(Kind::kTable, line_));
    } else if (existing->kind != Kind::kTable || !existing->implicit) {
      defect("the table \"" + name + "\" is defined twice");
    }
    existing->implicit = false;
    existing->header = true;
    existing->line = line_;
    return existing;
  }

  // The table a header's leading key names inside `table`, created if missing.
  TomlNode* parent_for_header(TomlNode& table, const std::string& key) {
    TomlNode* child = table.find(key);
    if (child == nullptr) {
      child = add(table, key, make_node(Kind::kTable, line_));
      child->implicit = true;
      return child;
    }
    if (child->kind == Kind::kTable && !child->frozen) return child;
    if (child->kind == Kind::kArray && !child->frozen && !child->members.empty()) return child->members.back().second.get();
    defect("\"" + key + "\" is already defined and is not a table");
  }

  // `key = value` into `table` (a dotted key defines the tables it names).
  void key_value(TomlNode& table, int depth) {
    const std::size_t line = line_;
    const std::vector<std::string> keys = dotted_key();
    skip_spaces();
    if (peek() != '=') defect("expected '=' after the key \"" + keys.back() + "\"");
    ++pos_;
    skip_spaces();
    std::unique_ptr<TomlNode> value = read_value(depth);
    TomlNode* target = &table;
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
      TomlNode* child = target->find(keys[i]);
      if (child == nullptr) {
        child = add(*target, keys[i], make_node(Kind::kTable, line));
        child->dotted = true;
      } else if (child->kind != Kind::kTable || !child->dotted || child->frozen) {
        defect("\"" + keys[i] + "\" is already defined; a dotted key cannot add to it");
      }
      target = child;
    }
    if (target->find(keys.back()) != nullptr) defect("the key \"" + keys.back() + "\" is defined twice");
    value->line = line;
    add(*target, keys.back(), std::move(value));
  }

  std::unique_ptr<TomlNode> read_value(int depth) {
    const std::size_t line = line_;
    auto string_node = [&](std::string s) {
      auto node = make_node(Kind::kString, line);
      node->string = std::move(s);
      return node;
    };
    if (at("\"\"\"")) {
      pos_ += 3;
      return string_node(multiline('"'));
    }
    if (at("'''")) {
      pos_ += 3;
      return string_node(multiline('\''));
    }
    if (peek() == '"') {
      ++pos_;
      return string_node(basic_body());
    }
    if (peek() == '\'') {
      ++pos_;
      return string_node(literal_body());
    }
    if (peek() == '[' || peek() == '{') {
      if (depth >= kMaxDepth) unsupported("arrays or inline tables nested too deeply");
      return peek() == '[' ? array(depth + 1) : inline_table(depth + 1);
    }
    std::size_t end = pos_;
    while (end < text_.size()) {
      const char c = text_[end];
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
            c == '+' || c == '.' || c == ':')) {
        break;
      }
      ++end;
    }
    if (end == pos_) defect(eof() || peek() == '\n' || peek() == '\r' || peek() == '#' ? "a key without a value" : "expected a value");
    const Kind kind = bare_value_kind(text_.substr(pos_, end - pos_));
    pos_ = end;
    return make_node(kind, line);
  }

  // Blanks, line breaks and comments between the items of an array.
  void skip_array_space() {
    for (;;) {
      skip_spaces();
      if (eof()) defect("an array without its closing ']'");
      if (peek() == '#') {
        comment();
      } else if (!end_of_line()) {
        return;
      }
    }
  }

  std::unique_ptr<TomlNode> array(int depth) {
    auto node = make_node(Kind::kArray, line_);
    node->frozen = true;
    ++pos_;
    for (;;) {
      skip_array_space();
      if (peek() == ']') break;
      add(*node, "", read_value(depth));
      skip_array_space();
      if (peek() == ']') break;
      if (peek() != ',') defect("expected ',' or ']' in an array");
      ++pos_;
    }
    ++pos_;
    return node;
  }

  std::unique_ptr<TomlNode> inline_table(int depth) {
    auto node = make_node(Kind::kTable, line_);
    ++pos_;
    skip_spaces();
    if (peek() != '}') {
      for (;;) {
        key_value(*node, depth);
        skip_spaces();
        if (peek() == '}') break;
        if (peek() != ',') defect("expected ',' or '}' in an inline table (it must fit on one line)");
        ++pos_;
        skip_spaces();
      }
    }
    ++pos_;
    freeze(*node);
    return node;
  }

  // An inline table and the tables its dotted keys made cannot be extended later.
  static void freeze(TomlNode& table) {
    table.frozen = true;
    for (auto& [key, child] : table.members) {
      if (child->kind == Kind::kTable && child->dotted) freeze(*child);
    }
  }

  // After the opening quote of a one-line basic string.
  std::string basic_body() {
    std::string out;
    for (;;) {
      if (eof()) defect("a string without its closing quote");
      const char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        escape(out);
      } else {
        if (is_control(c)) defect("a control character or line break inside a string");
        take_character(out);
      }
    }
  }

  // After the opening quote of a one-line literal string.
  std::string literal_body() {
    std::string out;
    for (;;) {
      if (eof()) defect("a string without its closing quote");
      const char c = peek();
      if (c == '\'') {
        ++pos_;
        return out;
      }
      if (is_control(c)) defect("a control character or line break inside a string");
      take_character(out);
    }
  }

  // At a backslash inside a basic string.
  void escape(std::string& out) {
    if (const char* wrong = utf8::decode_toml_escape(text_, pos_, out)) defect(wrong);
  }

  // After the opening triple quote of a multi-line string; `quote` is '"' or '\''.
  std::string multiline(char quote) {
    std::string out;
    end_of_line_inside();  // a line break right after the opening quotes is not part of the value
    for (;;) {
      if (eof()) defect("a multi-line string without its closing quotes");
      const char c = peek();
      if (c == quote && peek(1) == quote && peek(2) == quote) {
        std::size_t n = 3;
        while (peek(n) == quote) ++n;
        if (n > 5) defect("too many quotes closing a multi-line string");
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
            if (peek() != ' ' && peek() != '\t') break;
            ++pos_;
          }
        } else {
          escape(out);
        }
      } else {
        if (is_control(c)) defect("a control character inside a string");
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

void wipe_strings(TomlNode& node) {
  wipe(node.string.data(), node.string.size());
  for (auto& [key, child] : node.members) {
    wipe(key.data(), key.size());
    wipe_strings(*child);
  }
}

TomlDocument read_toml(std::string_view text) {
  TomlDocument doc;
  Reader reader(text);
  try {
    reader.parse(doc.root);
    doc.ok = true;
  } catch (Defect& d) {
    wipe_strings(doc.root);
    doc.root.members.clear();
    doc.error = std::move(d.what);
    doc.unsupported = d.unsupported;
    doc.line = reader.line();
  }
  return doc;
}

}  // namespace kpthin::detail
