// Strict decoding of every request and response (spec §1.4, §3, §4).
#include <utility>
#include <variant>

#include "cbor_value.hpp"
#include "codec_fields.hpp"
#include "kpthin/codec.hpp"
#include "message_keys.hpp"

namespace kpthin {

namespace {

using cbor::Kind;
using cbor::Value;
using detail::FieldReader;

// --- requests ---------------------------------------------------------------------------------

void read(FieldReader& f, SessionToken& m) { f.fixed("client_instance_token", m.client_instance_token); }
void read(FieldReader&, ThinClose&) {}
void read(FieldReader& f, SendMessage& m) {
  f.fixed("id", m.id);
  f.boolean("with_surb", m.with_surb);
  f.fixed("surbid", m.surbid);
  f.fixed("destination_id_hash", m.destination_id_hash);
  f.bytes("recipient_queue_id", m.recipient_queue_id);
  f.bytes("payload", m.payload);
}
void read(FieldReader& f, NewKeypair& m) {
  f.fixed("query_id", m.query_id);
  f.secret("seed", m.seed);  // Go: []byte; the daemon answers code 3 for a wrong length
}
void read(FieldReader& f, EncryptRead& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("read_cap", m.read_cap, kReadCapSize);
  f.bytes("message_box_index", m.message_box_index, kMessageBoxIndexSize);
}
void read(FieldReader& f, EncryptWrite& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("plaintext", m.plaintext);
  f.secret("write_cap", m.write_cap, kWriteCapSize);
  f.bytes("message_box_index", m.message_box_index, kMessageBoxIndexSize);
}
void read(FieldReader& f, StartResendingEncryptedMessage& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("read_cap", m.read_cap, kReadCapSize);
  f.secret("write_cap", m.write_cap, kWriteCapSize);
  f.bytes("message_box_index", m.message_box_index);  // Go: []byte, any length
  f.uint("reply_index", m.reply_index);
  f.secret("envelope_descriptor", m.envelope_descriptor);
  f.bytes("message_ciphertext", m.message_ciphertext);
  f.fixed("envelope_hash", m.envelope_hash);
  f.boolean("no_retry_on_box_id_not_found", m.no_retry_on_box_id_not_found);
  f.boolean("no_idempotent_box_already_exists", m.no_idempotent_box_already_exists);
}
void read(FieldReader& f, CancelResendingEncryptedMessage& m) {
  f.fixed("query_id", m.query_id);
  f.fixed("envelope_hash", m.envelope_hash);
}
void read(FieldReader& f, StartResendingCopyCommand& m) {
  f.fixed("query_id", m.query_id);
  f.secret("write_cap", m.write_cap, kWriteCapSize);
  f.fixed("courier_identity_hash", m.courier_identity_hash);
  f.bytes("courier_queue_id", m.courier_queue_id);
}
void read(FieldReader& f, CancelResendingCopyCommand& m) {
  f.fixed("query_id", m.query_id);
  f.fixed("write_cap_hash", m.write_cap_hash);
}
void read(FieldReader& f, NextMessageBoxIndex& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("message_box_index", m.message_box_index, kMessageBoxIndexSize);
}
void read(FieldReader& f, GetMessageBoxIndexCounter& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("message_box_index", m.message_box_index, kMessageBoxIndexSize);
}
void read(FieldReader& f, GetPkiDocument& m) {
  f.fixed("query_id", m.query_id);
  f.uint("epoch", m.epoch);
}
void read(FieldReader& f, GetDirectoryAuthorities& m) { f.fixed("query_id", m.query_id); }
void read(FieldReader& f, CreateCourierEnvelopesFromPayload& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("payload", m.payload);
  f.secret("dest_write_cap", m.dest_write_cap, kWriteCapSize);
  f.bytes("dest_start_index", m.dest_start_index, kMessageBoxIndexSize);
  f.boolean("is_start", m.is_start);
  f.boolean("is_last", m.is_last);
}
void read(FieldReader& f, CreateCourierEnvelopesFromMultiPayload& m) {
  f.fixed("query_id", m.query_id);
  m.destinations.clear();
  if (Value* list = f.array("destinations")) {
    m.destinations.reserve(list->items.size());
    for (std::size_t i = 0; i < list->items.size() && f.ok(); ++i) {
      Value& element = list->items[i];
      CourierDestination d;
      if (!element.is_null()) {  // a nil element decodes to the zero value in Go
        if (!f.element_is("destinations", i, element, Kind::kMap)) break;
        FieldReader inner(element, f.context() + ".destinations[" + std::to_string(i) + "]");
        inner.bytes("payload", d.payload);
        inner.secret("write_cap", d.write_cap, kWriteCapSize);
        inner.bytes("start_index", d.start_index, kMessageBoxIndexSize);
        if (!inner.ok()) {
          f.adopt(inner.status());
          break;
        }
      }
      m.destinations.push_back(std::move(d));
    }
  }
  f.boolean("is_start", m.is_start);
  f.boolean("is_last", m.is_last);
  f.bytes("buffer", m.buffer);
}
void read(FieldReader& f, CreateCourierEnvelopesFromTombstoneRange& m) {
  f.fixed("query_id", m.query_id);
  f.secret("dest_write_cap", m.dest_write_cap, kWriteCapSize);
  f.bytes("dest_start_index", m.dest_start_index, kMessageBoxIndexSize);
  f.uint("max_count", m.max_count);
  f.boolean("is_start", m.is_start);
  f.boolean("is_last", m.is_last);
  f.bytes("buffer", m.buffer);
}
void read(FieldReader& f, VoucherMint& m) {
  f.fixed("query_id", m.query_id);
  f.secret("message_write_cap", m.message_write_cap);
  f.text("display_name", m.display_name);
}
void read(FieldReader& f, VoucherInduct& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("voucher", m.voucher);
  f.bytes("voucher_payload", m.voucher_payload);
  f.bytes("who_reply", m.who_reply);
}
void read(FieldReader& f, VoucherOpen& m) {
  f.fixed("query_id", m.query_id);
  f.secret("voucher_secret_key", m.voucher_secret_key);
  f.bytes("sealed_reply", m.sealed_reply);
  f.secret("message_write_cap", m.message_write_cap);
}
void read(FieldReader& f, VoucherDeriveStream& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("voucher", m.voucher);
}

// --- responses --------------------------------------------------------------------------------

// Reads a nested map through its own reader and folds its first error into the parent's.
template <class Fill>
void read_nested(FieldReader& f, std::string_view name, Value& map, Fill fill) {
  FieldReader inner(map, f.context() + "." + std::string(name));
  fill(inner);
  f.adopt(inner.status());
}

void read(FieldReader& f, SessionTokenReply& m) {
  f.fixed("app_id", m.app_id);
  f.boolean("resumed", m.resumed);
}
void read(FieldReader&, ShutdownEvent&) {}
void read(FieldReader& f, ConnectionStatusEvent& m) {
  f.boolean("is_connected", m.is_connected);
  f.fixed("instance_token", m.instance_token);
  m.sphinx_geometry.reset();
  if (Value* g = f.map("sphinx_geometry")) {
    read_nested(f, "sphinx_geometry", *g, [&](FieldReader& r) {
      SphinxGeometry& s = m.sphinx_geometry.emplace();
      r.uint("PacketLength", s.PacketLength);
      r.uint("NrHops", s.NrHops);
      r.uint("HeaderLength", s.HeaderLength);
      r.uint("RoutingInfoLength", s.RoutingInfoLength);
      r.uint("PerHopRoutingInfoLength", s.PerHopRoutingInfoLength);
      r.uint("SURBLength", s.SURBLength);
      r.uint("SphinxPlaintextHeaderLength", s.SphinxPlaintextHeaderLength);
      r.uint("PayloadTagLength", s.PayloadTagLength);
      r.uint("ForwardPayloadLength", s.ForwardPayloadLength);
      r.uint("UserForwardPayloadLength", s.UserForwardPayloadLength);
      r.uint("NextNodeHopLength", s.NextNodeHopLength);
      r.uint("SPRPKeyMaterialLength", s.SPRPKeyMaterialLength);
      r.text("NIKEName", s.NIKEName);
      r.text("KEMName", s.KEMName);
    });
  }
  m.pigeonhole_geometry.reset();
  if (Value* g = f.map("pigeonhole_geometry")) {
    read_nested(f, "pigeonhole_geometry", *g, [&](FieldReader& r) {
      PigeonholeGeometry& p = m.pigeonhole_geometry.emplace();
      r.uint("MaxPlaintextPayloadLength", p.MaxPlaintextPayloadLength);
      r.uint("CourierQueryReadLength", p.CourierQueryReadLength);
      r.uint("CourierQueryWriteLength", p.CourierQueryWriteLength);
      r.uint("CourierQueryReplyReadLength", p.CourierQueryReplyReadLength);
      r.uint("CourierQueryReplyWriteLength", p.CourierQueryReplyWriteLength);
      r.text("NIKEName", p.NIKEName);
      r.text("SignatureSchemeName", p.SignatureSchemeName);
    });
  }
}
void read(FieldReader& f, NewPkiDocumentEvent& m) { f.bytes("payload", m.payload); }
void read(FieldReader& f, MessageSentEvent& m) {
  f.fixed("message_id", m.message_id);
  f.fixed("surbid", m.surbid);
  f.uint("sent_at", m.sent_at);
  f.uint("reply_eta", m.reply_eta);
  f.text("err", m.err);
}
void read(FieldReader& f, MessageReplyEvent& m) {
  f.fixed("message_id", m.message_id);
  f.fixed("surbid", m.surbid);
  f.bytes("payload", m.payload);
  f.uint("reply_index", m.reply_index);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, MessageIdGarbageCollected& m) { f.fixed("message_id", m.message_id); }
void read(FieldReader& f, NewKeypairReply& m) {
  f.fixed("query_id", m.query_id);
  f.secret("write_cap", m.write_cap, kWriteCapSize);
  f.bytes("read_cap", m.read_cap, kReadCapSize);
  f.bytes("first_message_index", m.first_message_index, kMessageBoxIndexSize);
  f.uint("error_code", m.error_code);
}
template <class EncryptReply>
void read_encrypt_reply(FieldReader& f, EncryptReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("message_ciphertext", m.message_ciphertext);
  f.secret("envelope_descriptor", m.envelope_descriptor);
  f.fixed("envelope_hash", m.envelope_hash);
  f.bytes("next_message_box_index", m.next_message_box_index, kMessageBoxIndexSize);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, EncryptReadReply& m) { read_encrypt_reply(f, m); }
void read(FieldReader& f, EncryptWriteReply& m) { read_encrypt_reply(f, m); }
void read(FieldReader& f, StartResendingEncryptedMessageReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("plaintext", m.plaintext);
  f.uint("error_code", m.error_code);
  f.fixed("courier_identity_hash", m.courier_identity_hash);
  f.bytes("courier_queue_id", m.courier_queue_id);
}
void read(FieldReader& f, CancelResendingEncryptedMessageReply& m) {
  f.fixed("query_id", m.query_id);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, StartResendingCopyCommandReply& m) {
  f.fixed("query_id", m.query_id);
  f.uint("error_code", m.error_code);
  f.uint("replica_error_code", m.replica_error_code);
  f.uint("failed_envelope_index", m.failed_envelope_index);
}
void read(FieldReader& f, CancelResendingCopyCommandReply& m) {
  f.fixed("query_id", m.query_id);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, NextMessageBoxIndexReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("next_message_box_index", m.next_message_box_index, kMessageBoxIndexSize);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, GetMessageBoxIndexCounterReply& m) {
  f.fixed("query_id", m.query_id);
  f.uint("counter", m.counter);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, GetPkiDocumentReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("payload", m.payload);
  f.uint("epoch", m.epoch);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, GetDirectoryAuthoritiesReply& m) {
  f.fixed("query_id", m.query_id);
  m.authorities.reset();
  if (Value* list = f.array("authorities")) {
    auto& out = m.authorities.emplace();
    out.reserve(list->items.size());
    for (std::size_t i = 0; i < list->items.size() && f.ok(); ++i) {
      Value& element = list->items[i];
      DirectoryAuthority a;
      if (!element.is_null()) {
        if (!f.element_is("authorities", i, element, Kind::kMap)) break;
        read_nested(f, "authorities[" + std::to_string(i) + "]", element, [&](FieldReader& r) {
          r.text("identifier", a.identifier);
          r.text("pki_signature_scheme", a.pki_signature_scheme);
          r.text("wire_kem_scheme", a.wire_kem_scheme);
          if (Value* addresses = r.array("addresses")) {
            for (std::size_t k = 0; k < addresses->items.size(); ++k) {
              if (!r.element_is("addresses", k, addresses->items[k], Kind::kText)) break;
              a.addresses.emplace_back(addresses->items[k].text());
            }
          }
          r.text("identity_public_key_pem", a.identity_public_key_pem);
          r.text("link_public_key_pem", a.link_public_key_pem);
          r.fixed("identity_key_hash", a.identity_key_hash);
        });
      }
      out.push_back(std::move(a));
    }
  }
  f.uint("error_code", m.error_code);
}

// [][]byte / []*MessageBoxIndex: null elements decode as empty.
void read_byte_list(FieldReader& f, std::string_view name, std::optional<std::vector<Bytes>>& out,
                    std::size_t exact = 0) {
  out.reset();
  Value* list = f.array(name);
  if (list == nullptr) return;
  auto& result = out.emplace();
  result.reserve(list->items.size());
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    Value& element = list->items[i];
    if (element.is_null()) {
      result.emplace_back();
      continue;
    }
    if (!f.element_is(name, i, element, Kind::kBytes, exact)) return;
    result.push_back(std::move(element.data));
  }
}

void read(FieldReader& f, CreateCourierEnvelopesFromPayloadReply& m) {
  f.fixed("query_id", m.query_id);
  read_byte_list(f, "envelopes", m.envelopes);
  f.bytes("next_dest_index", m.next_dest_index, kMessageBoxIndexSize);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, CreateCourierEnvelopesFromMultiPayloadReply& m) {
  f.fixed("query_id", m.query_id);
  read_byte_list(f, "envelopes", m.envelopes);
  f.bytes("buffer", m.buffer);
  read_byte_list(f, "next_dest_indices", m.next_dest_indices, kMessageBoxIndexSize);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, CreateCourierEnvelopesFromTombstoneRangeReply& m) {
  f.fixed("query_id", m.query_id);
  read_byte_list(f, "envelopes", m.envelopes);
  f.bytes("buffer", m.buffer);
  f.bytes("next_dest_index", m.next_dest_index, kMessageBoxIndexSize);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, VoucherMintReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("voucher", m.voucher);
  f.bytes("voucher_payload", m.voucher_payload);
  f.secret("voucher_write_cap", m.voucher_write_cap);
  f.bytes("voucher_read_cap", m.voucher_read_cap);
  f.secret("voucher_secret_key", m.voucher_secret_key);
  f.bytes("voucher_public_key", m.voucher_public_key);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, VoucherInductReply& m) {
  f.fixed("query_id", m.query_id);
  f.text("display_name", m.display_name);
  f.bytes("mutated_message_read_cap", m.mutated_message_read_cap);
  f.bytes("sealed_reply", m.sealed_reply);
  f.secret("voucher_write_cap", m.voucher_write_cap);
  f.bytes("voucher_read_cap", m.voucher_read_cap);
  f.bytes("salt", m.salt);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, VoucherOpenReply& m) {
  f.fixed("query_id", m.query_id);
  f.bytes("who_reply", m.who_reply);
  f.bytes("salt", m.salt);
  f.secret("mutated_message_write_cap", m.mutated_message_write_cap);
  f.uint("error_code", m.error_code);
}
void read(FieldReader& f, VoucherDeriveStreamReply& m) {
  f.fixed("query_id", m.query_id);
  f.secret("voucher_write_cap", m.voucher_write_cap);
  f.bytes("voucher_read_cap", m.voucher_read_cap);
  f.uint("error_code", m.error_code);
}

// --- envelope ---------------------------------------------------------------------------------

template <class Variant, std::size_t I>
Result<Variant> read_alternative(Value& body, const char* key) {
  std::variant_alternative_t<I, Variant> message;
  FieldReader f(body, key);
  read(f, message);
  if (!f.ok()) return f.status();
  return Variant(std::in_place_index<I>, std::move(message));
}

template <class Variant, std::size_t... I>
Result<Variant> read_by_index(std::size_t index, Value& body, const char* key, std::index_sequence<I...>) {
  using Reader = Result<Variant> (*)(Value&, const char*);
  static constexpr Reader kReaders[] = {&read_alternative<Variant, I>...};
  return kReaders[index](body, key);
}

template <class Variant, std::size_t N>
Result<Variant> decode_envelope(ByteView body, const std::array<const char*, N>& keys, const char* what) {
  Result<Value> root = cbor::decode(body);
  if (!root.ok()) return root.status();
  Value& map = root.value();
  if (map.kind != Kind::kMap) {
    return Status(local_errc::malformed_message,
                  std::string(what) + ": expected a map, got " + cbor::kind_name(map.kind));
  }
  int chosen = -1;
  Value* chosen_body = nullptr;
  for (std::size_t i = 0; i + 1 < map.items.size(); i += 2) {
    const Value& key = map.items[i];
    Value& value = map.items[i + 1];
    if (key.kind != Kind::kText || value.is_null()) continue;
    const int index = detail::match_key(key.text(), keys.data(), N);
    if (index < 0) continue;  // unknown keys are ignored, as Go does
    if (chosen >= 0) {
      return Status(local_errc::malformed_message, std::string(what) + ": two messages in one frame (" +
                                                       keys[static_cast<std::size_t>(chosen)] + " and " +
                                                       keys[static_cast<std::size_t>(index)] + ")");
    }
    chosen = index;
    chosen_body = &value;
  }
  if (chosen < 0) {
    return Status(local_errc::malformed_message, std::string(what) + ": no known message key with a non-null value");
  }
  const char* key = keys[static_cast<std::size_t>(chosen)];
  if (chosen_body->kind != Kind::kMap) {
    return Status(local_errc::malformed_message,
                  std::string(key) + ": expected a map, got " + cbor::kind_name(chosen_body->kind));
  }
  return read_by_index<Variant>(static_cast<std::size_t>(chosen), *chosen_body, key, std::make_index_sequence<N>{});
}

}  // namespace

Result<Request> decode_request(ByteView body) {
  return decode_envelope<Request>(body, detail::kRequestKeys, "request");
}

Result<Response> decode_response(ByteView body) {
  return decode_envelope<Response>(body, detail::kResponseKeys, "response");
}

}  // namespace kpthin
