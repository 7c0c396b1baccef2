// kpclientd-sim spoken to in raw frames: every request type and its semantics.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>

#include <unistd.h>

#include "kpthin/config.hpp"
#include "kpthin/frame.hpp"
#include "sim_network.hpp"
#include "sim_ops.hpp"

using namespace kpthin;
using namespace kpsim_test;

namespace {

// Copy-stream geometry (spec §7.5): an element carries at most a chunk of Max - 5 bytes; a record
// is a u32 length and a CourierEnvelope, i.e. a CourierQuery without its query-type byte.
const std::size_t kChunk = kpsim::SimNetwork::pigeonhole_geometry().MaxPlaintextPayloadLength - 5;
const std::size_t kRecord = 4 + kpsim::SimNetwork::pigeonhole_geometry().CourierQueryWriteLength - 1;
constexpr std::uint8_t kElementStart = 0x01;

struct Connected {
  SimProcess sim;
  RawClient client;
  explicit Connected(std::vector<std::string> args = {}) : sim(std::move(args)), client(sim.target()) {
    client.handshake(token_of(0x42));
  }
};

const kpsim::SimService& echo_service() {
  static const kpsim::SimNetwork network(0);
  for (const auto& s : network.services())
    if (s.capability == "echo") return s;
  throw std::runtime_error("no echo service");
}

std::uint64_t le64(const Bytes& b) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[static_cast<std::size_t>(i)];
  return v;
}

}  // namespace

TEST_CASE("handshake: connection status with both geometries, PKI document, fresh session") {
  Connected c;
  CHECK(c.client.status.is_connected);
  CHECK(c.client.status.instance_token != InstanceToken{});
  REQUIRE(c.client.status.sphinx_geometry);
  REQUIRE(c.client.status.pigeonhole_geometry);
  CHECK(c.client.status.sphinx_geometry->UserForwardPayloadLength == 2000);
  CHECK(c.client.status.sphinx_geometry->NIKEName == "x25519");
  CHECK(c.client.status.pigeonhole_geometry->MaxPlaintextPayloadLength == 1549);
  CHECK(c.client.status.pigeonhole_geometry->SignatureSchemeName == "Ed25519");
  REQUIRE(c.client.pki.payload);
  CHECK(c.client.pki.payload->size() > 500);
  CHECK_FALSE(c.client.token_reply.resumed);
  CHECK(c.client.early.empty());
  // A second connection gets its own AppID but the same daemon instance token.
  RawClient other(c.sim.target());
  other.handshake(token_of(0x43));
  CHECK(other.status.instance_token == c.client.status.instance_token);
  CHECK(other.token_reply.app_id != c.client.token_reply.app_id);
}

TEST_CASE("tcp listener and Go's full 21-key request form") {
  SimProcess sim({"--listen-tcp", "127.0.0.1:0"});
  CHECK(sim.target().kind == TransportKind::kTcp);
  CHECK(sim.target().address.find(":0") == std::string::npos);
  RawClient client(sim.target());
  client.handshake(token_of(1));
  NewKeypair r;
  r.query_id = fresh_query_id();
  r.seed = seed_of(7);
  client.send(Request{r}, EnvelopeForm::kGoFull);
  auto reply = client.receive();
  REQUIRE(reply);
  REQUIRE(std::holds_alternative<NewKeypairReply>(*reply));
  CHECK(std::get<NewKeypairReply>(*reply).query_id == r.query_id);
}

TEST_CASE("new_keypair: exact sizes, deterministic in the seed, read cap corresponds to write cap") {
  Connected c;
  const RawChannel a = raw_keypair(c.client, 1);
  CHECK(a.write_cap.size() == kWriteCapSize);
  CHECK(a.read_cap.size() == kReadCapSize);
  CHECK(a.first_index.size() == kMessageBoxIndexSize);
  const ByteView w = a.write_cap.reveal();
  CHECK(std::equal(a.read_cap.begin(), a.read_cap.begin() + 32, w.begin() + 32));        // public key
  CHECK(std::equal(a.read_cap.begin() + 32, a.read_cap.end(), a.first_index.begin()));  // index tail
  CHECK(std::equal(w.begin() + 64, w.end(), a.first_index.begin()));

  const RawChannel again = raw_keypair(c.client, 1);
  CHECK(again.write_cap == a.write_cap);
  CHECK(again.read_cap == a.read_cap);
  Connected other;  // another process: still the same caps
  CHECK(raw_keypair(other.client, 1).read_cap == a.read_cap);
  CHECK(raw_keypair(c.client, 2).read_cap != a.read_cap);

  NewKeypair bad;
  bad.seed = SecretBytes(Bytes(16, 1));
  auto reply = c.client.call<NewKeypairReply>(std::move(bad));
  REQUIRE(reply);
  CHECK(reply->error_code == 3);
  CHECK(reply->write_cap.empty());
}

