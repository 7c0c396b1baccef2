// ThinClient against a scripted daemon: handshake, correlation, loss, reconnect, replay, close.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <future>

#include "client_test_helpers.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/pigeonhole.hpp"

namespace kpthin::testing {

TEST_CASE("handshake: broadcasts and buffered replies before session_token_reply are dispatched") {
  ScriptedPeer peer;
  auto options = peer.options();
  auto connecting = std::async(std::launch::async, [options] { return ThinClient::connect(options); });
  REQUIRE(peer.accept());
  auto token = peer.open_handshake(token_of(0x0a), Bytes{0xa0});
  REQUIRE(token);
  // The daemon may flush replies buffered for a resumed session and broadcast status and PKI
  // changes before it answers the session token.
  NewKeypairReply stale;
  stale.query_id = random_query_id();
  peer.send(stale);
  peer.send(status_event(token_of(0x0a), /*is_connected=*/false));
  peer.send(NewPkiDocumentEvent{Bytes{0xa1, 0x01, 0x02}});
  peer.send(SessionTokenReply{token_of(0xaa), false});
  auto client = connecting.get();
  REQUIRE_MESSAGE(client.ok(), client.status().message());
  CHECK((*client)->daemon_connected());
  CHECK_FALSE((*client)->mixnet_connected());
  CHECK((*client)->pki_document() == Bytes{0xa1, 0x01, 0x02});
  CHECK((*client)->daemon_instance_token() == token_of(0x0a));
  CHECK((*client)->client_instance_token() == token->client_instance_token);
  CHECK((*client)->pigeonhole_geometry().MaxPlaintextPayloadLength == 1500);
  CHECK((*client)->sphinx_geometry().UserForwardPayloadLength == 2000);
}

TEST_CASE("handshake: a first frame other than connection_status_event fails the connect") {
  ScriptedPeer peer;
  auto options = peer.options();
  auto connecting = std::async(std::launch::async, [options] { return ThinClient::connect(options); });
  REQUIRE(peer.accept());
  peer.send(NewPkiDocumentEvent{});
  auto client = connecting.get();
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == make_error_code(local_errc::unexpected_message));
}

TEST_CASE("handshake: connection_status_event without geometries fails the connect") {
  ScriptedPeer peer;
  auto options = peer.options();
  auto connecting = std::async(std::launch::async, [options] { return ThinClient::connect(options); });
  REQUIRE(peer.accept());
  auto event = status_event(token_of(1));
  event.pigeonhole_geometry.reset();
  peer.send(event);
  auto client = connecting.get();
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == make_error_code(local_errc::unexpected_message));
}

TEST_CASE("handshake: a silent daemon fails the connect at connect_timeout") {
  ScriptedPeer peer;
  auto options = peer.options();
  options.connect_timeout = std::chrono::milliseconds(150);
  auto connecting = std::async(std::launch::async, [options] { return ThinClient::connect(options); });
  REQUIRE(peer.accept());
  auto client = connecting.get();
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == make_error_code(local_errc::timeout));
}

TEST_CASE("handshake: the interrupt flag ends a held handshake promptly and closes the socket") {
  ScriptedPeer peer;
  std::atomic<bool> interrupt{false};
  auto options = peer.options();
  options.connect_timeout = std::chrono::seconds(60);
  options.interrupt = &interrupt;
  auto connecting = std::async(std::launch::async, [options] { return ThinClient::connect(options); });
  REQUIRE(peer.accept());
  CHECK(connecting.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
  const auto raised = std::chrono::steady_clock::now();
  interrupt.store(true);
  REQUIRE(connecting.wait_for(std::chrono::seconds(2)) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - raised < std::chrono::seconds(1));
  auto client = connecting.get();
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == make_error_code(local_errc::cancelled));
  CHECK(peer.receive_eof());
}

TEST_CASE("the I/O thread leaves SIGINT to the application's threads") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  // Blocked here and in the I/O thread, so a process-directed SIGINT stays pending for the
  // process instead of being consumed by the I/O thread's default action.
  sigset_t interrupt_only, saved;
  sigemptyset(&interrupt_only);
  sigaddset(&interrupt_only, SIGINT);
  pthread_sigmask(SIG_BLOCK, &interrupt_only, &saved);
  ::kill(::getpid(), SIGINT);
  sigset_t pending;
  sigpending(&pending);
  const bool still_pending = sigismember(&pending, SIGINT) == 1;
  int taken = 0;
  if (still_pending) sigwait(&interrupt_only, &taken);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  CHECK(still_pending);
}

