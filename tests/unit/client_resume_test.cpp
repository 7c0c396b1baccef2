// ThinClient after a resumed reconnect (spec §2.3): kpclientd drops a Pigeonhole reply that
// completes while the client is away, so every start-resending request the daemon had seen is
// cancelled there and sent again; the cancel's first frame (the original's code 24) must not
// complete the call.
#include <doctest/doctest.h>

#include <future>

#include "client_test_helpers.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/pigeonhole.hpp"

namespace kpthin::testing {
namespace {

constexpr std::uint8_t kCancelled = static_cast<std::uint8_t>(thin_errc::start_resending_cancelled);

// Drops the connection under an in-flight request and lets the client back in to a daemon of
// the same instance that resumes its session.
void lose_and_resume(ScriptedPeer& peer, EventLog& events) {
  peer.restart();
  REQUIRE(events.wait_for<DaemonDisconnectedEvent>());
  REQUIRE(peer.accept());
  REQUIRE(peer.handshake(token_of(1), /*resumed=*/true));
}

template <class Cancel>
QueryId expect_cancel(ScriptedPeer& peer, const Hash256& handle) {
  auto request = peer.receive();
  REQUIRE(request);
  REQUIRE_MESSAGE(std::holds_alternative<Cancel>(*request), "got ", request_key(*request));
  const auto& cancel = std::get<Cancel>(*request);
  if constexpr (requires { cancel.envelope_hash; }) {
    CHECK(cancel.envelope_hash == handle);
  } else {
    CHECK(cancel.write_cap_hash == handle);
  }
  return query_id_of(*request);
}

StartResendingEncryptedMessageReply resend_cancelled(const QueryId& query_id) {
  auto reply = resend_success(query_id);
  reply.error_code = kCancelled;
  return reply;
}

}  // namespace

TEST_CASE("resume: a write the daemon had seen is cancelled there, re-issued, and completes with the re-issued reply") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  const auto message = sample_message(0x70);
  auto write = resend_in_background(*client, message, std::chrono::seconds(20));
  auto first = peer.receive_frame();
  REQUIRE(first);
  const QueryId query_id = query_id_of(decode_request(*first).value());

  lose_and_resume(peer, events);
  const QueryId cancel_id = expect_cancel<CancelResendingEncryptedMessage>(peer, message.envelope_hash);
  // The daemon still had the operation: the original's code 24 first, then the cancel's reply.
  peer.send(resend_cancelled(query_id));
  peer.send(CancelResendingEncryptedMessageReply{cancel_id, 0});
  auto again = peer.receive_frame();
  REQUIRE(again);
  CHECK(*again == *first);  // same bytes, same query_id
  // The code-24 frame was read before the cancel reply that triggered the re-issue.
  CHECK(write.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  peer.send(resend_success(query_id));
  auto result = write.get();
  CHECK_MESSAGE(result.ok(), result.status().message());

  auto back = events.wait_for<DaemonReconnectedEvent>();
  REQUIRE(back);
  CHECK_FALSE(back->instance_changed);
  CHECK(back->resumed);
  CHECK(back->replayed == 0);
  CHECK(back->reissued == 1);
  expect_probe_first(peer, *client);
}

TEST_CASE("resume: the real reply arriving before the cancel completes the call once; a duplicate is ignored") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  const auto message = sample_message(0x78);
  auto write = resend_in_background(*client, message, std::chrono::seconds(20));
  auto first = peer.receive();
  REQUIRE(first);
  const QueryId query_id = query_id_of(*first);

  lose_and_resume(peer, events);
  const QueryId cancel_id = expect_cancel<CancelResendingEncryptedMessage>(peer, message.envelope_hash);
  // The operation finished just after the resume, before the daemon read the cancel: its reply,
  // then a cancel that found nothing (one frame).
  peer.send(resend_success(query_id));
  peer.send(CancelResendingEncryptedMessageReply{cancel_id, 0});
  auto result = write.get();
  CHECK_MESSAGE(result.ok(), result.status().message());
  // A late second answer for the same query id (e.g. BoxAlreadyExists) finds nothing to complete.
  auto duplicate = resend_success(query_id);
  duplicate.error_code = static_cast<std::uint8_t>(replica_errc::box_already_exists);
  peer.send(duplicate);
  expect_probe_first(peer, *client);  // nothing re-issued after the real reply; still connected
  CHECK(client->daemon_connected());
}

TEST_CASE("resume: a copy command the daemon had seen is cancelled there and re-issued") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  const SecretBytes temp_cap(Bytes(kWriteCapSize, 0x3c));
  auto copy = std::async(std::launch::async, [&client, &temp_cap] {
    Pigeonhole pigeonhole(*client);
    return pigeonhole.start_resending_copy_command(temp_cap, std::nullopt, ResendOptions{}, std::chrono::seconds(20));
  });
  auto first = peer.receive_frame();
  REQUIRE(first);
  const QueryId query_id = query_id_of(decode_request(*first).value());

  lose_and_resume(peer, events);
  const QueryId cancel_id = expect_cancel<CancelResendingCopyCommand>(peer, write_cap_hash(temp_cap));
  peer.send(StartResendingCopyCommandReply{query_id, kCancelled, 0, 0});
  peer.send(CancelResendingCopyCommandReply{cancel_id, 0});
  auto again = peer.receive_frame();
  REQUIRE(again);
  CHECK(*again == *first);
  CHECK(copy.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  peer.send(StartResendingCopyCommandReply{query_id, 0, 0, 0});
  auto status = copy.get();
  CHECK_MESSAGE(status.ok(), status.message());
  auto back = events.wait_for<DaemonReconnectedEvent>();
  REQUIRE(back);
  CHECK(back->reissued == 1);
}

TEST_CASE("resume: a request cancelled by its owner while the reconnect cancel is out is not re-issued") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  const auto message = sample_message(0x7c);
  auto write = resend_in_background(*client, message, std::chrono::seconds(20));
  auto first = peer.receive();
  REQUIRE(first);
  const QueryId query_id = query_id_of(*first);

  lose_and_resume(peer, events);
  const QueryId cancel_id = expect_cancel<CancelResendingEncryptedMessage>(peer, message.envelope_hash);
  peer.send(resend_cancelled(query_id));
  auto owner_cancel = std::async(std::launch::async, [&client, &message] {
    Pigeonhole pigeonhole(*client);
    return pigeonhole.cancel_resending(message.envelope_hash, kTestTimeout);
  });
  const QueryId owner_cancel_id = expect_cancel<CancelResendingEncryptedMessage>(peer, message.envelope_hash);
  peer.send(CancelResendingEncryptedMessageReply{cancel_id, 0});
  peer.send(CancelResendingEncryptedMessageReply{owner_cancel_id, 0});
  CHECK(owner_cancel.get().ok());
  auto result = write.get();
  REQUIRE_FALSE(result.ok());
  expect_probe_first(peer, *client);  // the write was not sent again
}

}  // namespace kpthin::testing
