// A deterministic stand-in for BACAP (spec §1.5, §7.1): write caps, read caps and message box
// indices with the real sizes and layouts, derived from a 32-byte seed with keyed BLAKE2b and
// Ed25519 (libsodium). It is not BACAP's cryptography, but it keeps BACAP's observable
// relations: the same seed gives the same caps, a read cap shares its write cap's index and
// carries the public key derived from the write cap's secret, the next index is a function of
// the index alone, and an index's counter is its first 8 bytes little-endian.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "kpthin/bytes.hpp"

namespace kpsim {

using kpthin::Bytes;
using kpthin::ByteView;

using BoxId = std::array<std::uint8_t, 32>;

// Layout of the 104-byte index: Idx64 (LE) || blinding factor || encryption key || HKDF state.
struct BoxIndex {
  std::uint64_t counter = 0;
  std::array<std::uint8_t, 32> blinding{};
  std::array<std::uint8_t, 32> encryption_key{};
  std::array<std::uint8_t, 32> hkdf_state{};

  static std::optional<BoxIndex> parse(ByteView bytes);  // nullopt unless exactly 104 bytes
  Bytes serialize() const;
  BoxIndex next() const;
};

struct ChannelKeys {
  Bytes write_cap;  // 168: Ed25519 secret key (seed || public key) || first index
  Bytes read_cap;   // 136: Ed25519 public key || first index
  Bytes first_index;
};

// Deterministic in the seed (any length; the daemon insists on 32, callers check that).
ChannelKeys derive_channel(ByteView seed);

// The channel public key carried by a cap (bytes 32..64 of a write cap, 0..32 of a read cap);
// nullopt when the cap has the wrong size.
std::optional<std::array<std::uint8_t, 32>> write_cap_public_key(ByteView write_cap);
std::optional<std::array<std::uint8_t, 32>> read_cap_public_key(ByteView read_cap);
// The index embedded in a cap (the channel's first box).
std::optional<BoxIndex> write_cap_first_index(ByteView write_cap);

// The box a (channel public key, index) pair addresses: the "blinded public key" of BACAP,
// modelled as BLAKE2b-256 keyed with the index's blinding factor over the public key.
BoxId box_id(const std::array<std::uint8_t, 32>& public_key, const BoxIndex& index);

// Symmetric sealing of a box payload under the index's encryption key (XChaCha20, nonce from
// the box id). Sealing is deterministic so that rewriting a box with the same plaintext yields
// the same stored bytes, which is what makes idempotent writes recognisable.
Bytes seal_payload(ByteView plaintext, const BoxIndex& index, const BoxId& box);
Bytes open_payload(ByteView sealed, const BoxIndex& index, const BoxId& box);

// Unkeyed BLAKE2b-256, and BLAKE2b-256 keyed with `key` over domain || data.
std::array<std::uint8_t, 32> hash256(ByteView data);
std::array<std::uint8_t, 32> keyed_hash256(ByteView key, std::string_view domain, ByteView data);

}  // namespace kpsim
