// Contact vouchers (spec §3.18). The real ones are hpqc crypto whose source is not available;
// the sim keeps their observable contract with simple constructions: the voucher is the
// BLAKE2b-256 of its payload (mismatch -> 28), the sealed reply only opens with the minted
// secret key (failure -> 30), the voucher stream caps follow from the voucher alone, and the
// inductor's mutated read cap corresponds to the joiner's mutated write cap.
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "kpthin/errors.hpp"
#include "simulator_internal.hpp"

namespace kpsim {

using namespace kpthin;

namespace {

constexpr std::uint8_t kInvalidRequest = static_cast<std::uint8_t>(thin_errc::invalid_request);
constexpr std::string_view kPayloadMagic = "KPSV1";

ByteView view_of(std::string_view text) { return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}; }

std::array<std::uint8_t, 32> voucher_public_key(ByteView secret_key) {
  return keyed_hash256(secret_key, "voucher public key", {});
}

ChannelKeys voucher_stream(ByteView voucher) {
  const auto seed = keyed_hash256(view_of("kpclientd-sim voucher"), "stream seed", voucher);
  return derive_channel(seed);
}

// The read cap a write cap corresponds to: its public key and index.
Bytes read_cap_of(ByteView write_cap) { return Bytes(write_cap.begin() + 32, write_cap.end()); }

ChannelKeys mutated_channel(ByteView read_cap, ByteView salt) {
  return derive_channel(keyed_hash256(salt, "mutated channel", read_cap));
}

template <class Reply>
Reply error_with(const std::optional<QueryId>& query_id, std::uint8_t code) {
  Reply reply;
  reply.query_id = query_id;
  reply.error_code = code;
  return reply;
}

}  // namespace

void Simulator::handle(Connection& conn, VoucherMint& r) {
  if (r.message_write_cap.size() != kWriteCapSize) {
    send(conn, error_with<VoucherMintReply>(r.query_id, kInvalidRequest));
    return;
  }
  Bytes secret(32);
  randombytes_buf(secret.data(), secret.size());
  const auto public_key = voucher_public_key(secret);
  // Layout: magic | voucher public key | u16 name length | name | joiner's read cap.
  const Bytes read_cap = read_cap_of(r.message_write_cap.reveal());
  const std::size_t name_size = std::min<std::size_t>(r.display_name.size(), 0xffff);
  Bytes payload(kPayloadMagic.size() + 32 + 2 + name_size + read_cap.size());
  std::uint8_t* out = payload.data();
  std::memcpy(out, kPayloadMagic.data(), kPayloadMagic.size());
  out += kPayloadMagic.size();
  std::memcpy(out, public_key.data(), 32);
  out += 32;
  *out++ = static_cast<std::uint8_t>(name_size >> 8);
  *out++ = static_cast<std::uint8_t>(name_size);
  std::memcpy(out, r.display_name.data(), name_size);
  out += name_size;
  std::memcpy(out, read_cap.data(), read_cap.size());
  const auto voucher = hash256(payload);
  ChannelKeys stream = voucher_stream(voucher);

  VoucherMintReply reply;
  reply.query_id = r.query_id;
  reply.voucher = Bytes(voucher.begin(), voucher.end());
  reply.voucher_payload = std::move(payload);
  reply.voucher_write_cap = SecretBytes(std::move(stream.write_cap));
  reply.voucher_read_cap = std::move(stream.read_cap);
  reply.voucher_secret_key = SecretBytes(std::move(secret));
  reply.voucher_public_key = Bytes(public_key.begin(), public_key.end());
  send(conn, reply);
}

