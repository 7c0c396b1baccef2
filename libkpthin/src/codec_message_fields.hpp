// The CBOR fields of every request and response (spec §3, §4), written once for both directions:
// fields(f, m) walks a message in Go's declaration order and hands each field to a visitor,
// FieldWriter (codec_field_writer.hpp, m const) to encode it or FieldReader (codec_fields.hpp)
// to decode it. Sizes given to f.field() are the lengths the decoder insists on; the visitor
// methods other than field() carry Go's special cases (omitempty, nested structs, lists).
#pragma once

#include <concepts>
#include <type_traits>

#include "kpthin/bytes.hpp"
#include "kpthin/messages.hpp"

namespace kpthin::detail {

// M is T, const or not: the same description serves the encoder and the decoder.
template <class M, class T>
concept Is = std::same_as<std::remove_const_t<M>, T>;

// --- requests ---------------------------------------------------------------------------------

void fields(auto& f, Is<SessionToken> auto& m) { f.field("client_instance_token", m.client_instance_token); }
void fields(auto&, Is<ThinClose> auto&) {}
void fields(auto& f, Is<SendMessage> auto& m) {
  f.field("id", m.id);
  f.field("with_surb", m.with_surb);
  f.field("surbid", m.surbid);
  f.field("destination_id_hash", m.destination_id_hash);
  f.field("recipient_queue_id", m.recipient_queue_id);
  f.field("payload", m.payload);
}
void fields(auto& f, Is<NewKeypair> auto& m) {
  f.field("query_id", m.query_id);
  f.field("seed", m.seed);  // Go: []byte; the daemon answers code 3 for a wrong length
}
void fields(auto& f, Is<EncryptRead> auto& m) {
  f.field("query_id", m.query_id);
  f.field("read_cap", m.read_cap, kReadCapSize);
  f.field("message_box_index", m.message_box_index, kMessageBoxIndexSize);
}
void fields(auto& f, Is<EncryptWrite> auto& m) {
  f.field("query_id", m.query_id);
  f.field("plaintext", m.plaintext);
  f.field("write_cap", m.write_cap, kWriteCapSize);
  f.field("message_box_index", m.message_box_index, kMessageBoxIndexSize);
}
void fields(auto& f, Is<StartResendingEncryptedMessage> auto& m) {
  f.field("query_id", m.query_id);
  f.field("read_cap", m.read_cap, kReadCapSize);
  f.field("write_cap", m.write_cap, kWriteCapSize);
  f.field("message_box_index", m.message_box_index);  // Go: []byte, any length
  f.omitempty("reply_index", m.reply_index);          // *uint8: omitted when nil, sent when 0
  f.field("envelope_descriptor", m.envelope_descriptor);
  f.field("message_ciphertext", m.message_ciphertext);
  f.field("envelope_hash", m.envelope_hash);
  f.omitempty("no_retry_on_box_id_not_found", m.no_retry_on_box_id_not_found);
  f.omitempty("no_idempotent_box_already_exists", m.no_idempotent_box_already_exists);
}
void fields(auto& f, Is<CancelResendingEncryptedMessage> auto& m) {
  f.field("query_id", m.query_id);
  f.field("envelope_hash", m.envelope_hash);
}
void fields(auto& f, Is<StartResendingCopyCommand> auto& m) {
  f.field("query_id", m.query_id);
  f.field("write_cap", m.write_cap, kWriteCapSize);
  f.omitempty("courier_identity_hash", m.courier_identity_hash);
  f.omitempty("courier_queue_id", m.courier_queue_id);
}
void fields(auto& f, Is<CancelResendingCopyCommand> auto& m) {
  f.field("query_id", m.query_id);
  f.field("write_cap_hash", m.write_cap_hash);
}
template <class M>
  requires Is<M, NextMessageBoxIndex> || Is<M, GetMessageBoxIndexCounter>
void fields(auto& f, M& m) {
  f.field("query_id", m.query_id);
  f.field("message_box_index", m.message_box_index, kMessageBoxIndexSize);
}
void fields(auto& f, Is<GetPkiDocument> auto& m) {
  f.field("query_id", m.query_id);
  f.field("epoch", m.epoch);
}
void fields(auto& f, Is<GetDirectoryAuthorities> auto& m) { f.field("query_id", m.query_id); }
void fields(auto& f, Is<CreateCourierEnvelopesFromPayload> auto& m) {
  f.field("query_id", m.query_id);
  f.field("payload", m.payload);
  f.field("dest_write_cap", m.dest_write_cap, kWriteCapSize);
  f.field("dest_start_index", m.dest_start_index, kMessageBoxIndexSize);
  f.field("is_start", m.is_start);
  f.field("is_last", m.is_last);
}
void fields(auto& f, Is<CourierDestination> auto& m) {
  f.field("payload", m.payload);
  f.field("write_cap", m.write_cap, kWriteCapSize);
  f.field("start_index", m.start_index, kMessageBoxIndexSize);
}
void fields(auto& f, Is<CreateCourierEnvelopesFromMultiPayload> auto& m) {
  f.field("query_id", m.query_id);
  f.nested_list("destinations", m.destinations);
  f.field("is_start", m.is_start);
  f.field("is_last", m.is_last);
  f.field("buffer", m.buffer);
}
void fields(auto& f, Is<CreateCourierEnvelopesFromTombstoneRange> auto& m) {
  f.field("query_id", m.query_id);
  f.field("dest_write_cap", m.dest_write_cap, kWriteCapSize);
  f.field("dest_start_index", m.dest_start_index, kMessageBoxIndexSize);
  f.field("max_count", m.max_count);
  f.field("is_start", m.is_start);
  f.field("is_last", m.is_last);
  f.field("buffer", m.buffer);
}
void fields(auto& f, Is<VoucherMint> auto& m) {
  f.field("query_id", m.query_id);
  f.field("message_write_cap", m.message_write_cap);
  f.field("display_name", m.display_name);
}
void fields(auto& f, Is<VoucherInduct> auto& m) {
  f.field("query_id", m.query_id);
  f.field("voucher", m.voucher);
  f.field("voucher_payload", m.voucher_payload);
  f.field("who_reply", m.who_reply);
}
void fields(auto& f, Is<VoucherOpen> auto& m) {
  f.field("query_id", m.query_id);
  f.field("voucher_secret_key", m.voucher_secret_key);
  f.field("sealed_reply", m.sealed_reply);
  f.field("message_write_cap", m.message_write_cap);
}
void fields(auto& f, Is<VoucherDeriveStream> auto& m) {
  f.field("query_id", m.query_id);
  f.field("voucher", m.voucher);
}

// --- responses --------------------------------------------------------------------------------

void fields(auto& f, Is<SphinxGeometry> auto& g) {
  f.field("PacketLength", g.PacketLength);
  f.field("NrHops", g.NrHops);
  f.field("HeaderLength", g.HeaderLength);
  f.field("RoutingInfoLength", g.RoutingInfoLength);
  f.field("PerHopRoutingInfoLength", g.PerHopRoutingInfoLength);
  f.field("SURBLength", g.SURBLength);
  f.field("SphinxPlaintextHeaderLength", g.SphinxPlaintextHeaderLength);
  f.field("PayloadTagLength", g.PayloadTagLength);
  f.field("ForwardPayloadLength", g.ForwardPayloadLength);
  f.field("UserForwardPayloadLength", g.UserForwardPayloadLength);
  f.field("NextNodeHopLength", g.NextNodeHopLength);
  f.field("SPRPKeyMaterialLength", g.SPRPKeyMaterialLength);
  f.field("NIKEName", g.NIKEName);
  f.field("KEMName", g.KEMName);
}
void fields(auto& f, Is<PigeonholeGeometry> auto& g) {
  f.field("MaxPlaintextPayloadLength", g.MaxPlaintextPayloadLength);
  f.field("CourierQueryReadLength", g.CourierQueryReadLength);
  f.field("CourierQueryWriteLength", g.CourierQueryWriteLength);
  f.field("CourierQueryReplyReadLength", g.CourierQueryReplyReadLength);
  f.field("CourierQueryReplyWriteLength", g.CourierQueryReplyWriteLength);
  f.field("NIKEName", g.NIKEName);
  f.field("SignatureSchemeName", g.SignatureSchemeName);
}

void fields(auto& f, Is<SessionTokenReply> auto& m) {
  f.field("app_id", m.app_id);
  f.field("resumed", m.resumed);
}
void fields(auto&, Is<ShutdownEvent> auto&) {}
void fields(auto& f, Is<ConnectionStatusEvent> auto& m) {
  f.field("is_connected", m.is_connected);
  f.always_null("err");
  f.field("instance_token", m.instance_token);
  f.nested("sphinx_geometry", m.sphinx_geometry);
  f.nested("pigeonhole_geometry", m.pigeonhole_geometry);
}
void fields(auto& f, Is<NewPkiDocumentEvent> auto& m) { f.field("payload", m.payload); }
void fields(auto& f, Is<MessageSentEvent> auto& m) {
  f.field("message_id", m.message_id);
  f.field("surbid", m.surbid);
  f.field("sent_at", m.sent_at);
  f.field("reply_eta", m.reply_eta);
  f.omitempty("err", m.err);  // a Go string: omitted when ""
}
void fields(auto& f, Is<MessageReplyEvent> auto& m) {
  f.field("message_id", m.message_id);
  f.field("surbid", m.surbid);
  f.field("payload", m.payload);
  f.omitempty("reply_index", m.reply_index);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<MessageIdGarbageCollected> auto& m) { f.field("message_id", m.message_id); }
void fields(auto& f, Is<NewKeypairReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("write_cap", m.write_cap, kWriteCapSize);
  f.field("read_cap", m.read_cap, kReadCapSize);
  f.field("first_message_index", m.first_message_index, kMessageBoxIndexSize);
  f.field("error_code", m.error_code);
}
template <class M>
  requires Is<M, EncryptReadReply> || Is<M, EncryptWriteReply>
void fields(auto& f, M& m) {
  f.field("query_id", m.query_id);
  f.field("message_ciphertext", m.message_ciphertext);
  f.field("envelope_descriptor", m.envelope_descriptor);
  f.field("envelope_hash", m.envelope_hash);
  f.field("next_message_box_index", m.next_message_box_index, kMessageBoxIndexSize);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<StartResendingEncryptedMessageReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("plaintext", m.plaintext);
  f.field("error_code", m.error_code);
  f.field("courier_identity_hash", m.courier_identity_hash);
  f.field("courier_queue_id", m.courier_queue_id);
}
template <class M>
  requires Is<M, CancelResendingEncryptedMessageReply> || Is<M, CancelResendingCopyCommandReply>
void fields(auto& f, M& m) {
  f.field("query_id", m.query_id);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<StartResendingCopyCommandReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("error_code", m.error_code);
  f.omitempty("replica_error_code", m.replica_error_code);
  f.omitempty("failed_envelope_index", m.failed_envelope_index);
}
void fields(auto& f, Is<NextMessageBoxIndexReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("next_message_box_index", m.next_message_box_index, kMessageBoxIndexSize);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<GetMessageBoxIndexCounterReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("counter", m.counter);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<GetPkiDocumentReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("payload", m.payload);
  f.field("epoch", m.epoch);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<DirectoryAuthority> auto& a) {
  f.field("identifier", a.identifier);
  f.field("pki_signature_scheme", a.pki_signature_scheme);
  f.field("wire_kem_scheme", a.wire_kem_scheme);
  f.text_list("addresses", a.addresses);
  f.field("identity_public_key_pem", a.identity_public_key_pem);
  f.field("link_public_key_pem", a.link_public_key_pem);
  f.zero_if_absent("identity_key_hash", a.identity_key_hash);  // a Go [32]byte value
}
void fields(auto& f, Is<GetDirectoryAuthoritiesReply> auto& m) {
  f.field("query_id", m.query_id);
  f.nested_list("authorities", m.authorities);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<CreateCourierEnvelopesFromPayloadReply> auto& m) {
  f.field("query_id", m.query_id);
  f.byte_list("envelopes", m.envelopes);
  f.field("next_dest_index", m.next_dest_index, kMessageBoxIndexSize);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<CreateCourierEnvelopesFromMultiPayloadReply> auto& m) {
  f.field("query_id", m.query_id);
  f.byte_list("envelopes", m.envelopes);
  f.field("buffer", m.buffer);
  f.byte_list("next_dest_indices", m.next_dest_indices, kMessageBoxIndexSize);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<CreateCourierEnvelopesFromTombstoneRangeReply> auto& m) {
  f.field("query_id", m.query_id);
  f.byte_list("envelopes", m.envelopes);
  f.field("buffer", m.buffer);
  f.field("next_dest_index", m.next_dest_index, kMessageBoxIndexSize);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<VoucherMintReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("voucher", m.voucher);
  f.field("voucher_payload", m.voucher_payload);
  f.field("voucher_write_cap", m.voucher_write_cap);
  f.field("voucher_read_cap", m.voucher_read_cap);
  f.field("voucher_secret_key", m.voucher_secret_key);
  f.field("voucher_public_key", m.voucher_public_key);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<VoucherInductReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("display_name", m.display_name);
  f.field("mutated_message_read_cap", m.mutated_message_read_cap);
  f.field("sealed_reply", m.sealed_reply);
  f.field("voucher_write_cap", m.voucher_write_cap);
  f.field("voucher_read_cap", m.voucher_read_cap);
  f.field("salt", m.salt);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<VoucherOpenReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("who_reply", m.who_reply);
  f.field("salt", m.salt);
  f.field("mutated_message_write_cap", m.mutated_message_write_cap);
  f.field("error_code", m.error_code);
}
void fields(auto& f, Is<VoucherDeriveStreamReply> auto& m) {
  f.field("query_id", m.query_id);
  f.field("voucher_write_cap", m.voucher_write_cap);
  f.field("voucher_read_cap", m.voucher_read_cap);
  f.field("error_code", m.error_code);
}

}  // namespace kpthin::detail
