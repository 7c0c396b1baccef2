// Helpers shared by the wire-layer unit tests: golden vectors and byte patterns.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "kpthin/bytes.hpp"
#include "kpthin/frame.hpp"

namespace kpthin::test {

// Reads tests/golden/<name> (hex, whitespace ignored) as bytes; fails the test if unreadable.
inline Bytes golden(const std::string& name) {
  std::ifstream in(std::string(KPTHIN_GOLDEN_DIR) + "/" + name);
  REQUIRE_MESSAGE(in.good(), "missing golden file " << name);
  std::stringstream text;
  text << in.rdbuf();
  std::string hex;
  for (char c : text.str()) {
    if (!std::isspace(static_cast<unsigned char>(c))) hex.push_back(c);
  }
  Bytes out;
  REQUIRE_MESSAGE(from_hex(hex, out), "bad hex in " << name);
  return out;
}

// The body of a golden frame (checks that the prefix matches the length).
inline Bytes golden_body(const std::string& name) {
  Bytes frame = golden(name);
  REQUIRE(frame.size() >= kFramePrefixSize);
  const std::size_t length = std::size_t{frame[0]} << 24 | std::size_t{frame[1]} << 16 |
                             std::size_t{frame[2]} << 8 | frame[3];
  REQUIRE(length == frame.size() - kFramePrefixSize);
  return Bytes(frame.begin() + kFramePrefixSize, frame.end());
}

// first, first+1, ... (wrapping) — the counting patterns used in spec §11.
template <std::size_t N>
FixedBytes<N> counting(std::uint8_t first) {
  FixedBytes<N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>(first + i);
  return out;
}

inline Bytes counting_bytes(std::size_t n, std::uint8_t first) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(first + i);
  return out;
}

inline Bytes filled(std::size_t n, std::uint8_t value) { return Bytes(n, value); }

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline Bytes unhex(const std::string& hex) {
  Bytes out;
  REQUIRE(from_hex(hex, out));
  return out;
}

}  // namespace kpthin::test