TEST_CASE("next_message_box_index and get_message_box_index_counter") {
  Connected c;
  const RawChannel ch = raw_keypair(c.client, 3);
  GetMessageBoxIndexCounter counter_request;
  counter_request.message_box_index = ch.first_index;
  auto counter = c.client.call<GetMessageBoxIndexCounterReply>(counter_request);
  REQUIRE(counter);
  CHECK(counter->counter == le64(ch.first_index));

  NextMessageBoxIndex next_request;
  next_request.message_box_index = ch.first_index;
  auto next = c.client.call<NextMessageBoxIndexReply>(next_request);
  REQUIRE(next);
  CHECK(next->next_message_box_index.size() == kMessageBoxIndexSize);
  CHECK(le64(next->next_message_box_index) == le64(ch.first_index) + 1);
  // Deterministic: encrypt_write reports the same successor.
  CHECK(encrypt_write(c.client, ch, ch.first_index, bytes_of("x")).next_index == next->next_message_box_index);
}

TEST_CASE("write then read round trip, and a second box") {
  Connected c;
  const RawChannel ch = raw_keypair(c.client, 4);
  const Encrypted w = encrypt_write(c.client, ch, ch.first_index, bytes_of("hello, mixnet"));
  CHECK(w.ciphertext.size() == 2000);
  auto wr = resend(c.client, write_request(ch, w));
  REQUIRE(wr);
  CHECK(wr->error_code == 0);
  CHECK_FALSE(wr->plaintext);
  CHECK(wr->courier_identity_hash);
  CHECK(wr->courier_queue_id == bytes_of("courier"));

  auto rd = read_box(c.client, ch, ch.first_index);
  REQUIRE(rd);
  CHECK(rd->error_code == 0);
  REQUIRE(rd->plaintext);
  CHECK(*rd->plaintext == bytes_of("hello, mixnet"));

  CHECK(write_box(c.client, ch, w.next_index, bytes_of("second")) == 0);
  auto second = read_box(c.client, ch, w.next_index);
  REQUIRE(second);
  CHECK(*second->plaintext == bytes_of("second"));
  CHECK(c.sim.stat("boxes") == 2);
}

TEST_CASE("tombstone read, box-not-found with no-retry, and box-already-exists") {
  Connected c;
  const RawChannel ch = raw_keypair(c.client, 5);
  CHECK(write_box(c.client, ch, ch.first_index, bytes_of("doomed")) == 0);
  CHECK(write_box(c.client, ch, ch.first_index, Bytes{}) == 0);  // tombstone replaces
  auto tomb = read_box(c.client, ch, ch.first_index);
  REQUIRE(tomb);
  CHECK(tomb->error_code == 11);
  CHECK_FALSE(tomb->plaintext);

  NextMessageBoxIndex next_request;
  next_request.message_box_index = ch.first_index;
  const Bytes second = c.client.call<NextMessageBoxIndexReply>(next_request)->next_message_box_index;
  auto missing = read_box(c.client, ch, second, /*no_retry=*/true);
  REQUIRE(missing);
  CHECK(missing->error_code == 1);

  CHECK(write_box(c.client, ch, second, bytes_of("first")) == 0);
  CHECK(write_box(c.client, ch, second, bytes_of("first"), true) == 0);    // same content: idempotent
  CHECK(write_box(c.client, ch, second, bytes_of("other")) == 0);          // default: courier ACK
  CHECK(write_box(c.client, ch, second, bytes_of("other"), true) == 10);   // replica verdict
  CHECK(*read_box(c.client, ch, second)->plaintext == bytes_of("first"));  // write-once
}

