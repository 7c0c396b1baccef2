// Codec golden vectors: spec §11 frames byte for byte, and every message in both envelope forms.
#include <doctest/doctest.h>

#include "cbor_value.hpp"
#include "kpthin/codec.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/frame.hpp"
#include "wire_test_util.hpp"

using namespace kpthin;
using namespace kpthin::test;

namespace {

// The cap vector of spec §11.3 (hpqc layout.json "cap_fixed").
Bytes spec_index() {
  return concat({unhex("0100000000000000"), filled(32, 0xaa), filled(32, 0xbb), filled(32, 0xcc)});
}
Bytes spec_pubkey() { return unhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"); }
Bytes spec_write_cap() { return concat({counting_bytes(32, 0x00), spec_pubkey(), spec_index()}); }
Bytes spec_read_cap() { return concat({spec_pubkey(), spec_index()}); }

}  // namespace

TEST_CASE("spec 11.2: NewKeypair request, minimal form, byte for byte") {
  NewKeypair m;
  m.query_id = counting<16>(0x00);
  m.seed = SecretBytes(counting_bytes(32, 0x20));
  const Bytes frame = make_frame(encode_request(Request(std::move(m)), EnvelopeForm::kMinimal));
  CHECK(to_hex(frame) == to_hex(golden("new_keypair.min.hex")));

  auto decoded = decode_request(golden_body("new_keypair.min.hex"));
  REQUIRE(decoded.ok());
  REQUIRE(std::holds_alternative<NewKeypair>(*decoded));
  const auto& d = std::get<NewKeypair>(*decoded);
  CHECK(d.query_id == counting<16>(0x00));
  CHECK(to_hex(d.seed.reveal()) == to_hex(counting_bytes(32, 0x20)));
}

TEST_CASE("spec 11.2: the Go form of the NewKeypair request is a 592-byte frame of 21 keys") {
  NewKeypair m;
  m.query_id = counting<16>(0x00);
  m.seed = SecretBytes(counting_bytes(32, 0x20));
  const Bytes body = encode_request(Request(m), EnvelopeForm::kGoFull);
  const Bytes frame = make_frame(body);
  CHECK(frame.size() == 592);
  CHECK(to_hex(Bytes(frame.begin(), frame.begin() + 5)) == "0000024cb5");
  auto decoded = decode_request(body);
  REQUIRE(decoded.ok());
  CHECK(std::get<NewKeypair>(*decoded).seed == m.seed);
}

TEST_CASE("spec 11.3: NewKeypair reply, Go form, 1246 bytes byte for byte") {
  NewKeypairReply r;
  r.query_id = counting<16>(0x00);
  r.write_cap = SecretBytes(spec_write_cap());
  r.read_cap = spec_read_cap();
  r.first_message_index = spec_index();
  const Bytes frame = make_frame(encode_response(Response(r), EnvelopeForm::kGoFull));
  CHECK(frame.size() == 1246);
  CHECK(to_hex(frame) == to_hex(golden("new_keypair_reply.go.hex")));

  auto decoded = decode_response(golden_body("new_keypair_reply.go.hex"));
  REQUIRE(decoded.ok());
  const auto& d = std::get<NewKeypairReply>(*decoded);
  CHECK(d.query_id == r.query_id);
  CHECK(d.write_cap == r.write_cap);
  CHECK(d.read_cap == r.read_cap);
  CHECK(d.first_message_index == r.first_message_index);
  CHECK(d.error_code == 0);
  CHECK(encode_response(*decoded, EnvelopeForm::kGoFull) == golden_body("new_keypair_reply.go.hex"));
}

// ---------------------------------------------------------------------------------------------
// Every message: the vectors written by tests/golden/gen_wire_golden.py (an independent Python
// CBOR encoder following spec §1.4 and the Go structs). Values mirror that script.

namespace {

QueryId qid() { return counting<16>(0x00); }
InstanceToken filled16() {
  InstanceToken t;
  t.fill(0x11);
  return t;
}
Bytes next_index() { return concat({unhex("0200000000000000"), filled(96, 0xdd)}); }
Hash256 h32() { return counting<32>(0x40); }
Hash256 h32b() { return counting<32>(0x60); }
Bytes ciphertext() { return counting_bytes(300, 0x05); }
Bytes descriptor_bytes() { return unhex("a345706f6368"); }
Bytes text_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }
Bytes payload() { return text_bytes("hello mixnet"); }
SecretBytes secret(Bytes b) { return SecretBytes(std::move(b)); }
// A CBOR text string item (head + UTF-8 bytes).
Bytes text_item(const std::string& s) {
  cbor::Writer w;
  w.text(s);
  return w.take();
}
Bytes qid_bytes() {
  const QueryId q = qid();
  return Bytes(q.begin(), q.end());
}

std::vector<Request> all_requests() {
  std::vector<Request> out;
  out.emplace_back(SessionToken{filled16()});
  out.emplace_back(ThinClose{});
  {
    SendMessage m;
    m.with_surb = true;
    m.surbid = counting<16>(0x80);
    m.destination_id_hash = h32();
    m.recipient_queue_id = text_bytes("+echo");
    m.payload = payload();
    out.emplace_back(std::move(m));
  }
  {
    NewKeypair m;
    m.query_id = qid();
    m.seed = secret(counting_bytes(32, 0x20));
    out.emplace_back(std::move(m));
  }
  {
    EncryptRead m;
    m.query_id = qid();
    m.read_cap = spec_read_cap();
    m.message_box_index = spec_index();
    out.emplace_back(std::move(m));
  }
  {
    EncryptWrite m;
    m.query_id = qid();
    m.plaintext = Bytes{};  // tombstone: empty, not null
    m.write_cap = secret(spec_write_cap());
    m.message_box_index = spec_index();
    out.emplace_back(std::move(m));
  }
  {
    StartResendingEncryptedMessage m;
    m.query_id = qid();
    m.read_cap = spec_read_cap();
    m.message_box_index = spec_index();
    m.reply_index = 0;
    m.envelope_descriptor = secret(descriptor_bytes());
    m.message_ciphertext = ciphertext();
    m.envelope_hash = h32();
    m.no_retry_on_box_id_not_found = true;
    out.emplace_back(std::move(m));
  }
  out.emplace_back(CancelResendingEncryptedMessage{qid(), h32()});
  {
    StartResendingCopyCommand m;
    m.query_id = qid();
    m.write_cap = secret(spec_write_cap());
    m.courier_identity_hash = h32b();
    m.courier_queue_id = text_bytes("courier");
    out.emplace_back(std::move(m));
  }
  out.emplace_back(CancelResendingCopyCommand{qid(), h32b()});
  out.emplace_back(NextMessageBoxIndex{qid(), spec_index()});
  out.emplace_back(GetMessageBoxIndexCounter{qid(), spec_index()});
  out.emplace_back(GetPkiDocument{qid(), 123456});
  out.emplace_back(GetDirectoryAuthorities{qid()});
  {
    CreateCourierEnvelopesFromPayload m;
    m.query_id = qid();
    m.payload = payload();
    m.dest_write_cap = secret(spec_write_cap());
    m.dest_start_index = spec_index();
    m.is_start = true;
    out.emplace_back(std::move(m));
  }
  {
    CreateCourierEnvelopesFromMultiPayload m;
    m.query_id = qid();
    m.destinations.push_back({payload(), secret(spec_write_cap()), spec_index()});
    m.destinations.push_back({text_bytes("second"), secret(spec_write_cap()), next_index()});
    m.is_last = true;
    m.buffer = unhex("010203");
    out.emplace_back(std::move(m));
  }
  {
    CreateCourierEnvelopesFromTombstoneRange m;
    m.query_id = qid();
    m.dest_write_cap = secret(spec_write_cap());
    m.dest_start_index = spec_index();
    m.max_count = 70000;
    m.is_start = true;
    m.is_last = true;
    out.emplace_back(std::move(m));
  }
  {
    VoucherMint m;
    m.query_id = qid();
    m.message_write_cap = secret(spec_write_cap());
    m.display_name = "Alice \xe2\x9c\x93";
    out.emplace_back(std::move(m));
  }
  out.emplace_back(VoucherInduct{qid(), counting_bytes(32, 0xa0), text_bytes("vp"), text_bytes("who")});
  {
    VoucherOpen m;
    m.query_id = qid();
    m.voucher_secret_key = secret(counting_bytes(32, 0xb0));
    m.sealed_reply = text_bytes("sealed");
    m.message_write_cap = secret(spec_write_cap());
    out.emplace_back(std::move(m));
  }
  out.emplace_back(VoucherDeriveStream{qid(), counting_bytes(32, 0xa0)});
  return out;
}

std::vector<Response> all_responses() {
  std::vector<Response> out;
  out.emplace_back(SessionTokenReply{counting<16>(0x30), true});
  out.emplace_back(ShutdownEvent{});
  {
    ConnectionStatusEvent m;
    m.is_connected = true;
    m.instance_token = counting<16>(0x70);
    m.sphinx_geometry = SphinxGeometry{3082, 5, 476, 410, 82, 572, 2, 32, 2574, 2000, 65, 64, "x25519", ""};
    m.pigeonhole_geometry = PigeonholeGeometry{1549, 1700, 1700, 1650, 1650, "CTIDH1024-X25519", "Ed25519"};
    out.emplace_back(std::move(m));
  }
  out.emplace_back(NewPkiDocumentEvent{unhex("a1654570")});
  {
    MessageSentEvent m;
    m.surbid = counting<16>(0x80);
    m.sent_at = 1700000000;
    m.reply_eta = 4500000000;
    m.err = "send failed";
    out.emplace_back(std::move(m));
  }
  {
    MessageReplyEvent m;
    m.message_id = counting<16>(0x90);
    m.surbid = counting<16>(0x80);
    m.payload = payload();
    out.emplace_back(std::move(m));
  }
  out.emplace_back(MessageIdGarbageCollected{counting<16>(0x90)});
  {
    NewKeypairReply m;  // the error shape: every payload field null
    m.query_id = qid();
    m.error_code = 3;
    out.emplace_back(std::move(m));
  }
  {
    EncryptReadReply m;
    m.query_id = qid();
    m.message_ciphertext = ciphertext();
    m.envelope_descriptor = secret(descriptor_bytes());
    m.envelope_hash = h32();
    m.next_message_box_index = next_index();
    out.emplace_back(std::move(m));
  }
  {
    EncryptWriteReply m;
    m.query_id = qid();
    m.message_ciphertext = ciphertext();
    m.envelope_descriptor = secret(descriptor_bytes());
    m.envelope_hash = h32();
    m.next_message_box_index = next_index();
    out.emplace_back(std::move(m));
  }
  {
    StartResendingEncryptedMessageReply m;
    m.query_id = qid();
    m.plaintext = Bytes{};
    m.error_code = 11;
    m.courier_identity_hash = h32b();
    m.courier_queue_id = text_bytes("courier");
    out.emplace_back(std::move(m));
  }
  out.emplace_back(CancelResendingEncryptedMessageReply{qid(), 0});
  out.emplace_back(StartResendingCopyCommandReply{qid(), 26, 6, 3});
  out.emplace_back(CancelResendingCopyCommandReply{qid(), 0});
  out.emplace_back(NextMessageBoxIndexReply{qid(), next_index(), 0});
  out.emplace_back(GetMessageBoxIndexCounterReply{qid(), (std::uint64_t{1} << 40) + 7, 0});
  out.emplace_back(GetPkiDocumentReply{qid(), std::nullopt, 123456, 10});
  {
    DirectoryAuthority a;
    a.identifier = "auth1";
    a.pki_signature_scheme = "Ed25519 Sphincs+";
    a.wire_kem_scheme = "xwing";
    a.addresses = {"tcp://127.0.0.1:30001", "tcp://[::1]:30001"};
    a.identity_public_key_pem = "-----BEGIN ED25519 PUBLIC KEY-----\nAAAA\n-----END ED25519 PUBLIC KEY-----\n";
    a.identity_key_hash = h32();
    GetDirectoryAuthoritiesReply m;
    m.query_id = qid();
    m.authorities = std::vector<DirectoryAuthority>{a};
    out.emplace_back(std::move(m));
  }
  out.emplace_back(CreateCourierEnvelopesFromPayloadReply{qid(), std::vector<Bytes>{ciphertext(), filled(24, 7)},
                                                          next_index(), 0});
  out.emplace_back(CreateCourierEnvelopesFromMultiPayloadReply{
      qid(), std::vector<Bytes>{}, filled(10, 9), std::vector<Bytes>{next_index(), spec_index()}, 0});
  out.emplace_back(CreateCourierEnvelopesFromTombstoneRangeReply{qid(), std::vector<Bytes>{ciphertext()}, std::nullopt,
                                                                 next_index(), 0});
  {
    VoucherMintReply m;
    m.query_id = qid();
    m.voucher = counting_bytes(32, 0xa0);
    m.voucher_payload = text_bytes("vp");
    m.voucher_write_cap = secret(spec_write_cap());
    m.voucher_read_cap = spec_read_cap();
    m.voucher_secret_key = secret(counting_bytes(32, 0xb0));
    m.voucher_public_key = counting_bytes(32, 0xc0);
    out.emplace_back(std::move(m));
  }
  {
    VoucherInductReply m;
    m.query_id = qid();
    m.display_name = "Bob";
    m.mutated_message_read_cap = spec_read_cap();
    m.sealed_reply = text_bytes("sealed");
    m.voucher_write_cap = secret(spec_write_cap());
    m.voucher_read_cap = spec_read_cap();
    m.salt = counting_bytes(16, 0xd0);
    out.emplace_back(std::move(m));
  }
  {
    VoucherOpenReply m;
    m.query_id = qid();
    m.who_reply = text_bytes("who");
    m.salt = counting_bytes(16, 0xd0);
    m.mutated_message_write_cap = secret(spec_write_cap());
    out.emplace_back(std::move(m));
  }
  {
    VoucherDeriveStreamReply m;
    m.error_code = 28;
    out.emplace_back(std::move(m));
  }
  return out;
}

}  // namespace

