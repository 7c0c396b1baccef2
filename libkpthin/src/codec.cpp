// Encoding of every request and response (spec §3, §4) in Go's field order with Go's omitempty
// rules, so that the kGoFull form is byte-identical to what the Go client and daemon send.
#include <variant>

#include "codec_fields.hpp"
#include "kpthin/codec.hpp"
#include "message_keys.hpp"

namespace kpthin {

namespace {

using detail::FieldWriter;

// --- requests ---------------------------------------------------------------------------------

void write(FieldWriter& f, const SessionToken& m) {
  f.fixed("client_instance_token", m.client_instance_token);
}
void write(FieldWriter&, const ThinClose&) {}
void write(FieldWriter& f, const SendMessage& m) {
  f.fixed("id", m.id);
  f.boolean("with_surb", m.with_surb);
  f.fixed("surbid", m.surbid);
  f.fixed("destination_id_hash", m.destination_id_hash);
  f.bytes("recipient_queue_id", m.recipient_queue_id);
  f.bytes("payload", m.payload);
}
void write(FieldWriter& f, const NewKeypair& m) {
  f.fixed("query_id", m.query_id);
  f.secret("seed", m.seed);
}
void write(FieldWriter& f, const EncryptRead& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("read_cap", m.read_cap);
  f.bytes("message_box_index", m.message_box_index);
}
void write(FieldWriter& f, const EncryptWrite& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("plaintext", m.plaintext);
  f.secret("write_cap", m.write_cap);
  f.bytes("message_box_index", m.message_box_index);
}
void write(FieldWriter& f, const StartResendingEncryptedMessage& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("read_cap", m.read_cap);
  f.secret("write_cap", m.write_cap);
  f.bytes("message_box_index", m.message_box_index);
  if (m.reply_index) f.uint("reply_index", *m.reply_index);  // *uint8 omitempty: omitted when nil
  f.secret("envelope_descriptor", m.envelope_descriptor);
  f.bytes("message_ciphertext", m.message_ciphertext);
  f.fixed("envelope_hash", m.envelope_hash);
  if (m.no_retry_on_box_id_not_found) f.boolean("no_retry_on_box_id_not_found", true);
  if (m.no_idempotent_box_already_exists) f.boolean("no_idempotent_box_already_exists", true);
}
void write(FieldWriter& f, const CancelResendingEncryptedMessage& m) {
  f.fixed("query_id", m.query_id);
  f.fixed("envelope_hash", m.envelope_hash);
}
void write(FieldWriter& f, const StartResendingCopyCommand& m) {
  f.fixed("query_id", m.query_id);
  f.secret("write_cap", m.write_cap);
  if (m.courier_identity_hash) f.fixed("courier_identity_hash", m.courier_identity_hash);
  if (m.courier_queue_id && !m.courier_queue_id->empty()) f.bytes("courier_queue_id", m.courier_queue_id);
}
void write(FieldWriter& f, const CancelResendingCopyCommand& m) {
  f.fixed("query_id", m.query_id);
  f.fixed("write_cap_hash", m.write_cap_hash);
}
void write(FieldWriter& f, const NextMessageBoxIndex& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("message_box_index", m.message_box_index);
}
void write(FieldWriter& f, const GetMessageBoxIndexCounter& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("message_box_index", m.message_box_index);
}
void write(FieldWriter& f, const GetPkiDocument& m) {
  f.fixed("query_id", m.query_id);
  f.uint("epoch", m.epoch);
}
void write(FieldWriter& f, const GetDirectoryAuthorities& m) { f.fixed("query_id", m.query_id); }
void write(FieldWriter& f, const CreateCourierEnvelopesFromPayload& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("payload", m.payload);
  f.secret("dest_write_cap", m.dest_write_cap);
  f.bytes("dest_start_index", m.dest_start_index);
  f.boolean("is_start", m.is_start);
  f.boolean("is_last", m.is_last);
}
void write(FieldWriter& f, const CreateCourierEnvelopesFromMultiPayload& m) {
  f.fixed("query_id", m.query_id);
  f.key("destinations");
  if (m.destinations.empty()) {
    f.writer().null();
  } else {
    f.writer().array(m.destinations.size());
    for (const CourierDestination& d : m.destinations) {
      f.begin_map();
      f.bytes("payload", d.payload);
      f.secret("write_cap", d.write_cap);
      f.bytes("start_index", d.start_index);
      f.end_map();
    }
  }
  f.boolean("is_start", m.is_start);
  f.boolean("is_last", m.is_last);
  f.bytes("buffer", m.buffer);
}
void write(FieldWriter& f, const CreateCourierEnvelopesFromTombstoneRange& m) {
  f.fixed("query_id", m.query_id);
  f.secret("dest_write_cap", m.dest_write_cap);
  f.bytes("dest_start_index", m.dest_start_index);
  f.uint("max_count", m.max_count);
  f.boolean("is_start", m.is_start);
  f.boolean("is_last", m.is_last);
  f.bytes("buffer", m.buffer);
}
void write(FieldWriter& f, const VoucherMint& m) {
  f.fixed("query_id", m.query_id);
  f.secret("message_write_cap", m.message_write_cap);
  f.text("display_name", m.display_name);
}
void write(FieldWriter& f, const VoucherInduct& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("voucher", m.voucher);
  f.bytes("voucher_payload", m.voucher_payload);
  f.bytes("who_reply", m.who_reply);
}
void write(FieldWriter& f, const VoucherOpen& m) {
  f.fixed("query_id", m.query_id);
  f.secret("voucher_secret_key", m.voucher_secret_key);
  f.bytes("sealed_reply", m.sealed_reply);
  f.secret("message_write_cap", m.message_write_cap);
}
void write(FieldWriter& f, const VoucherDeriveStream& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("voucher", m.voucher);
}

// --- responses --------------------------------------------------------------------------------

void write_geometry(FieldWriter& f, const SphinxGeometry& g) {
  f.begin_map();
  f.uint("PacketLength", g.PacketLength);
  f.uint("NrHops", g.NrHops);
  f.uint("HeaderLength", g.HeaderLength);
  f.uint("RoutingInfoLength", g.RoutingInfoLength);
  f.uint("PerHopRoutingInfoLength", g.PerHopRoutingInfoLength);
  f.uint("SURBLength", g.SURBLength);
  f.uint("SphinxPlaintextHeaderLength", g.SphinxPlaintextHeaderLength);
  f.uint("PayloadTagLength", g.PayloadTagLength);
  f.uint("ForwardPayloadLength", g.ForwardPayloadLength);
  f.uint("UserForwardPayloadLength", g.UserForwardPayloadLength);
  f.uint("NextNodeHopLength", g.NextNodeHopLength);
  f.uint("SPRPKeyMaterialLength", g.SPRPKeyMaterialLength);
  f.text("NIKEName", g.NIKEName);
  f.text("KEMName", g.KEMName);
  f.end_map();
}
void write_geometry(FieldWriter& f, const PigeonholeGeometry& g) {
  f.begin_map();
  f.uint("MaxPlaintextPayloadLength", g.MaxPlaintextPayloadLength);
  f.uint("CourierQueryReadLength", g.CourierQueryReadLength);
  f.uint("CourierQueryWriteLength", g.CourierQueryWriteLength);
  f.uint("CourierQueryReplyReadLength", g.CourierQueryReplyReadLength);
  f.uint("CourierQueryReplyWriteLength", g.CourierQueryReplyWriteLength);
  f.text("NIKEName", g.NIKEName);
  f.text("SignatureSchemeName", g.SignatureSchemeName);
  f.end_map();
}
template <class Geometry>
void write_geometry(FieldWriter& f, std::string_view name, const std::optional<Geometry>& g) {
  f.key(name);
  if (g) write_geometry(f, *g);
  else f.writer().null();
}

// [][]byte: nil slice -> null; elements are never nil in practice, so always byte strings.
void write_byte_list(FieldWriter& f, std::string_view name, const std::optional<std::vector<Bytes>>& list) {
  f.key(name);
  if (!list) {
    f.writer().null();
    return;
  }
  f.writer().array(list->size());
  for (const Bytes& b : *list) f.writer().bytes(b);
}

void write(FieldWriter& f, const SessionTokenReply& m) {
  f.fixed("app_id", m.app_id);
  f.boolean("resumed", m.resumed);
}
void write(FieldWriter&, const ShutdownEvent&) {}
void write(FieldWriter& f, const ConnectionStatusEvent& m) {
  f.boolean("is_connected", m.is_connected);
  f.null("err");  // a Go error interface, always nil on the wire
  f.fixed("instance_token", m.instance_token);
  write_geometry(f, "sphinx_geometry", m.sphinx_geometry);
  write_geometry(f, "pigeonhole_geometry", m.pigeonhole_geometry);
}
void write(FieldWriter& f, const NewPkiDocumentEvent& m) { f.bytes("payload", m.payload); }
void write(FieldWriter& f, const MessageSentEvent& m) {
  f.fixed("message_id", m.message_id);
  f.fixed("surbid", m.surbid);
  f.uint("sent_at", m.sent_at);
  f.uint("reply_eta", m.reply_eta);
  if (m.err && !m.err->empty()) f.text("err", *m.err);  // string omitempty
}
void write(FieldWriter& f, const MessageReplyEvent& m) {
  f.fixed("message_id", m.message_id);
  f.fixed("surbid", m.surbid);
  f.bytes("payload", m.payload);
  if (m.reply_index) f.uint("reply_index", *m.reply_index);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const MessageIdGarbageCollected& m) { f.fixed("message_id", m.message_id); }
void write(FieldWriter& f, const NewKeypairReply& m) {
  f.fixed("query_id", m.query_id);
  f.secret("write_cap", m.write_cap);
  f.bytes("read_cap", m.read_cap);
  f.bytes("first_message_index", m.first_message_index);
  f.uint("error_code", m.error_code);
}
template <class EncryptReply>
void write_encrypt_reply(FieldWriter& f, const EncryptReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("message_ciphertext", m.message_ciphertext);
  f.secret("envelope_descriptor", m.envelope_descriptor);
  f.fixed("envelope_hash", m.envelope_hash);
  f.bytes("next_message_box_index", m.next_message_box_index);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const EncryptReadReply& m) { write_encrypt_reply(f, m); }
void write(FieldWriter& f, const EncryptWriteReply& m) { write_encrypt_reply(f, m); }
void write(FieldWriter& f, const StartResendingEncryptedMessageReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("plaintext", m.plaintext);
  f.uint("error_code", m.error_code);
  f.fixed("courier_identity_hash", m.courier_identity_hash);
  f.bytes("courier_queue_id", m.courier_queue_id);
}
void write(FieldWriter& f, const CancelResendingEncryptedMessageReply& m) {
  f.fixed("query_id", m.query_id);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const StartResendingCopyCommandReply& m) {
  f.fixed("query_id", m.query_id);
  f.uint("error_code", m.error_code);
  if (m.replica_error_code != 0) f.uint("replica_error_code", m.replica_error_code);
  if (m.failed_envelope_index != 0) f.uint("failed_envelope_index", m.failed_envelope_index);
}
void write(FieldWriter& f, const CancelResendingCopyCommandReply& m) {
  f.fixed("query_id", m.query_id);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const NextMessageBoxIndexReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("next_message_box_index", m.next_message_box_index);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const GetMessageBoxIndexCounterReply& m) {
  f.fixed("query_id", m.query_id);
  f.uint("counter", m.counter);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const GetPkiDocumentReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("payload", m.payload);
  f.uint("epoch", m.epoch);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const GetDirectoryAuthoritiesReply& m) {
  f.fixed("query_id", m.query_id);
  f.key("authorities");
  if (!m.authorities) {
    f.writer().null();
  } else {
    f.writer().array(m.authorities->size());
    for (const DirectoryAuthority& a : *m.authorities) {
      f.begin_map();
      f.text("identifier", a.identifier);
      f.text("pki_signature_scheme", a.pki_signature_scheme);
      f.text("wire_kem_scheme", a.wire_kem_scheme);
      f.key("addresses");
      if (a.addresses.empty()) {
        f.writer().null();
      } else {
        f.writer().array(a.addresses.size());
        for (const std::string& address : a.addresses) f.writer().text(address);
      }
      f.text("identity_public_key_pem", a.identity_public_key_pem);
      f.text("link_public_key_pem", a.link_public_key_pem);
      f.fixed("identity_key_hash", a.identity_key_hash.value_or(Hash256{}));  // a Go [32]byte value
      f.end_map();
    }
  }
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const CreateCourierEnvelopesFromPayloadReply& m) {
  f.fixed("query_id", m.query_id);
  write_byte_list(f, "envelopes", m.envelopes);
  f.bytes("next_dest_index", m.next_dest_index);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const CreateCourierEnvelopesFromMultiPayloadReply& m) {
  f.fixed("query_id", m.query_id);
  write_byte_list(f, "envelopes", m.envelopes);
  f.bytes("buffer", m.buffer);
  write_byte_list(f, "next_dest_indices", m.next_dest_indices);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const CreateCourierEnvelopesFromTombstoneRangeReply& m) {
  f.fixed("query_id", m.query_id);
  write_byte_list(f, "envelopes", m.envelopes);
  f.bytes("buffer", m.buffer);
  f.bytes("next_dest_index", m.next_dest_index);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const VoucherMintReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("voucher", m.voucher);
  f.bytes("voucher_payload", m.voucher_payload);
  f.secret("voucher_write_cap", m.voucher_write_cap);
  f.bytes("voucher_read_cap", m.voucher_read_cap);
  f.secret("voucher_secret_key", m.voucher_secret_key);
  f.bytes("voucher_public_key", m.voucher_public_key);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const VoucherInductReply& m) {
  f.fixed("query_id", m.query_id);
  f.text("display_name", m.display_name);
  f.bytes("mutated_message_read_cap", m.mutated_message_read_cap);
  f.bytes("sealed_reply", m.sealed_reply);
  f.secret("voucher_write_cap", m.voucher_write_cap);
  f.bytes("voucher_read_cap", m.voucher_read_cap);
  f.bytes("salt", m.salt);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const VoucherOpenReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("who_reply", m.who_reply);
  f.bytes("salt", m.salt);
  f.secret("mutated_message_write_cap", m.mutated_message_write_cap);
  f.uint("error_code", m.error_code);
}
void write(FieldWriter& f, const VoucherDeriveStreamReply& m) {
  f.fixed("query_id", m.query_id);
  f.secret("voucher_write_cap", m.voucher_write_cap);
  f.bytes("voucher_read_cap", m.voucher_read_cap);
  f.uint("error_code", m.error_code);
}

// --- envelope ---------------------------------------------------------------------------------

// A rough upper bound of the bulk bytes of a message, so the output buffer grows at most once
// for large payloads.
std::size_t bulk_size(const auto& m) {
  std::size_t n = 0;
  if constexpr (requires { m.payload.size(); }) n += m.payload.size();
  if constexpr (requires { m.payload->size(); }) n += m.payload ? m.payload->size() : 0;
  if constexpr (requires { m.plaintext->size(); }) n += m.plaintext ? m.plaintext->size() : 0;
  if constexpr (requires { m.message_ciphertext.size(); }) n += m.message_ciphertext.size();
  if constexpr (requires { m.buffer->size(); }) n += m.buffer ? m.buffer->size() : 0;
  if constexpr (requires { m.destinations; }) {
    for (const auto& d : m.destinations) n += d.payload.size() + 512;
  }
  if constexpr (requires { m.envelopes; }) {
    if (m.envelopes) {
      for (const auto& e : *m.envelopes) n += e.size() + 5;
    }
  }
  return n;
}

template <class Variant, std::size_t N>
Bytes encode_envelope(const Variant& message, const std::array<const char*, N>& keys, EnvelopeForm form) {
  const std::size_t bulk = std::visit([](const auto& m) { return bulk_size(m); }, message);
  FieldWriter f(bulk + (form == EnvelopeForm::kGoFull ? 1536 : 512));
  const std::size_t chosen = message.index();
  auto write_chosen = [&] {
    f.begin_map();
    std::visit([&](const auto& m) { write(f, m); }, message);
    f.end_map();
  };
  if (form == EnvelopeForm::kMinimal) {
    f.writer().map(1);
    f.writer().text(keys[chosen]);
    write_chosen();
  } else {
    f.writer().map(N);
    for (std::size_t i = 0; i < N; ++i) {
      f.writer().text(keys[i]);
      if (i == chosen) write_chosen();
      else f.writer().null();
    }
  }
  return f.take();
}

}  // namespace

Bytes encode_request(const Request& request, EnvelopeForm form) {
  return encode_envelope(request, detail::kRequestKeys, form);
}

Bytes encode_response(const Response& response, EnvelopeForm form) {
  return encode_envelope(response, detail::kResponseKeys, form);
}

}  // namespace kpthin