TEST_CASE("a read waits for a box that is written later") {
  Connected c;
  const RawChannel ch = raw_keypair(c.client, 6);
  const Encrypted r = encrypt_read(c.client, ch, ch.first_index);
  auto request = read_request(ch, r, ch.first_index, false);
  const QueryId id = *request.query_id;
  c.client.send(Request{request});
  REQUIRE(c.sim.wait_stat("waiting", 1));
  CHECK(write_box(c.client, ch, ch.first_index, bytes_of("late")) == 0);
  auto reply = c.client.receive_until([&](const Response& x) { return reply_query_id(x) == id; });
  REQUIRE(reply);
  const auto& srem = std::get<StartResendingEncryptedMessageReply>(*reply);
  CHECK(srem.error_code == 0);
  CHECK(*srem.plaintext == bytes_of("late"));
}

TEST_CASE("cancel of a read waiting for a box never written: two frames in order") {
  Connected c;
  const RawChannel ch = raw_keypair(c.client, 7);
  const Encrypted r = encrypt_read(c.client, ch, ch.first_index);
  auto request = read_request(ch, r, ch.first_index, false);
  const QueryId original = *request.query_id;
  c.client.send(Request{request});
  REQUIRE(c.sim.wait_stat("waiting", 1));

  CancelResendingEncryptedMessage cancel;
  cancel.query_id = fresh_query_id();
  cancel.envelope_hash = r.hash;
  c.client.send(Request{cancel});
  auto first = c.client.receive();
  auto second = c.client.receive();
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(std::holds_alternative<StartResendingEncryptedMessageReply>(*first));
  CHECK(std::get<StartResendingEncryptedMessageReply>(*first).query_id == original);
  CHECK(std::get<StartResendingEncryptedMessageReply>(*first).error_code == 24);
  REQUIRE(std::holds_alternative<CancelResendingEncryptedMessageReply>(*second));
  CHECK(std::get<CancelResendingEncryptedMessageReply>(*second).query_id == cancel.query_id);
  CHECK(std::get<CancelResendingEncryptedMessageReply>(*second).error_code == 0);
  CHECK(c.sim.stat("cancels_matched") == 1);
  CHECK(c.sim.stat("pending") == 0);

  // Nothing in flight: only the cancel reply, still code 0.
  auto again = c.client.call<CancelResendingEncryptedMessageReply>(CancelResendingEncryptedMessage{std::nullopt, r.hash});
  REQUIRE(again);
  CHECK(again->error_code == 0);
  CHECK(c.client.skipped.empty());
  CHECK(c.sim.stat("cancels") == 2);
  auto missing = c.client.call<CancelResendingEncryptedMessageReply>(CancelResendingEncryptedMessage{});
  REQUIRE(missing);
  CHECK(missing->error_code == 3);
}

TEST_CASE("reads check the index and the descriptor") {
  Connected c;
  const RawChannel ch = raw_keypair(c.client, 8);
  CHECK(write_box(c.client, ch, ch.first_index, bytes_of("data")) == 0);
  const Encrypted r = encrypt_read(c.client, ch, ch.first_index);
  auto wrong_index = resend(c.client, read_request(ch, r, r.next_index, true));
  REQUIRE(wrong_index);
  CHECK(wrong_index->error_code == 23);
  Encrypted foreign = r;
  foreign.descriptor = encrypt_read(c.client, ch, ch.first_index).descriptor;
  auto wrong_descriptor = resend(c.client, read_request(ch, foreign, ch.first_index, true));
  REQUIRE(wrong_descriptor);
  CHECK(wrong_descriptor->error_code == 22);
}