TEST_CASE("every request encodes to its golden frame in both forms, and decodes back to the same bytes") {
  const auto requests = all_requests();
  REQUIRE(requests.size() == std::variant_size_v<Request>);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    REQUIRE(r.index() == i);  // one of each, in Go order
    const std::string key = request_key(r);
    for (auto [form, suffix] : {std::pair{EnvelopeForm::kMinimal, ".min.hex"}, std::pair{EnvelopeForm::kGoFull, ".go.hex"}}) {
      CAPTURE(key);
      CAPTURE(suffix);
      const std::string file = "req_" + key + suffix;
      const Bytes body = golden_body(file);
      CHECK(to_hex(encode_request(r, form)) == to_hex(body));
      auto decoded = decode_request(body);
      REQUIRE_MESSAGE(decoded.ok(), decoded.status().message());
      CHECK(decoded->index() == i);
      CHECK(to_hex(encode_request(*decoded, form)) == to_hex(body));
      // The other envelope form of the decoded message matches the other golden file.
      const auto other = form == EnvelopeForm::kMinimal ? EnvelopeForm::kGoFull : EnvelopeForm::kMinimal;
      const std::string other_file = "req_" + key + (form == EnvelopeForm::kMinimal ? ".go.hex" : ".min.hex");
      CHECK(to_hex(encode_request(*decoded, other)) == to_hex(golden_body(other_file)));
    }
  }
}

