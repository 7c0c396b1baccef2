#include "cbor_value.hpp"

#include <cstring>
#include <string>

#include "cbor_reader.hpp"

namespace kpthin::cbor {

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kUnsigned: return "unsigned integer";
    case Kind::kNegative: return "negative integer";
    case Kind::kBytes: return "byte string";
    case Kind::kText: return "text string";
    case Kind::kArray: return "array";
    case Kind::kMap: return "map";
    case Kind::kBool: return "boolean";
    case Kind::kNull: return "null";
    case Kind::kUndefined: return "undefined";
    case Kind::kFloat: return "float";
  }
  return "unknown";
}

namespace {

Value build(ByteView input, std::size_t& offset) {
  const Head h = read_head(input, offset);
  Value v;
  v.kind = h.kind;
  switch (h.kind) {
    case Kind::kUnsigned:
    case Kind::kNegative: v.number = h.argument; break;
    case Kind::kBool: v.boolean = h.argument != 0; break;
    case Kind::kFloat: v.real = h.real; break;
    case Kind::kBytes:
    case Kind::kText:
      append_string(input, offset, v.data);
      offset = skip(input, offset);
      return v;
    case Kind::kArray:
    case Kind::kMap: {
      offset += h.size;
      if (h.indefinite) {
        while (input[offset] != 0xff) v.items.push_back(build(input, offset));
        ++offset;
        return v;
      }
      // validate() bounded the count by the bytes left.
      const std::uint64_t count = h.kind == Kind::kMap ? h.argument * 2 : h.argument;
      v.items.reserve(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i) v.items.push_back(build(input, offset));
      return v;
    }
    case Kind::kNull:
    case Kind::kUndefined: break;
  }
  offset += h.size;
  return v;
}

}  // namespace

Result<Value> decode(ByteView input, const DecodeLimits& limits) {
  if (Status s = validate(input, limits); !s.ok()) return s;
  return materialize(input, 0);
}

Value materialize(ByteView validated, std::size_t offset) { return build(validated, offset); }

// ---------------------------------------------------------------------------------------------

void Writer::head(std::uint8_t major, std::uint64_t argument) {
  const auto type = static_cast<std::uint8_t>(major << 5);
  std::uint8_t buf[9];
  std::size_t n;
  if (argument < 24) {
    buf[0] = static_cast<std::uint8_t>(type | argument);
    n = 1;
  } else if (argument <= 0xff) {
    buf[0] = type | 24;
    n = 2;
  } else if (argument <= 0xffff) {
    buf[0] = type | 25;
    n = 3;
  } else if (argument <= 0xffffffff) {
    buf[0] = type | 26;
    n = 5;
  } else {
    buf[0] = type | 27;
    n = 9;
  }
  for (std::size_t i = 1; i < n; ++i) buf[i] = static_cast<std::uint8_t>(argument >> (8 * (n - 1 - i)));
  out_.insert(out_.end(), buf, buf + n);
}

void Writer::uint(std::uint64_t value) { head(0, value); }

void Writer::negative(std::uint64_t n) { head(1, n); }

void Writer::bytes(ByteView value) {
  head(2, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
}

void Writer::text(std::string_view value) {
  head(3, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
}

void Writer::array(std::size_t size) { head(4, size); }

void Writer::map(std::size_t pairs) { head(5, pairs); }

void Writer::boolean(bool value) { out_.push_back(value ? 0xf5 : 0xf4); }

void Writer::null() { out_.push_back(0xf6); }

void Writer::float16(float value) {
  // Truncating conversion as libcbor's encoder does it; NaN becomes the canonical 0x7e00.
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const auto sign = static_cast<std::uint16_t>((bits & 0x80000000u) >> 16);
  const auto exponent = static_cast<int>((bits & 0x7f800000u) >> 23);
  const std::uint32_t mantissa = bits & 0x7fffffu;
  std::uint16_t half;
  if (exponent == 0xff) {
    half = value != value ? std::uint16_t{0x7e00} : static_cast<std::uint16_t>(sign | 0x7c00);
  } else if (exponent == 0) {
    half = static_cast<std::uint16_t>(sign | mantissa >> 13);
  } else {
    const int logical = exponent - 127;
    if (logical < -24) half = 0;
    else if (logical < -14) half = static_cast<std::uint16_t>(sign | 1u << (24 + logical));
    else half = static_cast<std::uint16_t>(sign | (static_cast<unsigned>(logical + 15) & 0xffu) << 10 | mantissa >> 13);
  }
  const std::uint8_t buf[3] = {0xf9, static_cast<std::uint8_t>(half >> 8), static_cast<std::uint8_t>(half)};
  out_.insert(out_.end(), buf, buf + 3);
}

void Writer::float32(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  out_.push_back(0xfa);
  for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(bits >> shift));
}

void Writer::float64(double value) {
  std::uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  out_.push_back(0xfb);
  for (int shift = 56; shift >= 0; shift -= 8) out_.push_back(static_cast<std::uint8_t>(bits >> shift));
}

void Writer::value(const Value& v) {
  switch (v.kind) {
    case Kind::kUnsigned: uint(v.number); break;
    case Kind::kNegative: negative(v.number); break;
    case Kind::kBytes: bytes(v.data); break;
    case Kind::kText: text(v.text()); break;
    case Kind::kArray:
      array(v.items.size());
      for (const Value& item : v.items) value(item);
      break;
    case Kind::kMap:
      map(v.map_size());
      for (const Value& item : v.items) value(item);
      break;
    case Kind::kBool: boolean(v.boolean); break;
    case Kind::kNull: null(); break;
    case Kind::kUndefined: out_.push_back(0xf7); break;
    case Kind::kFloat: float64(v.real); break;
  }
}

}  // namespace kpthin::cbor
