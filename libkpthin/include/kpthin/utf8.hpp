// Strict UTF-8, as kpthin's readers of untrusted text accept it (CBOR text strings from the
// daemon, thinclient.toml, channel files): no overlong forms, no surrogates, nothing above
// U+10FFFF, which is what Go's CBOR decoder and toml++ demand. Shared so that the readers agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kpthin::utf8 {

// The length (1 to 4) of the valid UTF-8 sequence the `available` bytes at `p` start with, or 0
// if they start with none (a stray continuation byte, an overlong form, a surrogate, a code point
// past U+10FFFF, or a sequence cut short). `available` must be at least 1. Inline: the CBOR
// reader calls it for every non-ASCII character.
inline std::size_t sequence_length(const unsigned char* p, std::size_t available) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  std::size_t extra;  // continuation bytes
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    extra = 1, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    extra = 2, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    extra = 3, cp = c & 0x07;
  } else {
    return 0;
  }
  if (available <= extra) return 0;
  for (std::size_t k = 1; k <= extra; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (p[k] & 0x3F);
  }
  // Only four bytes can pass U+10FFFF; surrogates take three.
  if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return 0;
  }
  return extra + 1;
}

// sequence_length() of the character at text[i]; `i` must be less than text.size().
inline std::size_t sequence_length(std::string_view text, std::size_t i) noexcept {
  return sequence_length(reinterpret_cast<const unsigned char*>(text.data()) + i, text.size() - i);
}

// Appends the UTF-8 encoding of `cp` to `out`. `cp` must be a Unicode scalar value (at most
// U+10FFFF, not a surrogate); decode_toml_escape() checks that before it calls this.
void append(std::string& out, std::uint32_t cp);

// Decodes the TOML basic-string escape that starts at text[pos] (a backslash): \b \t \n \f \r
// \" \\ and \uXXXX or \UXXXXXXXX naming a Unicode scalar value. On success appends the character
// as UTF-8 to `out`, moves `pos` past the escape and returns nullptr. Otherwise returns what is
// wrong, in words for the reader's error message, with `pos` at the offending character (past
// the escape for a bad code point); `out` is then unchanged.
const char* decode_toml_escape(std::string_view text, std::size_t& pos, std::string& out);

}  // namespace kpthin::utf8
