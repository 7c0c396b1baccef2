// Pigeonhole typed calls against a scripted daemon: request shapes, error mapping, cancel on
// timeout/interrupt, legacy send with reply, client-side tombstone range.
#include <doctest/doctest.h>

#include <future>

#include "client_test_peer.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/pigeonhole.hpp"

namespace kpthin::testing {
namespace {

std::unique_ptr<ThinClient> connect_to(ScriptedPeer& peer) {
  auto options = peer.options();
  auto connecting = std::async(std::launch::async, [options] { return ThinClient::connect(options); });
  REQUIRE(peer.accept());
  REQUIRE(peer.handshake(token_of(1)));
  auto result = connecting.get();
  REQUIRE_MESSAGE(result.ok(), result.status().message());
  return std::move(result).value();
}

EncryptedMessage sample_message() {
  EncryptedMessage message;
  message.message_ciphertext = Bytes(64, 0x61);
  message.envelope_descriptor = SecretBytes(Bytes(40, 0x62));
  message.envelope_hash.fill(0x63);
  return message;
}

SecretBytes sample_write_cap() { return SecretBytes(Bytes(kWriteCapSize, 0x5c)); }

QueryId query_id_of(const Request& request) { return request_query_id(request).value(); }

Hash256 hash_from_hex(const char* hex) {
  Bytes bytes;
  REQUIRE(from_hex(hex, bytes));
  Hash256 hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

}  // namespace

TEST_CASE("pigeonhole: write_cap_hash is unkeyed BLAKE2b-256") {
  // RFC 7693 / libsodium reference digests for "" and "abc" with a 32-byte output.
  CHECK(write_cap_hash(SecretBytes()) ==
        hash_from_hex("0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"));
  CHECK(write_cap_hash(SecretBytes(Bytes{'a', 'b', 'c'})) ==
        hash_from_hex("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"));
}

TEST_CASE("pigeonhole: new_keypair returns the caps and maps error codes") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);

  auto ok = std::async(std::launch::async, [&] {
    return pigeonhole.new_keypair(SecretBytes(Bytes(kSeedSize, 9)), kTestTimeout);
  });
  auto request = peer.receive();
  REQUIRE(request);
  REQUIRE(std::holds_alternative<NewKeypair>(*request));
  CHECK(std::get<NewKeypair>(*request).seed == SecretBytes(Bytes(kSeedSize, 9)));
  NewKeypairReply reply;
  reply.query_id = query_id_of(*request);
  reply.write_cap = SecretBytes(Bytes(kWriteCapSize, 1));
  reply.read_cap = Bytes(kReadCapSize, 2);
  reply.first_message_index = Bytes(kMessageBoxIndexSize, 3);
  peer.send(reply);
  auto keypair = ok.get();
  REQUIRE_MESSAGE(keypair.ok(), keypair.status().message());
  CHECK(keypair->write_cap == SecretBytes(Bytes(kWriteCapSize, 1)));
  CHECK(keypair->read_cap == Bytes(kReadCapSize, 2));
  CHECK(keypair->first_message_index == Bytes(kMessageBoxIndexSize, 3));

  auto bad = std::async(std::launch::async, [&] {
    return pigeonhole.new_keypair(SecretBytes(Bytes(kSeedSize, 9)), kTestTimeout);
  });
  request = peer.receive();
  REQUIRE(request);
  NewKeypairReply error;
  error.query_id = query_id_of(*request);
  error.error_code = 3;
  peer.send(error);
  auto failed = bad.get();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == make_error_code(thin_errc::invalid_request));

  // A short seed never leaves the client.
  CHECK(pigeonhole.new_keypair(SecretBytes(Bytes(31, 1)), kTestTimeout).status().code() ==
        make_error_code(thin_errc::invalid_request));
}

TEST_CASE("pigeonhole: encrypt_tombstone sends an empty, non-null plaintext") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);
  auto call = std::async(std::launch::async, [&] {
    return pigeonhole.encrypt_tombstone(sample_write_cap(), Bytes(kMessageBoxIndexSize, 4), kTestTimeout);
  });
  auto request = peer.receive();
  REQUIRE(request);
  REQUIRE(std::holds_alternative<EncryptWrite>(*request));
  const auto& write = std::get<EncryptWrite>(*request);
  REQUIRE(write.plaintext.has_value());
  CHECK(write.plaintext->empty());
  EncryptWriteReply reply;
  reply.query_id = query_id_of(*request);
  reply.message_ciphertext = Bytes(10, 1);
  reply.envelope_descriptor = SecretBytes(Bytes(5, 2));
  reply.envelope_hash = Hash256{};
  reply.next_message_box_index = Bytes(kMessageBoxIndexSize, 5);
  peer.send(reply);
  auto message = call.get();
  REQUIRE_MESSAGE(message.ok(), message.status().message());
  CHECK(message->next_message_box_index == Bytes(kMessageBoxIndexSize, 5));
}

