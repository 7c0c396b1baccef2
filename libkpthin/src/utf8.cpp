#include "kpthin/utf8.hpp"

namespace kpthin::utf8 {

void append(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
    return;
  }
  const int extra = cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
  static constexpr unsigned char kLead[] = {0, 0xC0, 0xE0, 0xF0};
  out += static_cast<char>(kLead[extra] | (cp >> (6 * extra)));
  for (int k = extra - 1; k >= 0; --k) out += static_cast<char>(0x80 | ((cp >> (6 * k)) & 0x3F));
}

const char* decode_toml_escape(std::string_view text, std::size_t& pos, std::string& out) {
  auto peek = [&](std::size_t at) { return at < text.size() ? text[at] : '\0'; };
  const char e = peek(pos + 1);
  pos += 2;
  switch (e) {
    case 'b': out += '\b'; return nullptr;
    case 't': out += '\t'; return nullptr;
    case 'n': out += '\n'; return nullptr;
    case 'f': out += '\f'; return nullptr;
    case 'r': out += '\r'; return nullptr;
    case '"': out += '"'; return nullptr;
    case '\\': out += '\\'; return nullptr;
    case 'u':
    case 'U': {
      const std::size_t count = e == 'u' ? 4 : 8;
      std::uint32_t cp = 0;
      for (std::size_t k = 0; k < count; ++k, ++pos) {
        const char h = peek(pos);
        const int v = h >= '0' && h <= '9' ? h - '0'
                      : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                             : -1;
        if (v < 0) return "a \\u escape needs hex digits";
        // Checked before the next digit, so eight digits cannot overflow.
        if (cp > 0x10FFFF) return "a \\U escape beyond U+10FFFF";
        cp = cp * 16 + static_cast<std::uint32_t>(v);
      }
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return "an escape that is no Unicode scalar value";
      append(out, cp);
      return nullptr;
    }
    default: return "an unknown escape sequence in a string";
  }
}

}  // namespace kpthin::utf8