TEST_CASE("connect to a socket nobody listens on fails with dial_failed") {
  ClientOptions options;
  options.target.address = "/nonexistent/kpthin/kpclientd.sock";
  auto client = ThinClient::connect(options);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == make_error_code(local_errc::dial_failed));
}

TEST_CASE("many requests in flight are correlated by query_id when replies come out of order") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  constexpr int kBlocking = 16;
  constexpr int kAsync = 100;

  std::vector<std::future<bool>> blocking;
  for (int i = 0; i < kBlocking; ++i) {
    blocking.push_back(std::async(std::launch::async, [&client] {
      const QueryId id = random_query_id();
      auto reply = client->call(NewKeypair{id, SecretBytes(Bytes(32, 7))}, kTestTimeout);
      if (!reply.ok()) return false;
      const auto* keypair = std::get_if<NewKeypairReply>(&reply.value());
      return keypair && keypair->query_id == id &&
             std::equal(id.begin(), id.end(), keypair->first_message_index.begin());
    }));
  }
  std::mutex mu;
  std::condition_variable all_done;
  int async_ok = 0;
  int async_done = 0;
  for (int i = 0; i < kAsync; ++i) {
    const QueryId id = random_query_id();
    REQUIRE(client
                ->call_async(GetMessageBoxIndexCounter{id, Bytes(kMessageBoxIndexSize, 3)},
                             [&, id](Result<Response> reply) {
                               std::lock_guard lock(mu);
                               const auto* counter = reply.ok() ? std::get_if<GetMessageBoxIndexCounterReply>(&reply.value())
                                                                : nullptr;
                               std::uint64_t expected;
                               std::memcpy(&expected, id.data(), sizeof expected);
                               if (counter && counter->query_id == id && counter->counter == expected) ++async_ok;
                               ++async_done;
                               all_done.notify_all();
                             })
                .ok());
  }

  std::vector<Request> received;
  for (int i = 0; i < kBlocking + kAsync; ++i) {
    auto request = peer.receive();
    REQUIRE(request);
    received.push_back(std::move(*request));
  }
  // Answer newest first.
  for (auto it = received.rbegin(); it != received.rend(); ++it) {
    const QueryId id = query_id_of(*it);
    if (std::holds_alternative<NewKeypair>(*it)) {
      NewKeypairReply reply;
      reply.query_id = id;
      reply.write_cap = SecretBytes(Bytes(kWriteCapSize, 1));
      reply.read_cap = Bytes(kReadCapSize, 2);
      reply.first_message_index = Bytes(kMessageBoxIndexSize, 0);
      std::copy(id.begin(), id.end(), reply.first_message_index.begin());
      peer.send(reply);
    } else {
      GetMessageBoxIndexCounterReply reply;
      reply.query_id = id;
      std::memcpy(&reply.counter, id.data(), sizeof reply.counter);
      peer.send(reply);
    }
  }
  for (auto& f : blocking) CHECK(f.get());
  std::unique_lock lock(mu);
  REQUIRE(all_done.wait_for(lock, kTestTimeout, [&] { return async_done == kAsync; }));
  CHECK(async_ok == kAsync);
}

TEST_CASE("a frame larger than the socket takes at once arrives whole, ahead of the frames queued after it") {
  // The caller writes a frame itself when nothing is queued; what the socket does not take then
  // is left to the I/O thread, and later frames must wait behind it.
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  const Bytes big(4u << 20, 0x3c);  // far beyond a unix socket's buffer
  auto ignore = [](Result<Response>) {};
  REQUIRE(client->call_async(EncryptWrite{std::nullopt, big, sample_write_cap(), Bytes(kMessageBoxIndexSize, 1)}, ignore)
              .ok());
  constexpr int kSmall = 8;
  std::vector<QueryId> small;
  for (int i = 0; i < kSmall; ++i) {
    small.push_back(random_query_id());
    REQUIRE(client->call_async(GetMessageBoxIndexCounter{small.back(), Bytes(kMessageBoxIndexSize, 2)}, ignore).ok());
  }
  auto first = peer.receive();
  REQUIRE(first);
  const auto* write = std::get_if<EncryptWrite>(&*first);
  REQUIRE(write != nullptr);
  CHECK(write->plaintext == big);
  for (int i = 0; i < kSmall; ++i) {
    auto next = peer.receive();
    REQUIRE(next);
    REQUIRE(std::holds_alternative<GetMessageBoxIndexCounter>(*next));
    CHECK(query_id_of(*next) == small[static_cast<std::size_t>(i)]);
  }
}