TEST_CASE("validation: oversize and missing fields are code 3") {
  Connected c;
  const RawChannel ch = raw_keypair(c.client, 9);
  EncryptWrite big;
  big.plaintext = Bytes(1550, 'x');
  big.write_cap = ch.write_cap;
  big.message_box_index = ch.first_index;
  CHECK(c.client.call<EncryptWriteReply>(big)->error_code == 3);
  big.plaintext = Bytes(1549, 'x');
  CHECK(c.client.call<EncryptWriteReply>(big)->error_code == 0);
  big.plaintext.reset();
  auto null_plaintext = c.client.call<EncryptWriteReply>(big);
  CHECK(null_plaintext->error_code == 3);
  CHECK(null_plaintext->message_ciphertext.empty());

  const Encrypted w = encrypt_write(c.client, ch, ch.first_index, bytes_of("v"));
  auto both = write_request(ch, w);
  both.read_cap = ch.read_cap;
  auto both_reply = resend(c.client, both);
  CHECK(both_reply->error_code == 3);
  CHECK_FALSE(both_reply->courier_identity_hash);
  auto no_descriptor = write_request(ch, w);
  no_descriptor.envelope_descriptor = SecretBytes();
  CHECK(resend(c.client, no_descriptor)->error_code == 3);
  auto no_hash = write_request(ch, w);
  no_hash.envelope_hash.reset();
  CHECK(resend(c.client, no_hash)->error_code == 3);

  CreateCourierEnvelopesFromMultiPayload none;
  CHECK(c.client.call<CreateCourierEnvelopesFromMultiPayloadReply>(none)->error_code == 3);
  CHECK(c.client.closed() == false);
}

TEST_CASE("a frame kpclientd could not decode closes the connection, reason on stderr") {
  SUBCASE("invalid CBOR") {
    Connected c;
    c.client.send_raw(make_frame(Bytes{0xff, 0x00, 0x13}));
    CHECK_FALSE(c.client.receive(3s));
    CHECK(c.client.closed());
    CHECK(c.sim.wait_stat("undecodable", 1));
    CHECK(c.sim.stderr_text().find("cannot decode") != std::string::npos);
  }
  SUBCASE("oversize length prefix") {
    Connected c;
    c.client.send_raw(Bytes{0xff, 0xff, 0xff, 0xff});
    CHECK_FALSE(c.client.receive(3s));
    CHECK(c.client.closed());
    CHECK(c.sim.wait_stat("undecodable", 1));
    CHECK(c.sim.stderr_text().find("undecodable frame") != std::string::npos);
  }
  SUBCASE("a cap of the wrong size") {
    Connected c;
    EncryptRead r;
    r.query_id = fresh_query_id();
    r.read_cap = Bytes(100, 1);
    r.message_box_index = Bytes(104, 2);
    c.client.send(Request{r});
    CHECK_FALSE(c.client.receive(3s));
    CHECK(c.client.closed());
  }
}

TEST_CASE("get_pki_document and get_directory_authorities") {
  Connected c;
  auto doc = c.client.call<GetPkiDocumentReply>(GetPkiDocument{});
  REQUIRE(doc);
  CHECK(doc->error_code == 0);
  REQUIRE(doc->payload);
  CHECK(doc->payload->size() > c.client.pki.payload->size());  // certificate wraps the document
  CHECK(doc->epoch > 0);
  GetPkiDocument old;
  old.epoch = 1;
  auto missing = c.client.call<GetPkiDocumentReply>(old);
  CHECK(missing->error_code == 10);
  CHECK_FALSE(missing->payload);

  auto auth = c.client.call<GetDirectoryAuthoritiesReply>(GetDirectoryAuthorities{});
  REQUIRE(auth);
  REQUIRE(auth->authorities);
  CHECK(auth->authorities->size() == 3);
  CHECK((*auth->authorities)[0].identity_key_hash);
  CHECK((*auth->authorities)[0].identity_public_key_pem.find("BEGIN") != std::string::npos);
}