TEST_CASE("pigeonhole: encrypt_write refuses a payload above the geometry limit") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);
  const Bytes big(test_pigeonhole_geometry().MaxPlaintextPayloadLength + 1, 0);
  auto result = pigeonhole.encrypt_write(big, sample_write_cap(), Bytes(kMessageBoxIndexSize, 0), kTestTimeout);
  CHECK(result.status().code() == make_error_code(local_errc::too_large));
}

TEST_CASE("pigeonhole: start-resending error codes map through the mixed namespace") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);
  struct Case {
    std::uint8_t code;
    bool courier;
    std::error_code expected;
    bool expected_outcome;
  };
  const Case cases[] = {
      {11, true, make_error_code(replica_errc::tombstone), true},
      {1, true, make_error_code(replica_errc::box_id_not_found), true},
      {10, true, make_error_code(replica_errc::box_already_exists), true},
      {3, false, make_error_code(thin_errc::invalid_request), false},
      {3, true, make_error_code(replica_errc::invalid_signature), false},
      {23, true, make_error_code(thin_errc::bacap_decryption_failed), false},
  };
  for (const auto& c : cases) {
    CAPTURE(static_cast<int>(c.code));
    auto call = std::async(std::launch::async, [&] {
      return pigeonhole.start_resending_read(sample_message(), Bytes(kReadCapSize, 1), Bytes(kMessageBoxIndexSize, 2),
                                             ResendOptions{true, false, nullptr}, kTestTimeout);
    });
    auto request = peer.receive();
    REQUIRE(request);
    REQUIRE(std::holds_alternative<StartResendingEncryptedMessage>(*request));
    const auto& sent = std::get<StartResendingEncryptedMessage>(*request);
    CHECK(sent.read_cap == Bytes(kReadCapSize, 1));
    CHECK(sent.message_box_index == Bytes(kMessageBoxIndexSize, 2));
    CHECK(sent.no_retry_on_box_id_not_found);
    CHECK_FALSE(sent.write_cap.has_value());
    StartResendingEncryptedMessageReply reply;
    reply.query_id = query_id_of(*request);
    reply.error_code = c.code;
    if (c.courier) reply.courier_identity_hash = Hash256{};
    peer.send(reply);
    auto result = call.get();
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == c.expected);
    CHECK(is_expected_outcome(result.status().code()) == c.expected_outcome);
  }
}

TEST_CASE("pigeonhole: a read returns its plaintext and courier") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);
  auto call = std::async(std::launch::async, [&] {
    return pigeonhole.start_resending_read(sample_message(), Bytes(kReadCapSize, 1), Bytes(kMessageBoxIndexSize, 2),
                                           ResendOptions{}, kTestTimeout);
  });
  auto request = peer.receive();
  REQUIRE(request);
  StartResendingEncryptedMessageReply reply;
  reply.query_id = query_id_of(*request);
  reply.plaintext = Bytes{'h', 'i'};
  reply.courier_identity_hash = Hash256{};
  reply.courier_queue_id = Bytes{'q'};
  peer.send(reply);
  auto result = call.get();
  REQUIRE_MESSAGE(result.ok(), result.status().message());
  CHECK(result->plaintext == Bytes{'h', 'i'});
  CHECK(result->courier_queue_id == Bytes{'q'});
}

