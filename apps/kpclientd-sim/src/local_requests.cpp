// Requests kpclientd answers inline without mixnet I/O (spec §2.7): keys, encryption, indices,
// PKI and directory lookups, courier envelope construction.
#include <spdlog/spdlog.h>

#include "envelope.hpp"
#include "kpthin/errors.hpp"
#include "simulator_internal.hpp"

namespace kpsim {

using namespace kpthin;

namespace {

constexpr std::uint8_t kInvalidRequest = static_cast<std::uint8_t>(thin_errc::invalid_request);
constexpr std::uint8_t kInternalError = static_cast<std::uint8_t>(thin_errc::internal_error);
constexpr std::uint8_t kServiceUnavailable = static_cast<std::uint8_t>(thin_errc::service_unavailable);
constexpr std::size_t kMaxCourierPayload = 10 * 1024 * 1024;  // per destination (spec §3.15)

template <class Reply>
Reply error_with(const std::optional<QueryId>& query_id, std::uint8_t code) {
  Reply reply;
  reply.query_id = query_id;
  reply.error_code = code;
  return reply;
}

std::size_t max_plaintext() { return SimNetwork::pigeonhole_geometry().MaxPlaintextPayloadLength; }
std::size_t ciphertext_size() { return SimNetwork::pigeonhole_geometry().CourierQueryWriteLength; }
// A copy-stream record is a CourierEnvelope: the CourierQuery without its one-byte query type.
// kpclientd pads every envelope's inner message to the geometry's write size (writes and
// tombstones alike), so each record is larger than one element's chunk and AddEnvelope emits an
// element at once (client/pigeonhole.go buildCourierEnvelope, pigeonhole/copy_stream.go).
std::size_t courier_envelope_size() { return ciphertext_size() - 1; }

template <class Reply>
Reply encrypted_reply(const std::optional<QueryId>& query_id, EncryptedEnvelope envelope, const BoxIndex& index) {
  Reply reply;
  reply.query_id = query_id;
  reply.message_ciphertext = std::move(envelope.ciphertext);
  reply.envelope_descriptor = SecretBytes(std::move(envelope.descriptor));
  reply.envelope_hash = envelope.hash;
  reply.next_message_box_index = index.next().serialize();
  return reply;
}

// Appends the envelopes that write `payload` (chunked to fit boxes) to consecutive boxes of a
// destination channel starting at `index`; returns the index after the last box written.
BoxIndex add_destination(CopyStreamEncoder& encoder, const std::array<std::uint8_t, 32>& public_key,
                         BoxIndex index, ByteView payload) {
  const std::size_t chunk = max_plaintext() - 4;
  for (std::size_t offset = 0; offset < payload.size(); offset += chunk) {
    const ByteView piece = payload.subspan(offset, std::min(chunk, payload.size() - offset));
    const BoxId box = box_id(public_key, index);
    const auto envelope = make_envelope(EnvelopeKind::kWrite, box, seal_payload(piece, index, box),
                                        SimNetwork::replica_epoch(), courier_envelope_size());
    encoder.add_record(envelope.ciphertext);
    index = index.next();
  }
  return index;
}

}  // namespace

void Simulator::handle(Connection& conn, NewKeypair& r) {
  if (r.seed.size() != kSeedSize) {
    send(conn, error_with<NewKeypairReply>(r.query_id, kInvalidRequest));
    return;
  }
  ChannelKeys keys = derive_channel(r.seed.reveal());
  NewKeypairReply reply;
  reply.query_id = r.query_id;
  reply.write_cap = SecretBytes(std::move(keys.write_cap));
  reply.read_cap = std::move(keys.read_cap);
  reply.first_message_index = std::move(keys.first_index);
  send(conn, reply);
}

void Simulator::handle(Connection& conn, EncryptRead& r) {
  const auto public_key = read_cap_public_key(r.read_cap);
  const auto index = BoxIndex::parse(r.message_box_index);
  if (!public_key || !index) {
    conn.close("undecodable frame: encrypt_read carries a cap or index of the wrong size");
    return;
  }
  if (options_.no_pki) {
    send(conn, error_with<EncryptReadReply>(r.query_id, kInternalError));
    return;
  }
  const BoxId box = box_id(*public_key, *index);
  auto envelope = make_envelope(EnvelopeKind::kRead, box, {}, SimNetwork::replica_epoch(), ciphertext_size());
  send(conn, encrypted_reply<EncryptReadReply>(r.query_id, std::move(envelope), *index));
}

void Simulator::handle(Connection& conn, EncryptWrite& r) {
  const auto public_key = write_cap_public_key(r.write_cap.reveal());
  const auto index = BoxIndex::parse(r.message_box_index);
  if (!public_key || !index) {
    conn.close("undecodable frame: encrypt_write carries a cap or index of the wrong size");
    return;
  }
  // A null plaintext and an oversize one are both code 3 (spec §3.6), not 27.
  if (!r.plaintext || r.plaintext->size() > max_plaintext()) {
    send(conn, error_with<EncryptWriteReply>(r.query_id, kInvalidRequest));
    return;
  }
  if (options_.no_pki) {
    send(conn, error_with<EncryptWriteReply>(r.query_id, kInternalError));
    return;
  }
  const BoxId box = box_id(*public_key, *index);
  const bool tombstone = r.plaintext->empty();
  auto envelope = make_envelope(tombstone ? EnvelopeKind::kTombstone : EnvelopeKind::kWrite, box,
                                seal_payload(*r.plaintext, *index, box), SimNetwork::replica_epoch(), ciphertext_size());
  send(conn, encrypted_reply<EncryptWriteReply>(r.query_id, std::move(envelope), *index));
}

void Simulator::handle(Connection& conn, NextMessageBoxIndex& r) {
  const auto index = BoxIndex::parse(r.message_box_index);
  if (!index) {
    conn.close("undecodable frame: next_message_box_index index of the wrong size");
    return;
  }
  NextMessageBoxIndexReply reply;
  reply.query_id = r.query_id;
  reply.next_message_box_index = index->next().serialize();
  send(conn, reply);
}

void Simulator::handle(Connection& conn, GetMessageBoxIndexCounter& r) {
  const auto index = BoxIndex::parse(r.message_box_index);
  if (!index) {
    conn.close("undecodable frame: get_message_box_index_counter index of the wrong size");
    return;
  }
  GetMessageBoxIndexCounterReply reply;
  reply.query_id = r.query_id;
  reply.counter = index->counter;
  send(conn, reply);
}

void Simulator::handle(Connection& conn, GetPkiDocument& r) {
  if (options_.no_pki || (r.epoch != 0 && r.epoch != network_.epoch())) {
    send(conn, error_with<GetPkiDocumentReply>(r.query_id, kServiceUnavailable));
    return;
  }
  GetPkiDocumentReply reply;
  reply.query_id = r.query_id;
  reply.payload = network_.certificate();
  reply.epoch = network_.epoch();
  send(conn, reply);
}

void Simulator::handle(Connection& conn, GetDirectoryAuthorities& r) {
  GetDirectoryAuthoritiesReply reply;
  reply.query_id = r.query_id;
  reply.authorities = network_.directory_authorities();
  send(conn, reply);
}

namespace {

// kpclientd builds the element list by appending to a nil Go slice with no omitempty, so a call
// that emits nothing answers `envelopes: null`, not an empty array (found by the sim-vs-real
// differential test).
std::optional<std::vector<Bytes>> elements_or_null(std::vector<Bytes> elements) {
  if (elements.empty()) return std::nullopt;
  return elements;
}

}  // namespace

void Simulator::handle(Connection& conn, CreateCourierEnvelopesFromPayload& r) {
  const auto public_key = write_cap_public_key(r.dest_write_cap.reveal());
  const auto index = BoxIndex::parse(r.dest_start_index);
  if (!public_key || !index) {
    conn.close("undecodable frame: create_courier_envelopes_from_payload cap or index of the wrong size");
    return;
  }
  if (r.payload.size() > kMaxCourierPayload) {
    send(conn, error_with<CreateCourierEnvelopesFromPayloadReply>(r.query_id, kInvalidRequest));
    return;
  }
  if (options_.no_pki) {
    send(conn, error_with<CreateCourierEnvelopesFromPayloadReply>(r.query_id, kInternalError));
    return;
  }
  // Stateless: a fresh encoder per call, always fully flushed, no buffer (spec §3.15).
  CopyStreamEncoder encoder(max_plaintext());
  encoder.set_start(r.is_start);
  const BoxIndex next = add_destination(encoder, *public_key, *index, r.payload);
  encoder.flush(r.is_last);
  CreateCourierEnvelopesFromPayloadReply reply;
  reply.query_id = r.query_id;
  reply.envelopes = elements_or_null(encoder.take_elements());
  reply.next_dest_index = next.serialize();
  send(conn, reply);
}

void Simulator::handle(Connection& conn, CreateCourierEnvelopesFromMultiPayload& r) {
  std::vector<std::pair<std::array<std::uint8_t, 32>, BoxIndex>> destinations;
  for (const auto& d : r.destinations) {
    const auto public_key = write_cap_public_key(d.write_cap.reveal());
    const auto index = BoxIndex::parse(d.start_index);
    if (!public_key || !index) {
      conn.close("undecodable frame: create_courier_envelopes_from_multi_payload cap or index of the wrong size");
      return;
    }
    destinations.emplace_back(*public_key, *index);
  }
  const bool oversize = std::any_of(r.destinations.begin(), r.destinations.end(),
                                    [](const CourierDestination& d) { return d.payload.size() > kMaxCourierPayload; });
  // kpclientd's order: no destinations (3), then no PKI document (4), then per destination (3).
  if (r.destinations.empty() || (oversize && !options_.no_pki)) {
    send(conn, error_with<CreateCourierEnvelopesFromMultiPayloadReply>(r.query_id, kInvalidRequest));
    return;
  }
  if (options_.no_pki) {
    send(conn, error_with<CreateCourierEnvelopesFromMultiPayloadReply>(r.query_id, kInternalError));
    return;
  }
  CopyStreamEncoder encoder(max_plaintext());
  if (r.buffer) encoder.restore(*r.buffer);
  encoder.set_start(r.is_start);
  std::vector<Bytes> next_indices;
  for (std::size_t i = 0; i < destinations.size(); ++i)
    next_indices.push_back(add_destination(encoder, destinations[i].first, destinations[i].second, r.destinations[i].payload).serialize());
  CreateCourierEnvelopesFromMultiPayloadReply reply;
  reply.query_id = r.query_id;
  if (r.is_last) encoder.flush(true);
  else reply.buffer = encoder.residual();
  reply.envelopes = elements_or_null(encoder.take_elements());
  reply.next_dest_indices = std::move(next_indices);
  send(conn, reply);
}

void Simulator::handle(Connection& conn, CreateCourierEnvelopesFromTombstoneRange& r) {
  const auto public_key = write_cap_public_key(r.dest_write_cap.reveal());
  auto index = BoxIndex::parse(r.dest_start_index);
  if (!public_key || !index) {
    conn.close("undecodable frame: create_courier_envelopes_from_tombstone_range cap or index of the wrong size");
    return;
  }
  CreateCourierEnvelopesFromTombstoneRangeReply reply;
  reply.query_id = r.query_id;
  if (r.max_count == 0) {
    // Immediate success, start index back, and no buffer even if one was passed (spec §3.17).
    reply.next_dest_index = r.dest_start_index;  // envelopes null: Go's nil slice
    send(conn, reply);
    return;
  }
  if (options_.no_pki) {
    send(conn, error_with<CreateCourierEnvelopesFromTombstoneRangeReply>(r.query_id, kInternalError));
    return;
  }
  CopyStreamEncoder encoder(max_plaintext());
  if (r.buffer) encoder.restore(*r.buffer);
  encoder.set_start(r.is_start);
  for (std::uint32_t i = 0; i < r.max_count; ++i) {
    const BoxId box = box_id(*public_key, *index);
    encoder.add_record(
        make_envelope(EnvelopeKind::kTombstone, box, {}, SimNetwork::replica_epoch(), courier_envelope_size()).ciphertext);
    *index = index->next();
  }
  if (r.is_last) encoder.flush(true);
  else reply.buffer = encoder.residual();
  reply.envelopes = elements_or_null(encoder.take_elements());
  reply.next_dest_index = index->serialize();
  send(conn, reply);
}

}  // namespace kpsim
