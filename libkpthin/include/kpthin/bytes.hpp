// Byte containers shared by every layer: plain bytes, fixed-size identifiers and secret bytes
// that are wiped when released.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kpthin {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

template <std::size_t N>
using FixedBytes = std::array<std::uint8_t, N>;

using QueryId = FixedBytes<16>;        // chosen by the client per request (spec §6)
using InstanceToken = FixedBytes<16>;  // client_instance_token, daemon instance_token, app_id
using MessageId = FixedBytes<16>;      // legacy send_message id / surbid
using Hash256 = FixedBytes<32>;        // BLAKE2b-256 digests: envelope, write-cap, destination

// Sizes of the opaque BACAP blobs (spec §1.5).
inline constexpr std::size_t kWriteCapSize = 168;
inline constexpr std::size_t kReadCapSize = 136;
inline constexpr std::size_t kMessageBoxIndexSize = 104;
inline constexpr std::size_t kSeedSize = 32;

// A byte buffer holding key material (write caps, seeds, envelope descriptors). Its storage is
// overwritten with zeros (sodium_memzero) whenever it is released, resized away or reassigned.
// It never prints itself; use reveal() deliberately.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(ByteView bytes);
  explicit SecretBytes(Bytes&& bytes);  // takes ownership; the source is left empty
  SecretBytes(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  ByteView reveal() const { return {bytes_.data(), bytes_.size()}; }
  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  void clear();  // wipes, then empties

  // Constant-time comparison (sodium_memcmp) when sizes match.
  friend bool operator==(const SecretBytes& a, const SecretBytes& b);

 private:
  Bytes bytes_;
};

// Zeroes memory in a way the optimiser cannot remove.
void wipe(void* data, std::size_t size);

// Hex helpers for diagnostics and tests ("0a1b..."); from_hex returns false on bad input.
std::string to_hex(ByteView bytes);
bool from_hex(std::string_view hex, Bytes& out);

// Standard base64 with padding (libsodium's ORIGINAL variant); from_base64 ignores surrounding
// whitespace and returns false on anything else that is not base64.
std::string to_base64(ByteView bytes);
bool from_base64(std::string_view text, Bytes& out);

template <std::size_t N>
ByteView view(const FixedBytes<N>& bytes) {
  return {bytes.data(), N};
}
inline ByteView view(const Bytes& bytes) { return {bytes.data(), bytes.size()}; }

}  // namespace kpthin
