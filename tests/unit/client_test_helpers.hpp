// Calls and canned messages shared by the ThinClient tests that run against a ScriptedPeer.
#pragma once

#include <doctest/doctest.h>

#include <future>

#include "client_test_peer.hpp"
#include "kpthin/pigeonhole.hpp"

namespace kpthin::testing {

inline std::unique_ptr<ThinClient> connect_to(ScriptedPeer& peer, const InstanceToken& instance,
                                              std::optional<ClientOptions> options = std::nullopt) {
  auto opts = options.value_or(peer.options());
  auto connecting = std::async(std::launch::async, [opts] { return ThinClient::connect(opts); });
  REQUIRE(peer.accept());
  REQUIRE(peer.handshake(instance));
  auto result = connecting.get();
  REQUIRE_MESSAGE(result.ok(), result.status().message());
  return std::move(result).value();
}

inline EncryptedMessage sample_message(std::uint8_t fill) {
  EncryptedMessage message;
  message.message_ciphertext = Bytes(64, fill);
  message.envelope_descriptor = SecretBytes(Bytes(40, static_cast<std::uint8_t>(fill + 1)));
  message.envelope_hash.fill(static_cast<std::uint8_t>(fill + 2));
  message.next_message_box_index = Bytes(kMessageBoxIndexSize, fill);
  return message;
}

inline SecretBytes sample_write_cap() { return SecretBytes(Bytes(kWriteCapSize, 0x5c)); }

inline StartResendingEncryptedMessageReply resend_success(const QueryId& query_id) {
  StartResendingEncryptedMessageReply reply;
  reply.query_id = query_id;
  reply.courier_identity_hash = Hash256{};
  reply.courier_queue_id = Bytes{'c', 'o'};
  return reply;
}

// A start-resending write running on another thread, as a CLI would block in it.
inline std::future<Result<ResendResult>> resend_in_background(ThinClient& client,
                                                              const EncryptedMessage& message,
                                                              Duration timeout = kTestTimeout) {
  return std::async(std::launch::async, [&client, message, timeout] {
    Pigeonhole pigeonhole(client);
    return pigeonhole.start_resending_write(message, sample_write_cap(), ResendOptions{}, timeout);
  });
}

inline QueryId query_id_of(const Request& request) { return request_query_id(request).value(); }

// Sends a probe request and returns the first frame the peer sees afterwards, which must be the
// probe itself if nothing (such as a replay) was queued ahead of it.
inline void expect_probe_first(ScriptedPeer& peer, ThinClient& client) {
  auto probe = std::async(std::launch::async, [&client] {
    return client.call(NextMessageBoxIndex{std::nullopt, Bytes(kMessageBoxIndexSize, 1)}, kTestTimeout);
  });
  auto first = peer.receive();
  REQUIRE(first);
  REQUIRE_MESSAGE(std::holds_alternative<NextMessageBoxIndex>(*first), "got ", request_key(*first));
  NextMessageBoxIndexReply reply;
  reply.query_id = query_id_of(*first);
  reply.next_message_box_index = Bytes(kMessageBoxIndexSize, 2);
  peer.send(reply);
  CHECK(probe.get().ok());
}

}  // namespace kpthin::testing
