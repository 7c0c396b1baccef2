#include "channel_keys.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace kpsim {
namespace {

constexpr std::size_t kIndexSize = 104;
constexpr std::size_t kWriteCapSize = 168;
constexpr std::size_t kReadCapSize = 136;
constexpr std::string_view kSeedKey = "kpclientd-sim BACAP stand-in v1";

ByteView view_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

void put_le64(std::uint8_t* out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

std::uint64_t get_le64(const std::uint8_t* in) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | in[i];
  return value;
}

// Blinding factor and encryption key both follow from the HKDF state and the counter, so an
// index fully determines its successor.
BoxIndex complete_index(std::uint64_t counter, const std::array<std::uint8_t, 32>& state) {
  BoxIndex index;
  index.counter = counter;
  index.hkdf_state = state;
  std::uint8_t le[8];
  put_le64(le, counter);
  index.blinding = keyed_hash256(state, "blinding factor", {le, 8});
  index.encryption_key = keyed_hash256(state, "encryption key", {le, 8});
  return index;
}

}  // namespace

std::array<std::uint8_t, 32> hash256(ByteView data) {
  std::array<std::uint8_t, 32> out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

std::array<std::uint8_t, 32> keyed_hash256(ByteView key, std::string_view domain, ByteView data) {
  std::array<std::uint8_t, 32> out{};
  crypto_generichash_state state;
  // BLAKE2b keys are at most 64 bytes; every key used here is 32 bytes or a short constant.
  const std::size_t key_size = std::min<std::size_t>(key.size(), crypto_generichash_KEYBYTES_MAX);
  crypto_generichash_init(&state, key_size ? key.data() : nullptr, key_size, out.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(domain.data()), domain.size());
  crypto_generichash_update(&state, data.data(), data.size());
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

std::optional<BoxIndex> BoxIndex::parse(ByteView bytes) {
  if (bytes.size() != kIndexSize) return std::nullopt;
  BoxIndex index;
  index.counter = get_le64(bytes.data());
  std::memcpy(index.blinding.data(), bytes.data() + 8, 32);
  std::memcpy(index.encryption_key.data(), bytes.data() + 40, 32);
  std::memcpy(index.hkdf_state.data(), bytes.data() + 72, 32);
  return index;
}

Bytes BoxIndex::serialize() const {
  Bytes out(kIndexSize);
  put_le64(out.data(), counter);
  std::memcpy(out.data() + 8, blinding.data(), 32);
  std::memcpy(out.data() + 40, encryption_key.data(), 32);
  std::memcpy(out.data() + 72, hkdf_state.data(), 32);
  return out;
}

BoxIndex BoxIndex::next() const {
  return complete_index(counter + 1, keyed_hash256(hkdf_state, "next state", {}));
}

ChannelKeys derive_channel(ByteView seed) {
  const auto ed_seed = keyed_hash256(view_of(kSeedKey), "ed25519 seed", seed);
  std::uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  std::uint8_t sk[crypto_sign_SECRETKEYBYTES];  // seed || public key, BACAP's 64-byte layout
  crypto_sign_seed_keypair(pk, sk, ed_seed.data());

  // Like BACAP, the first counter is random-looking but keeps headroom below 2^64 (the real
  // code masks high bits for the same reason).
  const auto counter_bytes = keyed_hash256(view_of(kSeedKey), "first counter", seed);
  const std::uint64_t counter = get_le64(counter_bytes.data()) & 0x0fffffffffffffffULL;
  const BoxIndex first = complete_index(counter, keyed_hash256(view_of(kSeedKey), "hkdf state", seed));

  ChannelKeys keys;
  keys.first_index = first.serialize();
  keys.write_cap.assign(sk, sk + sizeof sk);
  keys.write_cap.insert(keys.write_cap.end(), keys.first_index.begin(), keys.first_index.end());
  keys.read_cap.assign(pk, pk + sizeof pk);
  keys.read_cap.insert(keys.read_cap.end(), keys.first_index.begin(), keys.first_index.end());
  sodium_memzero(sk, sizeof sk);
  return keys;
}

std::optional<std::array<std::uint8_t, 32>> write_cap_public_key(ByteView write_cap) {
  if (write_cap.size() != kWriteCapSize) return std::nullopt;
  std::array<std::uint8_t, 32> pk{};
  std::memcpy(pk.data(), write_cap.data() + 32, 32);
  return pk;
}

std::optional<std::array<std::uint8_t, 32>> read_cap_public_key(ByteView read_cap) {
  if (read_cap.size() != kReadCapSize) return std::nullopt;
  std::array<std::uint8_t, 32> pk{};
  std::memcpy(pk.data(), read_cap.data(), 32);
  return pk;
}

std::optional<BoxIndex> write_cap_first_index(ByteView write_cap) {
  if (write_cap.size() != kWriteCapSize) return std::nullopt;
  return BoxIndex::parse(write_cap.subspan(64));
}

BoxId box_id(const std::array<std::uint8_t, 32>& public_key, const BoxIndex& index) {
  return keyed_hash256(index.blinding, "box id", public_key);
}

Bytes seal_payload(ByteView plaintext, const BoxIndex& index, const BoxId& box) {
  Bytes out(plaintext.size());
  if (!plaintext.empty())
    crypto_stream_xchacha20_xor(out.data(), plaintext.data(), plaintext.size(), box.data(),
                                index.encryption_key.data());
  return out;
}

Bytes open_payload(ByteView sealed, const BoxIndex& index, const BoxId& box) {
  return seal_payload(sealed, index, box);  // a stream cipher is its own inverse
}

}  // namespace kpsim