TEST_CASE("send_message with a SURB to the echo service: sent event, then the echoed reply") {
  Connected c;
  const auto& echo = echo_service();
  SendMessage m;
  m.with_surb = true;
  m.surbid = MessageId{};
  m.surbid->fill(0x5a);
  m.destination_id_hash = echo.destination_hash;
  m.recipient_queue_id = bytes_of(echo.endpoint);
  m.payload = bytes_of("ping 1");
  c.client.send(Request{m});
  auto sent = c.client.receive();
  REQUIRE(sent);
  REQUIRE(std::holds_alternative<MessageSentEvent>(*sent));
  CHECK(std::get<MessageSentEvent>(*sent).surbid == *m.surbid);
  CHECK_FALSE(std::get<MessageSentEvent>(*sent).err);
  auto reply = c.client.receive();
  REQUIRE(reply);
  REQUIRE(std::holds_alternative<MessageReplyEvent>(*reply));
  const auto& event = std::get<MessageReplyEvent>(*reply);
  CHECK(event.surbid == *m.surbid);
  CHECK(event.payload.size() == 2000);
  CHECK(std::equal(m.payload.begin(), m.payload.end(), event.payload.begin()));
  CHECK(std::all_of(event.payload.begin() + 6, event.payload.end(), [](std::uint8_t b) { return b == 0; }));

  SUBCASE("without a SURB nothing comes back") {
    m.with_surb = false;
    c.client.send(Request{m});
    auto next = c.client.call<NewKeypairReply>(NewKeypair{std::nullopt, seed_of(1)});
    REQUIRE(next);
    CHECK(c.client.skipped.empty());
  }
  SUBCASE("an unknown destination reports the error in message_sent_event") {
    m.destination_id_hash->fill(1);
    c.client.send(Request{m});
    auto event2 = c.client.receive();
    REQUIRE(event2);
    REQUIRE(std::holds_alternative<MessageSentEvent>(*event2));
    CHECK(std::get<MessageSentEvent>(*event2).err);
  }
}

TEST_CASE("copy command to one destination through create_courier_envelopes_from_payload") {
  Connected c;
  const RawChannel dest = raw_keypair(c.client, 20);
  const RawChannel temp = raw_keypair(c.client, 21);
  Bytes payload(3000);
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 7);
  CreateCourierEnvelopesFromPayload r;
  r.payload = payload;
  r.dest_write_cap = dest.write_cap;
  r.dest_start_index = dest.first_index;
  r.is_start = true;
  r.is_last = true;
  auto envelopes = c.client.call<CreateCourierEnvelopesFromPayloadReply>(r);
  REQUIRE(envelopes);
  REQUIRE(envelopes->envelopes);
  CHECK(envelopes->envelopes->size() >= 2);
  for (const auto& e : *envelopes->envelopes) CHECK(e.size() <= 1549);
  CHECK(le64(envelopes->next_dest_index) == le64(dest.first_index) + 2);  // 3000 bytes = 2 boxes

  write_stream(c.client, temp, *envelopes->envelopes);
  CHECK(read_box(c.client, dest, dest.first_index)->error_code == 1);  // nothing yet
  auto copy = copy_command(c.client, temp);
  REQUIRE(copy);
  CHECK(copy->error_code == 0);
  auto first = read_box(c.client, dest, dest.first_index);
  NextMessageBoxIndex n;
  n.message_box_index = dest.first_index;
  auto second = read_box(c.client, dest, c.client.call<NextMessageBoxIndexReply>(n)->next_message_box_index);
  REQUIRE(first->plaintext);
  REQUIRE(second->plaintext);
  Bytes joined = *first->plaintext;
  joined.insert(joined.end(), second->plaintext->begin(), second->plaintext->end());
  CHECK(joined == payload);
  // The courier tombstoned the temporary stream.
  CHECK(read_box(c.client, temp, temp.first_index)->error_code == 11);
}

TEST_CASE("copy command to two destinations is atomic") {
  Connected c;
  const RawChannel a = raw_keypair(c.client, 30);
  const RawChannel b = raw_keypair(c.client, 31);
  auto build = [&](std::uint8_t temp_seed) {
    CreateCourierEnvelopesFromMultiPayload r;
    r.destinations.push_back({bytes_of("to a"), a.write_cap, a.first_index});
    r.destinations.push_back({bytes_of("to b"), b.write_cap, b.first_index});
    r.is_start = true;
    r.is_last = true;
    auto reply = c.client.call<CreateCourierEnvelopesFromMultiPayloadReply>(r);
    REQUIRE(reply);
    REQUIRE(reply->error_code == 0);
    CHECK_FALSE(reply->buffer);
    REQUIRE(reply->next_dest_indices);
    CHECK(reply->next_dest_indices->size() == 2);
    RawChannel temp = raw_keypair(c.client, temp_seed);
    write_stream(c.client, temp, *reply->envelopes);
    return temp;
  };
  SUBCASE("both written") {
    auto copy = copy_command(c.client, build(32));
    REQUIRE(copy);
    CHECK(copy->error_code == 0);
    CHECK(*read_box(c.client, a, a.first_index)->plaintext == bytes_of("to a"));
    CHECK(*read_box(c.client, b, b.first_index)->plaintext == bytes_of("to b"));
  }
  SUBCASE("a conflict at the second destination writes neither") {
    CHECK(write_box(c.client, b, b.first_index, bytes_of("already here")) == 0);
    auto copy = copy_command(c.client, build(33));
    REQUIRE(copy);
    CHECK(copy->error_code == 26);
    CHECK(copy->replica_error_code == 10);
    CHECK(copy->failed_envelope_index == 2);
    CHECK(read_box(c.client, a, a.first_index)->error_code == 1);
    CHECK(*read_box(c.client, b, b.first_index)->plaintext == bytes_of("already here"));
  }
}