TEST_CASE("every response encodes to its golden frame in both forms, and decodes back to the same bytes") {
  const auto responses = all_responses();
  REQUIRE(responses.size() == std::variant_size_v<Response>);
  for (std::size_t i = 0; i < responses.size(); ++i) {
    const Response& r = responses[i];
    REQUIRE(r.index() == i);
    const std::string key = response_key(r);
    for (auto [form, suffix] : {std::pair{EnvelopeForm::kMinimal, ".min.hex"}, std::pair{EnvelopeForm::kGoFull, ".go.hex"}}) {
      CAPTURE(key);
      CAPTURE(suffix);
      const Bytes body = golden_body("resp_" + key + suffix);
      CHECK(to_hex(encode_response(r, form)) == to_hex(body));
      auto decoded = decode_response(body);
      REQUIRE_MESSAGE(decoded.ok(), decoded.status().message());
      CHECK(decoded->index() == i);
      CHECK(to_hex(encode_response(*decoded, form)) == to_hex(body));
    }
  }
}

TEST_CASE("decoded values: nil versus empty, omitempty fields, optionals") {
  auto write = decode_request(golden_body("req_encrypt_write.min.hex"));
  REQUIRE(write.ok());
  const auto& w = std::get<EncryptWrite>(*write);
  REQUIRE(w.plaintext.has_value());  // tombstone: present and empty
  CHECK(w.plaintext->empty());
  CHECK(w.write_cap.size() == kWriteCapSize);

  auto srem = decode_request(golden_body("req_start_resending_encrypted_message.go.hex"));
  REQUIRE(srem.ok());
  const auto& s = std::get<StartResendingEncryptedMessage>(*srem);
  CHECK(s.read_cap.has_value());
  CHECK(!s.write_cap.has_value());
  CHECK(s.reply_index == std::optional<std::uint8_t>(0));
  CHECK(s.no_retry_on_box_id_not_found);
  CHECK(!s.no_idempotent_box_already_exists);
  CHECK(s.envelope_hash == h32());

  auto sent = decode_response(golden_body("resp_message_sent_event.go.hex"));
  REQUIRE(sent.ok());
  const auto& e = std::get<MessageSentEvent>(*sent);
  CHECK(!e.message_id.has_value());
  CHECK(e.sent_at == std::optional<std::uint64_t>(1700000000));
  CHECK(e.reply_eta == 4500000000u);
  CHECK(e.err == std::optional<std::string>("send failed"));

  auto status = decode_response(golden_body("resp_connection_status_event.go.hex"));
  REQUIRE(status.ok());
  const auto& c = std::get<ConnectionStatusEvent>(*status);
  REQUIRE(c.sphinx_geometry.has_value());
  CHECK(c.sphinx_geometry->UserForwardPayloadLength == 2000);
  CHECK(c.sphinx_geometry->NIKEName == "x25519");
  REQUIRE(c.pigeonhole_geometry.has_value());
  CHECK(c.pigeonhole_geometry->MaxPlaintextPayloadLength == 1549);

  auto pki = decode_response(golden_body("resp_get_pki_document_reply.go.hex"));
  REQUIRE(pki.ok());
  CHECK(!std::get<GetPkiDocumentReply>(*pki).payload.has_value());
  CHECK(std::get<GetPkiDocumentReply>(*pki).error_code == 10);

  auto multi = decode_response(golden_body("resp_create_courier_envelopes_from_multi_payload_reply.go.hex"));
  REQUIRE(multi.ok());
  const auto& m = std::get<CreateCourierEnvelopesFromMultiPayloadReply>(*multi);
  REQUIRE(m.envelopes.has_value());  // empty array, not null
  CHECK(m.envelopes->empty());
  REQUIRE(m.next_dest_indices.has_value());
  CHECK(m.next_dest_indices->size() == 2);

  auto copy = decode_response(golden_body("resp_start_resending_copy_command_reply.min.hex"));
  REQUIRE(copy.ok());
  CHECK(std::get<StartResendingCopyCommandReply>(*copy).replica_error_code == 6);
  CHECK(std::get<StartResendingCopyCommandReply>(*copy).failed_envelope_index == 3);
}