TEST_CASE("pigeonhole: a start-resending call that times out is cancelled at the daemon") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  // The cancel goes out whenever the socket is up, even while the daemon is offline from the
  // mixnet (spec §9.1; the reference clients skip it then).
  EventLog events(*client);
  peer.send(status_event(token_of(1), /*is_connected=*/false));
  REQUIRE(events.wait_for<ConnectionStatusEvent>());
  REQUIRE_FALSE(client->mixnet_connected());
  Pigeonhole pigeonhole(*client);
  const auto message = sample_message();
  auto call = std::async(std::launch::async, [&] {
    return pigeonhole.start_resending_write(message, sample_write_cap(), ResendOptions{},
                                            std::chrono::milliseconds(100));
  });
  auto original = peer.receive();
  REQUIRE(original);
  REQUIRE(std::holds_alternative<StartResendingEncryptedMessage>(*original));
  // No reply: the client's timeout passes and it cancels.
  auto cancel = peer.receive();
  REQUIRE(cancel);
  REQUIRE_MESSAGE(std::holds_alternative<CancelResendingEncryptedMessage>(*cancel), "got ", request_key(*cancel));
  CHECK(std::get<CancelResendingEncryptedMessage>(*cancel).envelope_hash == message.envelope_hash);
  // The daemon answers the cancelled operation first, then the cancel.
  StartResendingEncryptedMessageReply cancelled;
  cancelled.query_id = query_id_of(*original);
  cancelled.error_code = static_cast<std::uint8_t>(thin_errc::start_resending_cancelled);
  peer.send(cancelled);
  CancelResendingEncryptedMessageReply cancel_reply;
  cancel_reply.query_id = query_id_of(*cancel);
  peer.send(cancel_reply);
  auto result = call.get();
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == make_error_code(local_errc::timeout));
}

TEST_CASE("pigeonhole: an operation that completes in the race with its cancel reports its result") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);
  auto call = std::async(std::launch::async, [&] {
    return pigeonhole.start_resending_read(sample_message(), Bytes(kReadCapSize, 1), Bytes(kMessageBoxIndexSize, 2),
                                           ResendOptions{}, std::chrono::milliseconds(100));
  });
  auto original = peer.receive();
  REQUIRE(original);
  auto cancel = peer.receive();
  REQUIRE(cancel);
  REQUIRE(std::holds_alternative<CancelResendingEncryptedMessage>(*cancel));
  // The read finished just before the cancel arrived: the daemon found nothing to cancel.
  StartResendingEncryptedMessageReply done;
  done.query_id = query_id_of(*original);
  done.plaintext = Bytes{'l', 'a', 't', 'e'};
  done.courier_identity_hash = Hash256{};
  peer.send(done);
  CancelResendingEncryptedMessageReply cancel_reply;
  cancel_reply.query_id = query_id_of(*cancel);
  peer.send(cancel_reply);
  auto result = call.get();
  REQUIRE_MESSAGE(result.ok(), result.status().message());
  CHECK(result->plaintext == Bytes{'l', 'a', 't', 'e'});
}

TEST_CASE("pigeonhole: an interrupted copy command is cancelled by write-cap hash") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);
  std::atomic<bool> interrupt{false};
  ServiceInfo courier{"courier", "node1", Bytes{'c', 'q'}, Hash256{}};
  courier.destination_hash.fill(0x77);
  auto call = std::async(std::launch::async, [&] {
    return pigeonhole.start_resending_copy_command(sample_write_cap(), courier, ResendOptions{false, false, &interrupt},
                                                   kWaitForever);
  });
  auto original = peer.receive();
  REQUIRE(original);
  REQUIRE(std::holds_alternative<StartResendingCopyCommand>(*original));
  const auto& copy = std::get<StartResendingCopyCommand>(*original);
  CHECK(copy.courier_identity_hash == courier.destination_hash);
  CHECK(copy.courier_queue_id == Bytes{'c', 'q'});
  interrupt = true;
  auto cancel = peer.receive();
  REQUIRE(cancel);
  REQUIRE(std::holds_alternative<CancelResendingCopyCommand>(*cancel));
  CHECK(std::get<CancelResendingCopyCommand>(*cancel).write_cap_hash == write_cap_hash(sample_write_cap()));
  StartResendingCopyCommandReply cancelled;
  cancelled.query_id = query_id_of(*original);
  cancelled.error_code = static_cast<std::uint8_t>(thin_errc::start_resending_cancelled);
  peer.send(cancelled);
  CancelResendingCopyCommandReply cancel_reply;
  cancel_reply.query_id = query_id_of(*cancel);
  peer.send(cancel_reply);
  CHECK(call.get().code() == make_error_code(local_errc::cancelled));
}