TEST_CASE("multi-payload, start but not last, two small payloads: elements at once, as kpclientd") {
  Connected c;
  const RawChannel a = raw_keypair(c.client, 42);
  const RawChannel b = raw_keypair(c.client, 43);
  CreateCourierEnvelopesFromMultiPayload r;
  r.destinations.push_back({bytes_of("to a"), a.write_cap, a.first_index});
  r.destinations.push_back({bytes_of("to b"), b.write_cap, b.first_index});
  r.is_start = true;
  r.is_last = false;
  auto reply = c.client.call<CreateCourierEnvelopesFromMultiPayloadReply>(r);
  REQUIRE(reply);
  REQUIRE(reply->error_code == 0);
  REQUIRE(reply->envelopes);
  REQUIRE(reply->envelopes->size() == 2);  // one per record: each record exceeds a chunk
  CHECK((*reply->envelopes)[0][0] == kElementStart);
  CHECK((*reply->envelopes)[1][0] == 0);
  for (const Bytes& e : *reply->envelopes) CHECK(e.size() == kChunk + 5);
  REQUIRE(reply->buffer);
  CHECK(reply->buffer->size() == 2 * kRecord - 2 * kChunk);
}

TEST_CASE("multi-payload buffer continuation across calls") {
  Connected c;
  const RawChannel dest = raw_keypair(c.client, 40);
  const RawChannel temp = raw_keypair(c.client, 41);
  CreateCourierEnvelopesFromMultiPayload first;
  first.destinations.push_back({Bytes(100, 'a'), dest.write_cap, dest.first_index});
  first.is_start = true;
  first.is_last = false;
  auto r1 = c.client.call<CreateCourierEnvelopesFromMultiPayloadReply>(first);
  REQUIRE(r1);
  REQUIRE(r1->buffer);
  // As kpclientd: a record holds a whole padded envelope, larger than one element's chunk, so an
  // element goes out at once and only the rest (record - chunk bytes) stays buffered.
  REQUIRE(r1->envelopes->size() == 1);
  CHECK(r1->buffer->size() == kRecord - kChunk);
  CreateCourierEnvelopesFromMultiPayload second;
  second.destinations.push_back({Bytes(100, 'b'), dest.write_cap, (*r1->next_dest_indices)[0]});
  second.is_last = true;
  second.buffer = r1->buffer;
  auto r2 = c.client.call<CreateCourierEnvelopesFromMultiPayloadReply>(second);
  REQUIRE(r2);
  CHECK_FALSE(r2->buffer);
  CHECK(r2->envelopes->size() == 2);  // 2 records in 3 elements: the buffer wasted no box
  std::vector<Bytes> stream = *r1->envelopes;
  stream.insert(stream.end(), r2->envelopes->begin(), r2->envelopes->end());
  write_stream(c.client, temp, stream);
  REQUIRE(copy_command(c.client, temp)->error_code == 0);
  CHECK(*read_box(c.client, dest, dest.first_index)->plaintext == Bytes(100, 'a'));
  CHECK(*read_box(c.client, dest, (*r1->next_dest_indices)[0])->plaintext == Bytes(100, 'b'));
}