TEST_CASE("a crash is a non-graceful disconnect; the client reconnects with the same token") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  const InstanceToken my_token = client->client_instance_token();
  EventLog events(*client);

  peer.restart();
  auto lost = events.wait_for<DaemonDisconnectedEvent>();
  REQUIRE(lost);
  CHECK_FALSE(lost->is_graceful);
  CHECK_FALSE(client->daemon_connected());
  // Nothing is queued while the socket is down.
  auto sent = client->send(ThinClose{});
  CHECK(sent.code() == make_error_code(local_errc::disconnected));
  auto called = client->call(GetDirectoryAuthorities{}, kTestTimeout);
  CHECK(called.status().code() == make_error_code(local_errc::disconnected));
  CHECK_FALSE(client->wait_until_connected(std::chrono::milliseconds(10)));
  auto waiter = std::async(std::launch::async, [&] { return client->wait_until_connected(kTestTimeout); });

  REQUIRE(peer.accept());
  auto token = peer.handshake(token_of(1), /*resumed=*/true);
  REQUIRE(token);
  CHECK(token->client_instance_token == my_token);
  auto back = events.wait_for<DaemonReconnectedEvent>();
  REQUIRE(back);
  CHECK_FALSE(back->instance_changed);
  CHECK(back->resumed);
  CHECK(back->replayed == 0);
  CHECK(waiter.get());
  CHECK(client->daemon_connected());
  expect_probe_first(peer, *client);
}

TEST_CASE("reconnect keeps retrying with backoff until the daemon is back") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  peer.drop();
  peer.stop_listening();
  REQUIRE(events.wait_for<DaemonDisconnectedEvent>());
  // Several dial attempts fail (backoff 20 ms doubling to 200 ms) before the listener returns.
  peer.listen();
  REQUIRE(peer.accept());
  REQUIRE(peer.handshake(token_of(1), true));
  REQUIRE(events.wait_for<DaemonReconnectedEvent>());
  CHECK(client->daemon_connected());
}

TEST_CASE("a write cut off by a crash does not stall the next connection's handshake") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  // Far more than a socket buffer holds: the write is still in progress when the peer, which
  // reads nothing, goes away; it then completes with an error.
  SendMessage big;
  big.recipient_queue_id = Bytes{'+', 'e', 'c', 'h', 'o'};
  big.payload = Bytes(8 * 1024 * 1024, 0x42);
  REQUIRE(client->send(big).ok());
  peer.restart();
  REQUIRE(events.wait_for<DaemonDisconnectedEvent>());
  REQUIRE(peer.accept());
  // The failed write must not leave the writer looking busy: session_token has to be written.
  auto token = peer.handshake(token_of(1), /*resumed=*/true);
  REQUIRE(token);
  REQUIRE(events.wait_for<DaemonReconnectedEvent>());
  CHECK(client->daemon_connected());
}

TEST_CASE("shutdown_event then EOF is a graceful disconnect") {
  ScriptedPeer peer;
  auto options = peer.options();
  options.reconnect = false;
  auto client = connect_to(peer, token_of(1), options);
  EventLog events(*client);
  peer.send(ShutdownEvent{});
  REQUIRE(events.wait_for<ShutdownEvent>());
  peer.drop();
  auto lost = events.wait_for<DaemonDisconnectedEvent>();
  REQUIRE(lost);
  CHECK(lost->is_graceful);
}

TEST_CASE("EOF without shutdown_event is not graceful") {
  ScriptedPeer peer;
  auto options = peer.options();
  options.reconnect = false;
  auto client = connect_to(peer, token_of(1), options);
  EventLog events(*client);
  peer.drop();
  auto lost = events.wait_for<DaemonDisconnectedEvent>();
  REQUIRE(lost);
  CHECK_FALSE(lost->is_graceful);
}