void Simulator::handle(Connection& conn, VoucherInduct& r) {
  if (r.voucher.size() != 32) {
    send(conn, error_with<VoucherInductReply>(r.query_id, kInvalidRequest));
    return;
  }
  const auto digest = hash256(r.voucher_payload);
  if (sodium_memcmp(digest.data(), r.voucher.data(), 32) != 0) {
    send(conn, error_with<VoucherInductReply>(r.query_id, static_cast<std::uint8_t>(thin_errc::voucher_hash_mismatch)));
    return;
  }
  const ByteView payload = r.voucher_payload;
  const std::size_t fixed = kPayloadMagic.size() + 32 + 2;
  if (payload.size() < fixed || std::memcmp(payload.data(), kPayloadMagic.data(), kPayloadMagic.size()) != 0) {
    send(conn, error_with<VoucherInductReply>(r.query_id, kInvalidRequest));
    return;
  }
  const ByteView public_key = payload.subspan(kPayloadMagic.size(), 32);
  const std::size_t name_length = (std::size_t{payload[fixed - 2]} << 8) | payload[fixed - 1];
  if (payload.size() != fixed + name_length + kReadCapSize) {
    send(conn, error_with<VoucherInductReply>(r.query_id, kInvalidRequest));
    return;
  }
  const ByteView read_cap = payload.subspan(fixed + name_length);

  Bytes salt(16);
  randombytes_buf(salt.data(), salt.size());
  // Seal salt || who_reply to the voucher's key; only the minted secret key re-derives it.
  Bytes message = salt;
  message.insert(message.end(), r.who_reply.begin(), r.who_reply.end());
  const auto key = keyed_hash256(public_key, "sealed reply", {});
  Bytes sealed(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + message.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  randombytes_buf(sealed.data(), crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long sealed_length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &sealed_length,
                                             message.data(), message.size(), nullptr, 0, nullptr, sealed.data(), key.data());

  ChannelKeys stream = voucher_stream(r.voucher);
  VoucherInductReply reply;
  reply.query_id = r.query_id;
  reply.display_name.assign(reinterpret_cast<const char*>(payload.data() + fixed), name_length);
  reply.mutated_message_read_cap = mutated_channel(read_cap, salt).read_cap;
  reply.sealed_reply = std::move(sealed);
  reply.voucher_write_cap = SecretBytes(std::move(stream.write_cap));
  reply.voucher_read_cap = std::move(stream.read_cap);
  reply.salt = std::move(salt);
  send(conn, reply);
}

void Simulator::handle(Connection& conn, VoucherOpen& r) {
  const std::size_t overhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (r.voucher_secret_key.size() != 32 || r.message_write_cap.size() != kWriteCapSize) {
    send(conn, error_with<VoucherOpenReply>(r.query_id, kInvalidRequest));
    return;
  }
  const auto public_key = voucher_public_key(r.voucher_secret_key.reveal());
  const auto key = keyed_hash256(public_key, "sealed reply", {});
  Bytes message(r.sealed_reply.size() >= overhead ? r.sealed_reply.size() - overhead : 0);
  unsigned long long message_length = 0;
  if (r.sealed_reply.size() < overhead + 16 ||
      crypto_aead_xchacha20poly1305_ietf_decrypt(message.data(), &message_length, nullptr,
                                                 r.sealed_reply.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                 r.sealed_reply.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                 nullptr, 0, r.sealed_reply.data(), key.data()) != 0) {
    send(conn, error_with<VoucherOpenReply>(r.query_id, static_cast<std::uint8_t>(thin_errc::voucher_seal_open_failed)));
    return;
  }
  const Bytes salt(message.begin(), message.begin() + 16);
  VoucherOpenReply reply;
  reply.query_id = r.query_id;
  reply.who_reply.assign(message.begin() + 16, message.begin() + static_cast<std::ptrdiff_t>(message_length));
  reply.mutated_message_write_cap =
      SecretBytes(std::move(mutated_channel(read_cap_of(r.message_write_cap.reveal()), salt).write_cap));
  reply.salt = salt;
  send(conn, reply);
}

void Simulator::handle(Connection& conn, VoucherDeriveStream& r) {
  if (r.voucher.size() != 32) {
    send(conn, error_with<VoucherDeriveStreamReply>(r.query_id, kInvalidRequest));
    return;
  }
  ChannelKeys stream = voucher_stream(r.voucher);
  VoucherDeriveStreamReply reply;
  reply.query_id = r.query_id;
  reply.voucher_write_cap = SecretBytes(std::move(stream.write_cap));
  reply.voucher_read_cap = std::move(stream.read_cap);
  send(conn, reply);
}

}  // namespace kpsim