TEST_CASE("tombstone range through a copy stream") {
  Connected c;
  const RawChannel dest = raw_keypair(c.client, 50);
  std::vector<Bytes> indices{dest.first_index};
  for (int i = 0; i < 3; ++i) {
    CHECK(write_box(c.client, dest, indices.back(), bytes_of("box " + std::to_string(i))) == 0);
    NextMessageBoxIndex n;
    n.message_box_index = indices.back();
    indices.push_back(c.client.call<NextMessageBoxIndexReply>(n)->next_message_box_index);
  }
  CreateCourierEnvelopesFromTombstoneRange r;
  r.dest_write_cap = dest.write_cap;
  r.dest_start_index = dest.first_index;
  r.max_count = 3;
  r.is_start = true;
  r.is_last = true;
  auto reply = c.client.call<CreateCourierEnvelopesFromTombstoneRangeReply>(r);
  REQUIRE(reply);
  CHECK(reply->next_dest_index == indices[3]);
  CHECK_FALSE(reply->buffer);
  const RawChannel temp = raw_keypair(c.client, 51);
  write_stream(c.client, temp, *reply->envelopes);
  REQUIRE(copy_command(c.client, temp)->error_code == 0);
  for (int i = 0; i < 3; ++i) CHECK(read_box(c.client, dest, indices[static_cast<std::size_t>(i)])->error_code == 11);

  r.max_count = 0;
  r.buffer = Bytes{0};
  auto empty = c.client.call<CreateCourierEnvelopesFromTombstoneRangeReply>(r);
  CHECK(empty->next_dest_index == dest.first_index);
  CHECK_FALSE(empty->envelopes);  // null, as kpclientd's nil slice: no element, not an empty list
  CHECK_FALSE(empty->buffer);
}

TEST_CASE("cancel of a copy command waiting for its stream") {
  Connected c;
  const RawChannel temp = raw_keypair(c.client, 60);
  StartResendingCopyCommand r;
  r.query_id = fresh_query_id();
  r.write_cap = temp.write_cap;
  c.client.send(Request{r});
  REQUIRE(c.sim.wait_stat("waiting", 1));
  CancelResendingCopyCommand cancel;
  cancel.query_id = fresh_query_id();
  cancel.write_cap_hash = kpsim::hash256(temp.write_cap.reveal());
  c.client.send(Request{cancel});
  auto first = c.client.receive();
  auto second = c.client.receive();
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(std::holds_alternative<StartResendingCopyCommandReply>(*first));
  CHECK(std::get<StartResendingCopyCommandReply>(*first).error_code == 24);
  CHECK(std::get<StartResendingCopyCommandReply>(*first).query_id == r.query_id);
  REQUIRE(std::holds_alternative<CancelResendingCopyCommandReply>(*second));
  CHECK(std::get<CancelResendingCopyCommandReply>(*second).error_code == 0);
}

TEST_CASE("vouchers: mint, induct, open, derive stream") {
  Connected c;
  const RawChannel joiner = raw_keypair(c.client, 70);
  VoucherMint mint;
  mint.message_write_cap = joiner.write_cap;
  mint.display_name = "alice";
  auto minted = c.client.call<VoucherMintReply>(mint);
  REQUIRE(minted);
  REQUIRE(minted->error_code == 0);
  CHECK(minted->voucher.size() == 32);
  CHECK(minted->voucher_write_cap.size() == kWriteCapSize);

  VoucherInduct induct;
  induct.voucher = minted->voucher;
  induct.voucher_payload = minted->voucher_payload;
  induct.who_reply = bytes_of("bob here");
  auto inducted = c.client.call<VoucherInductReply>(induct);
  REQUIRE(inducted);
  REQUIRE(inducted->error_code == 0);
  CHECK(inducted->display_name == "alice");
  CHECK(inducted->voucher_read_cap == minted->voucher_read_cap);

  VoucherOpen open;
  open.voucher_secret_key = minted->voucher_secret_key;
  open.sealed_reply = inducted->sealed_reply;
  open.message_write_cap = joiner.write_cap;
  auto opened = c.client.call<VoucherOpenReply>(open);
  REQUIRE(opened);
  REQUIRE(opened->error_code == 0);
  CHECK(opened->who_reply == bytes_of("bob here"));
  CHECK(opened->salt == inducted->salt);
  // The joiner's mutated write cap matches the inductor's mutated read cap.
  const ByteView mutated = opened->mutated_message_write_cap.reveal();
  CHECK(std::equal(inducted->mutated_message_read_cap.begin(), inducted->mutated_message_read_cap.end(), mutated.begin() + 32));

  VoucherDeriveStream derive;
  derive.voucher = minted->voucher;
  CHECK(c.client.call<VoucherDeriveStreamReply>(derive)->voucher_read_cap == minted->voucher_read_cap);

  induct.voucher_payload.push_back(0);
  CHECK(c.client.call<VoucherInductReply>(induct)->error_code == 28);
  open.sealed_reply.back() ^= 1;
  CHECK(c.client.call<VoucherOpenReply>(open)->error_code == 30);
}