TEST_CASE("a reply pending at the loss of a non-replayable request fails at once") {
  ScriptedPeer peer;
  auto options = peer.options();
  options.reconnect = false;
  auto client = connect_to(peer, token_of(1), options);
  auto call = std::async(std::launch::async, [&] { return client->call(GetDirectoryAuthorities{}, kTestTimeout); });
  REQUIRE(peer.receive());
  peer.drop();
  auto reply = call.get();
  CHECK(reply.status().code() == make_error_code(local_errc::disconnected));
}

TEST_CASE("replay: in-flight start-resending requests are resent verbatim when the instance changes") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  auto write = resend_in_background(*client, sample_message(0x10));
  auto first = peer.receive_frame();
  REQUIRE(first);

  peer.restart();
  REQUIRE(events.wait_for<DaemonDisconnectedEvent>());
  REQUIRE(peer.accept());
  REQUIRE(peer.handshake(token_of(2), /*resumed=*/false));
  auto again = peer.receive_frame();
  REQUIRE(again);
  CHECK(*again == *first);  // same bytes, same query_id
  auto back = events.wait_for<DaemonReconnectedEvent>();
  REQUIRE(back);
  CHECK(back->instance_changed);
  CHECK(back->replayed == 1);

  auto request = decode_request(*again);
  REQUIRE(request.ok());
  peer.send(resend_success(query_id_of(request.value())));
  auto result = write.get();
  CHECK_MESSAGE(result.ok(), result.status().message());
}

TEST_CASE("replay: nothing is resent on a resumed session of the same instance") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  auto write = resend_in_background(*client, sample_message(0x20));
  auto first = peer.receive();
  REQUIRE(first);
  const QueryId query_id = query_id_of(*first);

  peer.restart();
  REQUIRE(events.wait_for<DaemonDisconnectedEvent>());
  REQUIRE(peer.accept());
  REQUIRE(peer.open_handshake(token_of(1)));
  // The daemon kept the operation; its reply was buffered and is flushed ahead of the token reply.
  peer.send(resend_success(query_id));
  peer.send(SessionTokenReply{token_of(0xaa), true});
  auto result = write.get();
  CHECK_MESSAGE(result.ok(), result.status().message());
  auto back = events.wait_for<DaemonReconnectedEvent>();
  REQUIRE(back);
  CHECK(back->replayed == 0);
  expect_probe_first(peer, *client);
}

TEST_CASE("replay: a same-instance session that was not resumed gets its requests again") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  auto write = resend_in_background(*client, sample_message(0x30));
  auto first = peer.receive_frame();
  REQUIRE(first);

  peer.restart();
  REQUIRE(events.wait_for<DaemonDisconnectedEvent>());
  REQUIRE(peer.accept());
  REQUIRE(peer.handshake(token_of(1), /*resumed=*/false));
  auto again = peer.receive_frame();
  REQUIRE(again);
  CHECK(*again == *first);
  auto back = events.wait_for<DaemonReconnectedEvent>();
  REQUIRE(back);
  CHECK_FALSE(back->instance_changed);
  CHECK_FALSE(back->resumed);
  CHECK(back->replayed == 1);
  peer.send(resend_success(query_id_of(decode_request(*again).value())));
  CHECK(write.get().ok());
}

TEST_CASE("replay: cancel while disconnected removes the request from replay") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  const auto message = sample_message(0x40);
  auto write = resend_in_background(*client, message);
  REQUIRE(peer.receive());

  peer.restart();
  REQUIRE(events.wait_for<DaemonDisconnectedEvent>());
  Pigeonhole pigeonhole(*client);
  CHECK(pigeonhole.cancel_resending(message.envelope_hash, kTestTimeout).ok());
  auto result = write.get();
  REQUIRE_FALSE(result.ok());
  CHECK_MESSAGE(result.status().code() == make_error_code(local_errc::cancelled), result.status().message());

  REQUIRE(peer.accept());
  REQUIRE(peer.handshake(token_of(2), /*resumed=*/false));
  auto back = events.wait_for<DaemonReconnectedEvent>();
  REQUIRE(back);
  CHECK(back->replayed == 0);
  expect_probe_first(peer, *client);
}