TEST_CASE("omitempty fields are left out when empty, like Go") {
  StartResendingEncryptedMessage m;
  m.query_id = qid();
  const Bytes body = encode_request(Request(m));
  const std::string hex = to_hex(body);
  CHECK(hex.find(to_hex(text_bytes("reply_index"))) == std::string::npos);
  CHECK(hex.find(to_hex(text_bytes("no_retry_on_box_id_not_found"))) == std::string::npos);
  CHECK(hex.find(to_hex(text_bytes("no_idempotent_box_already_exists"))) == std::string::npos);
  CHECK(hex.find(to_hex(text_bytes("envelope_hash"))) != std::string::npos);

  StartResendingCopyCommandReply r{qid(), 0, 0, 0};
  CHECK(to_hex(encode_response(Response(r), EnvelopeForm::kMinimal)) ==
        to_hex(concat({unhex("a1"), unhex("7822"), text_bytes("start_resending_copy_command_reply"), unhex("a2"),
                       unhex("68"), text_bytes("query_id"), unhex("50"), qid_bytes(),
                       unhex("6a"), text_bytes("error_code"), unhex("00")})));

  MessageSentEvent e;  // err empty -> omitted; sent_at unset -> null
  const std::string sent = to_hex(encode_response(Response(e), EnvelopeForm::kMinimal));
  CHECK(sent.find(to_hex(text_bytes("err"))) == std::string::npos);
  CHECK(sent.find(to_hex(text_bytes("sent_at")) + "f6") != std::string::npos);
}