TEST_CASE("failure injection by control command and by flag") {
  SUBCASE("control") {
    Connected c;
    CHECK(c.sim.control("fail new_keypair 4 2") == "ok");
    CHECK(c.client.call<NewKeypairReply>(NewKeypair{std::nullopt, seed_of(1)})->error_code == 4);
    CHECK(c.client.call<NewKeypairReply>(NewKeypair{std::nullopt, seed_of(1)})->error_code == 4);
    CHECK(c.client.call<NewKeypairReply>(NewKeypair{std::nullopt, seed_of(1)})->error_code == 0);
  }
  SUBCASE("flag, on a mixnet request") {
    Connected c({"--fail", "start_resending_encrypted_message:13"});
    const RawChannel ch = raw_keypair(c.client, 80);
    auto reply = resend(c.client, write_request(ch, encrypt_write(c.client, ch, ch.first_index, bytes_of("x"))));
    REQUIRE(reply);
    CHECK(reply->error_code == 13);
    CHECK(reply->courier_identity_hash);
    CHECK(write_box(c.client, ch, ch.first_index, bytes_of("x")) == 0);
  }
}

TEST_CASE("offline: local requests work, mixnet requests wait for connectivity") {
  Connected c({"--offline"});
  CHECK_FALSE(c.client.status.is_connected);
  const RawChannel ch = raw_keypair(c.client, 90);
  auto request = write_request(ch, encrypt_write(c.client, ch, ch.first_index, bytes_of("queued")));
  c.client.send(Request{request});
  REQUIRE(c.sim.wait_stat("pending", 1));
  CHECK(c.sim.control("online") == "ok");
  auto status = c.client.receive_until([](const Response& r) { return std::holds_alternative<ConnectionStatusEvent>(r); });
  REQUIRE(status);
  CHECK(std::get<ConnectionStatusEvent>(*status).is_connected);
  auto reply = c.client.receive_until([&](const Response& r) { return reply_query_id(r) == request.query_id; });
  REQUIRE(reply);
  CHECK(std::get<StartResendingEncryptedMessageReply>(*reply).error_code == 0);
}

TEST_CASE("pacing releases mixnet requests one per tick") {
  Connected c({"--pacing", "100"});
  const RawChannel ch = raw_keypair(c.client, 95);
  const auto started = Clock::now();
  for (int i = 0; i < 3; ++i) {
    auto request = write_request(ch, encrypt_write(c.client, ch, ch.first_index, bytes_of("p")));
    c.client.send(Request{request});
  }
  int replies = 0;
  while (replies < 3) {
    auto r = c.client.receive_until([](const Response& x) { return std::holds_alternative<StartResendingEncryptedMessageReply>(x); });
    REQUIRE(r);
    ++replies;
  }
  CHECK(Clock::now() - started >= 290ms);
}

TEST_CASE("--write-config writes a thinclient.toml that libkpthin loads") {
  const std::string path = "/tmp/kpsim-config-" + std::to_string(::getpid()) + ".toml";
  SUBCASE("unix") {
    SimProcess sim({"--write-config", path});
    auto loaded = load_config(path);
    REQUIRE(loaded.ok());
    CHECK(loaded->kind == TransportKind::kUnix);
    CHECK(loaded->address == sim.target().address);
    CHECK(loaded->address.front() == '@');
  }
  SUBCASE("tcp with the bound port") {
    SimProcess sim({"--listen-tcp", "127.0.0.1:0", "--write-config", path});
    auto loaded = load_config(path);
    REQUIRE(loaded.ok());
    CHECK(loaded->kind == TransportKind::kTcp);
    CHECK(loaded->address == sim.target().address);
    RawClient client(*loaded);
    client.handshake(token_of(2));
    CHECK_FALSE(client.token_reply.resumed);
  }
  ::unlink(path.c_str());
}
