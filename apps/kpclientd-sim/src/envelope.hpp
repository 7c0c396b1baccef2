// What the simulator puts in message_ciphertext and envelope_descriptor, and how it reads them
// back when the client hands them to start_resending_encrypted_message or inside a copy
// stream. Real kpclientd emits an MKEM-encrypted trunnel CourierQuery (spec §1.5); the sim
// emits an envelope it can interpret itself, padded to the same geometry size, and a
// descriptor in the real CBOR shape {"Epoch", "ReplicaNums", "EnvelopeKey"}.
//
// Envelope layout (all integers big-endian):
//   u8 query type (0 = envelope) | u8 kind | sender tag[32] | box id[32] | u32 len | sealed
//   payload[len] | zero padding
// The sender tag is BLAKE2b-256 of the descriptor's EnvelopeKey, so a ciphertext presented
// with another encryption's descriptor is detected (code 22, as an MKEM failure would be).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "channel_keys.hpp"

namespace kpsim {

enum class EnvelopeKind : std::uint8_t { kWrite = 1, kRead = 2, kTombstone = 3 };

struct Envelope {
  EnvelopeKind kind = EnvelopeKind::kWrite;
  std::array<std::uint8_t, 32> sender_tag{};
  BoxId box{};
  Bytes sealed;  // writes only
};

struct EncryptedEnvelope {
  Bytes ciphertext;   // padded to `pad_to`
  Bytes descriptor;   // CBOR, holds the (simulated) secret envelope key
  std::array<std::uint8_t, 32> hash{};  // BLAKE2b-256(ciphertext)
};

// Builds a fresh envelope (new random envelope key, so every call has a distinct hash).
// `pad_to` = 0 leaves it unpadded (copy-stream records).
EncryptedEnvelope make_envelope(EnvelopeKind kind, const BoxId& box, ByteView sealed,
                                std::uint64_t replica_epoch, std::size_t pad_to);

// Parses an envelope; trailing zero padding is ignored. nullopt = malformed.
std::optional<Envelope> parse_envelope(ByteView bytes);

// Extracts the EnvelopeKey from a descriptor and returns its tag; nullopt if the descriptor is
// not the CBOR map this program writes.
std::optional<std::array<std::uint8_t, 32>> descriptor_sender_tag(ByteView descriptor);

// Copy streams (spec §7.5): records "u32 len || envelope" chunked into elements
// "flags u8 (0x01 Start, 0x02 Final) || u32 len || chunk", each at most `max_element` bytes.
// The encoder keeps at least one chunk buffered until flushed, and its residual state travels
// through the client as the opaque `buffer`: the unsent bytes, nothing else, as in kpclientd
// (so whether the next element carries Start depends only on that call's is_start).
inline constexpr std::uint8_t kElementStart = 0x01;
inline constexpr std::uint8_t kElementFinal = 0x02;

class CopyStreamEncoder {
 public:
  explicit CopyStreamEncoder(std::size_t max_element) : max_chunk_(max_element - 5) {}

  // Restores a residual buffer; any bytes are taken, as kpclientd's SetBuffer takes them.
  void restore(ByteView buffer);
  void set_start(bool start) { start_pending_ = start; }
  void add_record(ByteView envelope);
  // Emits everything buffered; with `final`, the last element carries Final. Nothing buffered:
  // nothing emitted, not even a Final element (kpclientd's Flush returns nil then).
  void flush(bool final);
  Bytes residual() const;

  std::vector<Bytes> take_elements() { return std::move(elements_); }

 private:
  void emit(std::size_t length, std::uint8_t extra_flags);
  std::size_t unsent() const { return pending_.size() - consumed_; }
  void compact();  // drops emitted bytes; done once per call, not per element

  std::size_t max_chunk_;
  bool start_pending_ = false;
  Bytes pending_;
  std::size_t consumed_ = 0;  // bytes of pending_ already emitted
  std::vector<Bytes> elements_;
};

// Incremental decoder the simulated courier uses over the boxes of a temporary stream.
class CopyStreamDecoder {
 public:
  // Adds one element; false if malformed.
  bool add_element(ByteView element);
  bool finished() const { return finished_; }
  // After finished(): the records (envelopes) in order; nullopt if the stream bytes are not a
  // sequence of whole records.
  std::optional<std::vector<Bytes>> records() const;

 private:
  Bytes stream_;
  bool finished_ = false;
};

}  // namespace kpsim