TEST_CASE("replay: a cancel made while disconnected reaches a resumed daemon after the reconnect") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  EventLog events(*client);
  const auto message = sample_message(0x50);
  auto write = resend_in_background(*client, message);
  REQUIRE(peer.receive());

  peer.restart();
  REQUIRE(events.wait_for<DaemonDisconnectedEvent>());
  Pigeonhole pigeonhole(*client);
  CHECK(pigeonhole.cancel_resending(message.envelope_hash, kTestTimeout).ok());
  auto result = write.get();
  CHECK_MESSAGE(result.status().code() == make_error_code(local_errc::cancelled), result.status().message());

  REQUIRE(peer.accept());
  REQUIRE(peer.handshake(token_of(1), /*resumed=*/true));
  // The resumed daemon still retries the write, so the client owes it the cancel.
  auto cancel = peer.receive();
  REQUIRE(cancel);
  REQUIRE_MESSAGE(std::holds_alternative<CancelResendingEncryptedMessage>(*cancel), "got ", request_key(*cancel));
  CHECK(std::get<CancelResendingEncryptedMessage>(*cancel).envelope_hash == message.envelope_hash);
  auto back = events.wait_for<DaemonReconnectedEvent>();
  REQUIRE(back);
  CHECK(back->replayed == 0);
}

TEST_CASE("without reconnect, a pending start-resending call fails when the socket is lost") {
  ScriptedPeer peer;
  auto options = peer.options();
  options.reconnect = false;
  auto client = connect_to(peer, token_of(1), options);
  auto write = resend_in_background(*client, sample_message(0x60));
  REQUIRE(peer.receive());
  peer.drop();
  CHECK(write.get().status().code() == make_error_code(local_errc::disconnected));
}

TEST_CASE("close() sends thin_close, then closes the socket") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  client->close();
  auto request = peer.receive();
  REQUIRE(request);
  CHECK(std::holds_alternative<ThinClose>(*request));
  CHECK(peer.receive_eof());
  CHECK(client->call(GetDirectoryAuthorities{}, kTestTimeout).status().code() ==
        make_error_code(local_errc::closed));
}

TEST_CASE("disconnect() closes without thin_close and fails waiting calls with closed") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  auto call = std::async(std::launch::async, [&] { return client->call(GetDirectoryAuthorities{}, kTestTimeout); });
  auto request = peer.receive();
  REQUIRE(request);
  CHECK(std::holds_alternative<GetDirectoryAuthorities>(*request));
  client->disconnect();
  CHECK(call.get().status().code() == make_error_code(local_errc::closed));
  CHECK_FALSE(peer.receive());  // EOF, no thin_close
}

TEST_CASE("an undecodable frame from the daemon drops the connection") {
  ScriptedPeer peer;
  auto options = peer.options();
  options.reconnect = false;
  auto client = connect_to(peer, token_of(1), options);
  EventLog events(*client);
  const Bytes garbage{0xff, 0x00, 0x13};
  peer.send_raw(make_frame(garbage));
  auto lost = events.wait_for<DaemonDisconnectedEvent>();
  REQUIRE(lost);
  CHECK_FALSE(client->daemon_connected());
}

TEST_CASE("an oversize length prefix from the daemon drops the connection") {
  ScriptedPeer peer;
  auto options = peer.options();
  options.reconnect = false;
  auto client = connect_to(peer, token_of(1), options);
  EventLog events(*client);
  const Bytes prefix{0x02, 0x80, 0x00, 0x01};  // 40 MiB + 1
  peer.send_raw(prefix);
  REQUIRE(events.wait_for<DaemonDisconnectedEvent>());
  CHECK_FALSE(client->daemon_connected());
}

TEST_CASE("a call times out and its late reply is ignored") {
  ScriptedPeer peer;
  auto client = connect_to(peer, token_of(1));
  auto reply = client->call(GetDirectoryAuthorities{}, std::chrono::milliseconds(50));
  CHECK(reply.status().code() == make_error_code(local_errc::timeout));
  auto request = peer.receive();
  REQUIRE(request);
  GetDirectoryAuthoritiesReply late;
  late.query_id = query_id_of(*request);
  peer.send(late);
  expect_probe_first(peer, *client);
}

}  // namespace kpthin::testing