TEST_CASE("decoding accepts the minimal form, absent == null, unknown keys and case-insensitive keys") {
  // {"new_keypair_reply": {"error_code": 3}} - everything else absent.
  auto minimal = decode_response(concat({unhex("a1"), unhex("71"), text_bytes("new_keypair_reply"), unhex("a1"),
                                         unhex("6a"), text_bytes("error_code"), unhex("03")}));
  REQUIRE(minimal.ok());
  const auto& r = std::get<NewKeypairReply>(*minimal);
  CHECK(r.error_code == 3);
  CHECK(!r.query_id.has_value());
  CHECK(r.write_cap.empty());

  // Unknown top-level and inner keys are ignored; a null unknown key too.
  auto unknown = decode_request(concat({unhex("a3"), unhex("65"), text_bytes("hello"), unhex("f6"), unhex("66"),
                                        text_bytes("future"), unhex("a0"), unhex("6a"), text_bytes("thin_close"),
                                        unhex("a1"), unhex("63"), text_bytes("new"), unhex("01")}));
  REQUIRE(unknown.ok());
  CHECK(std::holds_alternative<ThinClose>(*unknown));

  // Case-insensitive fallback, as Go's FieldNameMatchingPreferCaseSensitive.
  auto folded = decode_request(concat({unhex("a1"), unhex("6b"), text_bytes("NEW_KEYPAIR"), unhex("a1"), unhex("68"),
                                       text_bytes("Query_ID"), unhex("50"), Bytes(16, 0x42)}));
  REQUIRE(folded.ok());
  CHECK(std::get<NewKeypair>(*folded).query_id == std::optional<QueryId>(FixedBytes<16>{
                                                      0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                                      0x42, 0x42, 0x42, 0x42, 0x42, 0x42}));

  // Exact match wins over a case-insensitive one.
  auto both = decode_response(concat({unhex("a1"), text_item("cancel_resending_copy_command_reply"),
                                      unhex("a2"), unhex("6a"), text_bytes("ERROR_CODE"), unhex("05"), unhex("6a"),
                                      text_bytes("error_code"), unhex("07")}));
  REQUIRE(both.ok());
  CHECK(std::get<CancelResendingCopyCommandReply>(*both).error_code == 7);
}