TEST_CASE("pigeonhole: a failed copy command names the replica cause and the envelope") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);
  auto call = std::async(std::launch::async, [&] {
    return pigeonhole.start_resending_copy_command(sample_write_cap(), std::nullopt, ResendOptions{}, kTestTimeout);
  });
  auto request = peer.receive();
  REQUIRE(request);
  const auto& copy = std::get<StartResendingCopyCommand>(*request);
  CHECK_FALSE(copy.courier_identity_hash.has_value());
  StartResendingCopyCommandReply reply;
  reply.query_id = query_id_of(*request);
  reply.error_code = static_cast<std::uint8_t>(thin_errc::copy_command_failed);
  reply.replica_error_code = static_cast<std::uint8_t>(replica_errc::box_already_exists);
  reply.failed_envelope_index = 3;
  peer.send(reply);
  auto status = call.get();
  CHECK(status.code() == make_error_code(thin_errc::copy_command_failed));
  CHECK(status.context().find("envelope 3") != std::string::npos);
  CHECK(status.context().find(replica_error_name(10)) != std::string::npos);
}

TEST_CASE("pigeonhole: client-side tombstone_range walks consecutive indices") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);
  auto call = std::async(std::launch::async, [&] {
    return pigeonhole.tombstone_range(sample_write_cap(), Bytes(kMessageBoxIndexSize, 0), 3, kTestTimeout);
  });
  for (std::uint8_t i = 0; i < 3; ++i) {
    auto request = peer.receive();
    REQUIRE(request);
    REQUIRE(std::holds_alternative<EncryptWrite>(*request));
    const auto& write = std::get<EncryptWrite>(*request);
    CHECK(write.message_box_index == Bytes(kMessageBoxIndexSize, i));
    CHECK((write.plaintext && write.plaintext->empty()));
    EncryptWriteReply reply;
    reply.query_id = query_id_of(*request);
    reply.message_ciphertext = Bytes{i};
    reply.envelope_hash = Hash256{};
    reply.next_message_box_index = Bytes(kMessageBoxIndexSize, static_cast<std::uint8_t>(i + 1));
    peer.send(reply);
  }
  auto range = call.get();
  REQUIRE_MESSAGE(range.ok(), range.status().message());
  REQUIRE(range->envelopes.size() == 3);
  CHECK(range->envelopes[2].first == Bytes(kMessageBoxIndexSize, 2));
  CHECK(range->envelopes[2].second.message_ciphertext == Bytes{2});
  CHECK(range->next_index == Bytes(kMessageBoxIndexSize, 3));
}

TEST_CASE("pigeonhole: send_with_reply waits for the SURB reply with its surbid") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  Pigeonhole pigeonhole(*client);
  ServiceInfo echo{"echo", "node1", Bytes{'e', 'c', 'h', 'o'}, Hash256{}};
  auto call = std::async(std::launch::async, [&] {
    return pigeonhole.send_with_reply(echo, Bytes{'p', 'i', 'n', 'g'}, kTestTimeout);
  });
  auto request = peer.receive();
  REQUIRE(request);
  REQUIRE(std::holds_alternative<SendMessage>(*request));
  const auto& send = std::get<SendMessage>(*request);
  CHECK(send.with_surb);
  REQUIRE(send.surbid);
  CHECK(send.recipient_queue_id == Bytes{'e', 'c', 'h', 'o'});
  // A reply for someone else's SURB is not ours.
  MessageReplyEvent other;
  other.surbid = random_query_id();
  other.payload = Bytes{'n', 'o'};
  peer.send(other);
  MessageSentEvent sent;
  sent.surbid = *send.surbid;
  peer.send(sent);
  MessageReplyEvent reply;
  reply.surbid = *send.surbid;
  reply.payload = Bytes{'p', 'o', 'n', 'g'};
  peer.send(reply);
  auto result = call.get();
  REQUIRE_MESSAGE(result.ok(), result.status().message());
  CHECK(*result == Bytes{'p', 'o', 'n', 'g'});
}

TEST_CASE("pigeonhole: legacy sends are refused while the daemon is offline from the mixnet") {
  ScriptedPeer peer;
  auto client = connect_to(peer);
  EventLog events(*client);
  peer.send(status_event(token_of(1), /*is_connected=*/false));
  REQUIRE(events.wait_for<ConnectionStatusEvent>());
  Pigeonhole pigeonhole(*client);
  ServiceInfo echo{"echo", "node1", Bytes{'e'}, Hash256{}};
  CHECK(pigeonhole.send_message(echo, Bytes{'x'}).code() == make_error_code(local_errc::disconnected));
}

}  // namespace kpthin::testing
