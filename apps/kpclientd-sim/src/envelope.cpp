#include "envelope.hpp"

#include <cbor.h>
#include <sodium.h>

#include <cstring>
#include <memory>

#include "cbor_writer.hpp"

namespace kpsim {
namespace {

constexpr std::size_t kHeaderSize = 1 + 1 + 32 + 32 + 4;

void put_be32(Bytes& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

std::uint32_t get_be32(const std::uint8_t* in) {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) | in[3];
}

struct CborItemDeleter {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};

}  // namespace

EncryptedEnvelope make_envelope(EnvelopeKind kind, const BoxId& box, ByteView sealed,
                                std::uint64_t replica_epoch, std::size_t pad_to) {
  std::array<std::uint8_t, 32> envelope_key{};
  randombytes_buf(envelope_key.data(), envelope_key.size());
  const auto tag = hash256(envelope_key);

  EncryptedEnvelope out;
  Bytes& ct = out.ciphertext;
  ct.reserve(std::max(pad_to, kHeaderSize + sealed.size()));
  ct.push_back(0);  // CourierQuery type: envelope
  ct.push_back(static_cast<std::uint8_t>(kind));
  ct.insert(ct.end(), tag.begin(), tag.end());
  ct.insert(ct.end(), box.begin(), box.end());
  put_be32(ct, static_cast<std::uint32_t>(sealed.size()));
  ct.insert(ct.end(), sealed.begin(), sealed.end());
  if (ct.size() < pad_to) ct.resize(pad_to, 0);
  out.hash = hash256(ct);

  // Two replica numbers, as the daemon picks two replicas per box.
  const std::uint8_t replicas[2] = {static_cast<std::uint8_t>(box[0] % 3), static_cast<std::uint8_t>(box[0] % 3 + 1)};
  CborWriter w;
  w.map(3);
  w.text("Epoch").uint(replica_epoch);
  w.text("ReplicaNums").bytes({replicas, 2});
  w.text("EnvelopeKey").bytes(envelope_key);
  out.descriptor = w.take();
  sodium_memzero(envelope_key.data(), envelope_key.size());
  return out;
}

std::optional<Envelope> parse_envelope(ByteView bytes) {
  if (bytes.size() < kHeaderSize || bytes[0] != 0) return std::nullopt;
  const std::uint8_t kind = bytes[1];
  if (kind < 1 || kind > 3) return std::nullopt;
  const std::uint32_t length = get_be32(bytes.data() + 66);
  if (length > bytes.size() - kHeaderSize) return std::nullopt;
  Envelope env;
  env.kind = static_cast<EnvelopeKind>(kind);
  std::memcpy(env.sender_tag.data(), bytes.data() + 2, 32);
  std::memcpy(env.box.data(), bytes.data() + 34, 32);
  env.sealed.assign(bytes.begin() + kHeaderSize, bytes.begin() + kHeaderSize + length);
  if (env.kind != EnvelopeKind::kWrite && !env.sealed.empty()) return std::nullopt;
  return env;
}

std::optional<std::array<std::uint8_t, 32>> descriptor_sender_tag(ByteView descriptor) {
  if (descriptor.empty()) return std::nullopt;
  cbor_load_result result;
  std::unique_ptr<cbor_item_t, CborItemDeleter> root(cbor_load(descriptor.data(), descriptor.size(), &result));
  if (!root || result.error.code != CBOR_ERR_NONE || !cbor_isa_map(root.get())) return std::nullopt;
  const std::size_t n = cbor_map_size(root.get());
  cbor_pair* pairs = cbor_map_handle(root.get());
  for (std::size_t i = 0; i < n; ++i) {
    cbor_item_t* key = pairs[i].key;
    cbor_item_t* value = pairs[i].value;
    if (!cbor_isa_string(key) || !cbor_string_is_definite(key)) continue;
    const std::string_view name(reinterpret_cast<const char*>(cbor_string_handle(key)), cbor_string_length(key));
    if (name != "EnvelopeKey") continue;
    if (!cbor_isa_bytestring(value) || !cbor_bytestring_is_definite(value) || cbor_bytestring_length(value) != 32)
      return std::nullopt;
    return hash256({cbor_bytestring_handle(value), 32});
  }
  return std::nullopt;
}

void CopyStreamEncoder::restore(ByteView buffer) {
  pending_.assign(buffer.begin(), buffer.end());
  consumed_ = 0;
}

void CopyStreamEncoder::add_record(ByteView envelope) {
  put_be32(pending_, static_cast<std::uint32_t>(envelope.size()));
  pending_.insert(pending_.end(), envelope.begin(), envelope.end());
  // Strictly more than one chunk: the last chunk stays buffered so a later Final can ride on it.
  while (unsent() > max_chunk_) emit(max_chunk_, 0);
  compact();
}

void CopyStreamEncoder::flush(bool final) {
  while (unsent() > max_chunk_) emit(max_chunk_, 0);
  if (unsent() > 0) emit(unsent(), final ? kElementFinal : 0);  // an empty encoder emits nothing
  compact();
}

void CopyStreamEncoder::compact() {
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(consumed_));
  consumed_ = 0;
}

void CopyStreamEncoder::emit(std::size_t length, std::uint8_t extra_flags) {
  const std::uint8_t flags = static_cast<std::uint8_t>((start_pending_ ? kElementStart : 0) | extra_flags);
  start_pending_ = false;
  Bytes element;
  element.reserve(5 + length);
  element.push_back(flags);
  put_be32(element, static_cast<std::uint32_t>(length));
  const auto from = pending_.begin() + static_cast<std::ptrdiff_t>(consumed_);
  element.insert(element.end(), from, from + static_cast<std::ptrdiff_t>(length));
  consumed_ += length;
  elements_.push_back(std::move(element));
}

Bytes CopyStreamEncoder::residual() const {
  return Bytes(pending_.begin() + static_cast<std::ptrdiff_t>(consumed_), pending_.end());
}

bool CopyStreamDecoder::add_element(ByteView element) {
  if (finished_ || element.size() < 5) return false;
  const std::uint32_t length = get_be32(element.data() + 1);
  if (length != element.size() - 5) return false;
  stream_.insert(stream_.end(), element.begin() + 5, element.end());
  finished_ = (element[0] & kElementFinal) != 0;
  return true;
}

std::optional<std::vector<Bytes>> CopyStreamDecoder::records() const {
  std::vector<Bytes> out;
  std::size_t pos = 0;
  while (pos < stream_.size()) {
    if (stream_.size() - pos < 4) return std::nullopt;
    const std::uint32_t length = get_be32(stream_.data() + pos);
    pos += 4;
    if (length > stream_.size() - pos) return std::nullopt;
    out.emplace_back(stream_.begin() + static_cast<std::ptrdiff_t>(pos),
                     stream_.begin() + static_cast<std::ptrdiff_t>(pos + length));
    pos += length;
  }
  return out;
}

}  // namespace kpsim
