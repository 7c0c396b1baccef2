#include "cbor_writer.hpp"

#include <bit>
#include <cmath>
#include <cstring>

namespace kpsim {

void CborWriter::head(std::uint8_t major, std::uint64_t value) {
  const std::uint8_t m = static_cast<std::uint8_t>(major << 5);
  if (value < 24) {
    out_.push_back(static_cast<std::uint8_t>(m | value));
    return;
  }
  int width;
  if (value <= 0xff) { out_.push_back(m | 24); width = 1; }
  else if (value <= 0xffff) { out_.push_back(m | 25); width = 2; }
  else if (value <= 0xffffffffULL) { out_.push_back(m | 26); width = 4; }
  else { out_.push_back(m | 27); width = 8; }
  for (int i = width - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

CborWriter& CborWriter::bytes(kpthin::ByteView value) {
  head(2, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
  return *this;
}

CborWriter& CborWriter::text(std::string_view value) {
  head(3, value.size());
  out_.insert(out_.end(), value.begin(), value.end());
  return *this;
}

CborWriter& CborWriter::raw(kpthin::ByteView item) {
  out_.insert(out_.end(), item.begin(), item.end());
  return *this;
}

CborWriter& CborWriter::float64(double value) {
  const auto bits = std::bit_cast<std::uint64_t>(value);
  out_.push_back(0xfb);
  for (int i = 7; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  return *this;
}

CborWriter& CborWriter::float_shortest(double value) {
  const float as_float = static_cast<float>(value);
  if (std::isnan(value) || static_cast<double>(as_float) != value) return float64(value);
  const auto bits = std::bit_cast<std::uint32_t>(as_float);
  const std::uint32_t sign = bits >> 31;
  const int exponent = static_cast<int>((bits >> 23) & 0xff) - 127;
  const std::uint32_t mantissa = bits & 0x7fffff;
  // Half precision holds normal numbers with exponent -14..15 and 10 mantissa bits, and zero.
  const bool is_zero = (bits & 0x7fffffff) == 0;
  if (is_zero || (exponent >= -14 && exponent <= 15 && (mantissa & 0x1fff) == 0)) {
    std::uint16_t half = static_cast<std::uint16_t>(sign << 15);
    if (!is_zero)
      half |= static_cast<std::uint16_t>(((exponent + 15) << 10) | (mantissa >> 13));
    out_.push_back(0xf9);
    out_.push_back(static_cast<std::uint8_t>(half >> 8));
    out_.push_back(static_cast<std::uint8_t>(half));
    return *this;
  }
  out_.push_back(0xfa);
  for (int i = 3; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  return *this;
}

}  // namespace kpsim
