// Private CBOR layer, reading side: a strict one-pass check of a whole input (validate), then
// allocation-free reads of the checked bytes (Head, skip, string contents). Replies are decoded
// with these straight into the typed structs; the value tree of cbor_value.hpp is built on them
// too, so both apply the same rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cbor_value.hpp"
#include "kpthin/bytes.hpp"
#include "kpthin/status.hpp"

namespace kpthin::cbor {

// Checks that `input` is exactly one well-formed data item within `limits`, under the rules of
// cbor::decode (tags, reserved and unassigned simple values rejected; text strictly UTF-8,
// chunk by chunk; declared lengths never beyond the bytes left). Errors are
// local_errc::malformed_message naming the byte offset, as decode() reports them.
Status validate(ByteView input, const DecodeLimits& limits = {});

// The head of one item of validated input.
struct Head {
  Kind kind = Kind::kNull;
  bool indefinite = false;    // strings, arrays and maps opened with additional information 31
  std::uint64_t argument = 0; // integers: the value (n for -1 - n); strings: length; arrays:
                              // elements; maps: pairs; bools: 0 or 1
  double real = 0;            // floats
  std::size_t size = 0;       // bytes of the head itself
};

namespace detail {
// Floats and simple values (major type 7): kind and value. Out of line; rare in replies.
void read_simple(unsigned info, Head& head);
inline std::uint64_t big_endian(const std::uint8_t* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}
}  // namespace detail

// Reads the head at `offset` of validated `input`. Inline: the readers call it for every key.
inline Head read_head(ByteView input, std::size_t offset) {
  const std::uint8_t* p = input.data() + offset;
  const unsigned major = p[0] >> 5;
  const unsigned info = p[0] & 0x1f;
  Head h;
  if (info < 24) {
    h.argument = info;
    h.size = 1;
  } else if (info == 31) {
    h.indefinite = true;
    h.size = 1;
  } else {
    const std::size_t n = std::size_t{1} << (info - 24);
    h.argument = detail::big_endian(p + 1, n);
    h.size = 1 + n;
  }
  static constexpr Kind kByMajor[] = {Kind::kUnsigned, Kind::kNegative, Kind::kBytes, Kind::kText,
                                      Kind::kArray,    Kind::kMap,      Kind::kNull,  Kind::kNull};
  h.kind = kByMajor[major];
  if (major == 7) {
    // false, true, null, undefined inline (nulls fill every reply envelope); floats out of line.
    if (info >= 20 && info <= 23) {
      static constexpr Kind kSimple[] = {Kind::kBool, Kind::kBool, Kind::kNull, Kind::kUndefined};
      h.kind = kSimple[info - 20];
      if (info <= 21) h.argument = info - 20;
    } else {
      detail::read_simple(info, h);
    }
  }
  return h;
}

// The offset just past the item starting at `offset` of validated input.
std::size_t skip_container(ByteView input, std::size_t offset, const Head& head);
inline std::size_t skip(ByteView input, std::size_t offset) {
  const Head h = read_head(input, offset);
  if ((h.kind == Kind::kBytes || h.kind == Kind::kText) && !h.indefinite) {
    return offset + h.size + static_cast<std::size_t>(h.argument);
  }
  if (h.kind == Kind::kBytes || h.kind == Kind::kText || h.kind == Kind::kArray || h.kind == Kind::kMap) {
    return skip_container(input, offset, h);
  }
  return offset + h.size;
}

// Whether a byte string or text string item of validated input is in one piece; its contents
// are then input[offset + head.size, + head.argument).
inline bool contiguous(const Head& head) { return !head.indefinite; }

// Appends the contents of the (byte or text) string item at `offset` to `out`, chunks joined.
void append_string(ByteView input, std::size_t offset, Bytes& out);
void append_string(ByteView input, std::size_t offset, std::string& out);

// The total length of the string item at `offset` (chunks summed).
std::size_t string_length(ByteView input, std::size_t offset);

}  // namespace kpthin::cbor