TEST_CASE("envelope errors: zero or two non-null message keys, non-map bodies") {
  auto no_key = decode_response(unhex("a0"));
  REQUIRE(!no_key.ok());
  CHECK(no_key.status().message().find("no known message key") != std::string::npos);
  // Unknown, not malformed: a receiver may skip it (a newer peer's message).
  CHECK(no_key.status().code() == make_error_code(local_errc::unknown_message));

  auto all_null = decode_response(golden_body("resp_shutdown_event.go.hex"));
  REQUIRE(all_null.ok());  // sanity: shutdown_event {} is non-null

  auto two = decode_request(concat({unhex("a2"), unhex("6a"), text_bytes("thin_close"), unhex("a0"), unhex("6d"),
                                    text_bytes("session_token"), unhex("a0")}));
  REQUIRE(!two.ok());
  CHECK(two.status().message().find("two messages") != std::string::npos);
  CHECK(two.status().code() == make_error_code(local_errc::malformed_message));

  auto not_map = decode_request(concat({unhex("a1"), unhex("6a"), text_bytes("thin_close"), unhex("05")}));
  REQUIRE(!not_map.ok());
  CHECK(not_map.status().message().find("thin_close: expected a map, got unsigned integer") != std::string::npos);

  CHECK(!decode_request(unhex("f6")).ok());   // a bare null frame
  CHECK(!decode_request(unhex("80")).ok());   // an array
  CHECK(!decode_response(unhex("")).ok());    // nothing
}

