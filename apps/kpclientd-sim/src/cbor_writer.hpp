// A tiny streaming CBOR encoder for what the simulator builds itself (the PKI document, its
// certificate wrapper, envelope descriptors). Definite lengths only, shortest heads, floats in
// the shortest width that preserves the value (as Go's canonical mode writes the first PKI
// document) or always as float64 (Go's default mode).
#pragma once

#include <cstdint>
#include <string_view>

#include "kpthin/bytes.hpp"

namespace kpsim {

class CborWriter {
 public:
  CborWriter& uint(std::uint64_t value) { head(0, value); return *this; }
  CborWriter& bytes(kpthin::ByteView value);
  CborWriter& text(std::string_view value);
  CborWriter& array(std::uint64_t count) { head(4, count); return *this; }
  CborWriter& map(std::uint64_t count) { head(5, count); return *this; }
  CborWriter& boolean(bool value) { out_.push_back(value ? 0xf5 : 0xf4); return *this; }
  CborWriter& null() { out_.push_back(0xf6); return *this; }
  CborWriter& float_shortest(double value);
  CborWriter& float64(double value);
  // Appends an already encoded item.
  CborWriter& raw(kpthin::ByteView item);

  kpthin::Bytes take() { return std::move(out_); }

 private:
  void head(std::uint8_t major, std::uint64_t value);
  kpthin::Bytes out_;
};

}  // namespace kpsim
