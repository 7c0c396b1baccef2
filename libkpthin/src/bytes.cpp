#include "kpthin/bytes.hpp"

#include <sodium.h>

#include <cstdlib>

#include "sodium_once.hpp"

namespace kpthin {

namespace detail {

void ensure_sodium() {
  static const bool initialised = [] {
    if (sodium_init() < 0) std::abort();
    return true;
  }();
  (void)initialised;
}

}  // namespace detail

void wipe(void* data, std::size_t size) {
  if (data == nullptr || size == 0) return;
  sodium_memzero(data, size);  // needs no sodium_init(): it keeps no state
}

namespace {

// Wipes the whole allocation (capacity, not just size): shrinking a vector leaves old bytes
// beyond size() that still belong to the buffer.
void wipe_vector(Bytes& bytes) {
  if (bytes.capacity() == 0) return;
  bytes.resize(bytes.capacity());
  wipe(bytes.data(), bytes.size());
  bytes.clear();
}

}  // namespace

SecretBytes::SecretBytes(ByteView bytes) : bytes_(bytes.begin(), bytes.end()) {}

SecretBytes::SecretBytes(Bytes&& bytes) : bytes_(std::move(bytes)) { bytes.clear(); }

SecretBytes::SecretBytes(const SecretBytes& other) : bytes_(other.bytes_) {}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this == &other) return *this;
  wipe_vector(bytes_);
  bytes_.shrink_to_fit();
  bytes_ = other.bytes_;
  return *this;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this == &other) return *this;
  wipe_vector(bytes_);
  bytes_ = std::move(other.bytes_);
  other.bytes_.clear();
  return *this;
}

SecretBytes::~SecretBytes() { wipe_vector(bytes_); }

void SecretBytes::clear() { wipe_vector(bytes_); }

bool operator==(const SecretBytes& a, const SecretBytes& b) {
  if (a.bytes_.size() != b.bytes_.size()) return false;
  if (a.bytes_.empty()) return true;
  return sodium_memcmp(a.bytes_.data(), b.bytes_.data(), a.bytes_.size()) == 0;
}

std::string to_hex(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

bool from_hex(std::string_view hex, Bytes& out) {
  if (hex.size() % 2 != 0) return false;
  Bytes result;
  result.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]);
    int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    result.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  out = std::move(result);
  return true;
}

std::string to_base64(ByteView bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), kVariant);
  out.resize(out.size() - 1);  // drop the terminating NUL libsodium writes
  return out;
}

bool from_base64(std::string_view text, Bytes& out) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  Bytes result(text.size() / 4 * 3 + 3);
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(result.data(), result.size(), text.data(), text.size(), nullptr, &length,
                        &end, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return false;
  }
  if (end != text.data() + text.size()) return false;  // stopped early: not all base64
  result.resize(length);
  out = std::move(result);
  return true;
}

}  // namespace kpthin