TEST_CASE("field errors name the key and the problem") {
  NewKeypairReply r;
  r.query_id = qid();
  r.write_cap = secret(filled(12, 1));
  const Bytes body = encode_response(Response(r), EnvelopeForm::kMinimal);
  auto decoded = decode_response(body);
  REQUIRE(!decoded.ok());
  CHECK(decoded.status().code() == make_error_code(local_errc::malformed_message));
  CHECK(decoded.status().context() == "new_keypair_reply.write_cap: expected 168 bytes, got 12");

  CreateCourierEnvelopesFromMultiPayload m;
  m.query_id = qid();
  m.destinations.push_back({payload(), secret(spec_write_cap()), spec_index()});
  m.destinations.push_back({payload(), secret(spec_write_cap()), filled(103, 0)});
  auto multi = decode_request(encode_request(Request(std::move(m))));
  REQUIRE(!multi.ok());
  CHECK(multi.status().context() ==
        "create_courier_envelopes_from_multi_payload.destinations[1].start_index: expected 104 bytes, got 103");

  // error_code is a Go uint8.
  auto wide = decode_response(concat({unhex("a1"), unhex("6e"), text_bytes("shutdown_event"), unhex("a0")}));
  CHECK(wide.ok());
  auto overflow = decode_response(concat({unhex("a1"), text_item("cancel_resending_encrypted_message_reply"),
                                          unhex("a1"), unhex("6a"), text_bytes("error_code"), unhex("190100")}));
  REQUIRE(!overflow.ok());
  CHECK(overflow.status().context() ==
        "cancel_resending_encrypted_message_reply.error_code: value 256 exceeds the maximum 255");
}

TEST_CASE("indefinite-length items decode like definite ones") {
  // {_ "new_keypair": {_ "query_id": (_ h'00010203', h'0405060708090a0b0c0d0e0f'), "seed": h'..'}}
  const Bytes body = concat({unhex("bf"), unhex("6b"), text_bytes("new_keypair"), unhex("bf"), unhex("68"),
                             text_bytes("query_id"), unhex("5f4400010203"), unhex("4c0405060708090a0b0c0d0e0f"),
                             unhex("ff"), unhex("7f627365626564ff"), unhex("5820"), counting_bytes(32, 0x20), unhex("ff"),
                             unhex("ff")});
  auto decoded = decode_request(body);
  REQUIRE_MESSAGE(decoded.ok(), decoded.status().message());
  const auto& m = std::get<NewKeypair>(*decoded);
  CHECK(m.query_id == std::optional<QueryId>(qid()));
  CHECK(to_hex(m.seed.reveal()) == to_hex(counting_bytes(32, 0x20)));
}

TEST_CASE("spec 11.1 and 11.4: session_token, session_token_reply and thin_close frames") {
  InstanceToken token;
  token.fill(0x11);
  CHECK(to_hex(make_frame(encode_request(Request(SessionToken{token})))) ==
        "00000037a16d73657373696f6e5f746f6b656ea175636c69656e745f696e7374616e63655f746f6b656e50"
        "11111111111111111111111111111111");
  CHECK(to_hex(make_frame(encode_request(Request(ThinClose{})))) == "0000000da16a7468696e5f636c6f7365a0");
  const Bytes reply = encode_response(Response(SessionTokenReply{counting<16>(0), false}));  // kGoFull default
  CHECK(reply.size() == 784);
  CHECK(to_hex(Bytes(reply.begin(), reply.begin() + 3)) == "b81973");
}
