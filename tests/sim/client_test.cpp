// libkpthin's ThinClient and Pigeonhole against kpclientd-sim: the scenarios of issue 3.
#include <doctest/doctest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "kpthin/client.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/pigeonhole.hpp"
#include "kpthin/pki.hpp"
#include "sim_harness.hpp"

using namespace kpthin;
using namespace kpsim_test;

namespace {

constexpr Duration kTimeout = std::chrono::seconds(10);

// A simulator, a connected ThinClient and a record of its events.
struct ClientFixture {
  SimProcess sim;
  std::unique_ptr<ThinClient> client;
  std::unique_ptr<Pigeonhole> ph;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Event> events;

  explicit ClientFixture(std::vector<std::string> args = {}) : sim(std::move(args)) {
    ClientOptions options;
    options.target = sim.target();
    options.connect_timeout = std::chrono::seconds(5);
    options.reconnect_initial = std::chrono::milliseconds(100);
    options.reconnect_max = std::chrono::milliseconds(500);
    auto connected = ThinClient::connect(options);
    if (!connected.ok()) throw std::runtime_error("connect failed: " + connected.status().message());
    client = std::move(connected.value());
    client->subscribe([this](const Event& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
      changed.notify_all();
    });
    ph = std::make_unique<Pigeonhole>(*client);
  }

  template <class E>
  std::optional<E> wait_event(std::chrono::milliseconds deadline = 10s) {
    std::unique_lock lock(mutex);
    std::optional<E> found;
    changed.wait_for(lock, deadline, [&] {
      for (const auto& e : events)
        if (const E* x = std::get_if<E>(&e)) found = *x;
      return found.has_value();
    });
    return found;
  }

  Keypair keypair(std::uint8_t seed_byte) {
    auto k = ph->new_keypair(seed_of(seed_byte), kTimeout);
    REQUIRE(k.ok());
    return std::move(k.value());
  }
  Status write(const Keypair& k, ByteView index, const Bytes& plaintext, bool no_idempotent = false) {
    auto e = ph->encrypt_write(plaintext, k.write_cap, index, kTimeout);
    if (!e.ok()) return e.status();
    ResendOptions options;
    options.no_idempotent_box_already_exists = no_idempotent;
    return ph->start_resending_write(*e, k.write_cap, options, kTimeout).status();
  }
  Result<ResendResult> read(const Keypair& k, ByteView index, bool no_retry = true, Duration timeout = kTimeout) {
    auto e = ph->encrypt_read(k.read_cap, index, kTimeout);
    if (!e.ok()) return e.status();
    ResendOptions options;
    options.no_retry_on_box_id_not_found = no_retry;
    return ph->start_resending_read(*e, k.read_cap, index, options, timeout);
  }
  Bytes next(ByteView index) { return ph->next_message_box_index(index, kTimeout).value(); }
  // Writes copy-stream elements to the temporary channel and runs the copy command.
  Status copy(const Keypair& temp, const std::vector<Bytes>& elements) {
    Bytes index = temp.first_message_index;
    for (const auto& element : elements) {
      if (auto s = write(temp, index, element); !s.ok()) return s;
      index = next(index);
    }
    return ph->start_resending_copy_command(temp.write_cap, std::nullopt, ResendOptions{}, kTimeout);
  }
};

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

}  // namespace

TEST_CASE("ThinClient handshake: geometries and a PKI document listing echo and courier") {
  ClientFixture f;
  CHECK(f.client->mixnet_connected());
  CHECK(f.client->sphinx_geometry().UserForwardPayloadLength == 2000);
  CHECK(f.client->pigeonhole_geometry().MaxPlaintextPayloadLength == 1549);
  const auto payload = f.client->pki_document();
  REQUIRE(payload);
  auto doc = parse_pki_document(*payload);
  REQUIRE(doc.ok());
  CHECK(doc->version == "v1");
  CHECK(doc->topology.size() == 3);
  CHECK(doc->gateway_nodes.size() == 1);
  const auto echo = doc->services("echo");
  REQUIRE(echo.size() == 2);
  CHECK(echo[0].queue_id == bytes_of("+echo"));
  CHECK(doc->services("courier").size() == 2);
  CHECK(echo[0].destination_hash == blake2b_256(doc->service_nodes[0].identity_key));
  // get_pki_document returns the certificate around the same document.
  auto cert = f.ph->get_pki_document(0, kTimeout);
  REQUIRE(cert.ok());
  CHECK(cert->epoch == doc->epoch);
  auto authorities = f.ph->get_directory_authorities(kTimeout);
  REQUIRE(authorities.ok());
  CHECK(authorities->size() == 3);
}

TEST_CASE("Pigeonhole through the sim: write -> read round trip, counters, next index") {
  ClientFixture f;
  const Keypair k = f.keypair(1);
  CHECK(f.write(k, k.first_message_index, bytes_of("hello")).ok());
  auto r = f.read(k, k.first_message_index);
  REQUIRE(r.ok());
  REQUIRE(r->plaintext);
  CHECK(*r->plaintext == bytes_of("hello"));
  CHECK(r->courier_identity_hash);
  auto counter = f.ph->message_box_index_counter(k.first_message_index, kTimeout);
  auto next_counter = f.ph->message_box_index_counter(f.next(k.first_message_index), kTimeout);
  REQUIRE(counter.ok());
  REQUIRE(next_counter.ok());
  CHECK(*next_counter == *counter + 1);
  CHECK(f.ph->new_keypair(seed_of(1), kTimeout)->read_cap == k.read_cap);
}

TEST_CASE("tombstone read, box-not-found with no-retry, box-already-exists variant") {
  ClientFixture f;
  const Keypair k = f.keypair(2);
  auto missing = f.read(k, k.first_message_index, true);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == make_error_code(replica_errc::box_id_not_found));
  CHECK(is_expected_outcome(missing.status().code()));

  CHECK(f.write(k, k.first_message_index, bytes_of("v1")).ok());
  CHECK(f.write(k, k.first_message_index, bytes_of("v2")).ok());  // default: courier ACK
  auto exists = f.write(k, k.first_message_index, bytes_of("v2"), true);
  CHECK(exists.code() == make_error_code(replica_errc::box_already_exists));
  CHECK(f.write(k, k.first_message_index, bytes_of("v1"), true).ok());

  auto tomb = f.ph->encrypt_tombstone(k.write_cap, k.first_message_index, kTimeout);
  REQUIRE(tomb.ok());
  CHECK(f.ph->start_resending_write(*tomb, k.write_cap, ResendOptions{}, kTimeout).ok());
  auto read = f.read(k, k.first_message_index);
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().code() == make_error_code(replica_errc::tombstone));
}

TEST_CASE("copy to one destination and to two destinations, each atomic") {
  ClientFixture f;
  const Keypair a = f.keypair(10), b = f.keypair(11);
  SUBCASE("one destination, payload spanning boxes") {
    Bytes payload(2500, 'p');
    auto env = f.ph->courier_envelopes_from_payload(payload, a.write_cap, a.first_message_index, true, true, kTimeout);
    REQUIRE(env.ok());
    CHECK(f.copy(f.keypair(12), env->envelopes).ok());
    auto first = f.read(a, a.first_message_index);
    auto second = f.read(a, f.next(a.first_message_index));
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(first->plaintext->size() + second->plaintext->size() == payload.size());
  }
  SUBCASE("two destinations") {
    std::vector<CourierDestination> dests;
    dests.push_back({bytes_of("for a"), a.write_cap, a.first_message_index});
    dests.push_back({bytes_of("for b"), b.write_cap, b.first_message_index});
    auto env = f.ph->courier_envelopes_from_multi_payload(dests, true, true, std::nullopt, kTimeout);
    REQUIRE(env.ok());
    CHECK(env->next_dest_indices.size() == 2);
    SUBCASE("both applied") {
      CHECK(f.copy(f.keypair(13), env->envelopes).ok());
      CHECK(*f.read(a, a.first_message_index)->plaintext == bytes_of("for a"));
      CHECK(*f.read(b, b.first_message_index)->plaintext == bytes_of("for b"));
    }
    SUBCASE("a conflict leaves both untouched") {
      CHECK(f.write(b, b.first_message_index, bytes_of("occupied")).ok());
      const Status s = f.copy(f.keypair(14), env->envelopes);
      CHECK(s.code() == make_error_code(thin_errc::copy_command_failed));
      CHECK(s.context().find("envelope 2") != std::string::npos);
      CHECK(f.read(a, a.first_message_index).status().code() == make_error_code(replica_errc::box_id_not_found));
      CHECK(*f.read(b, b.first_message_index)->plaintext == bytes_of("occupied"));
    }
  }
}

TEST_CASE("tombstone range through a copy stream, and the client-side tombstone range") {
  ClientFixture f;
  const Keypair k = f.keypair(20);
  Bytes index = k.first_message_index;
  for (int i = 0; i < 4; ++i) {
    CHECK(f.write(k, index, bytes_of("x")).ok());
    index = f.next(index);
  }
  auto env = f.ph->courier_envelopes_from_tombstone_range(k.write_cap, k.first_message_index, 2, true, true,
                                                          std::nullopt, kTimeout);
  REQUIRE(env.ok());
  CHECK(f.copy(f.keypair(21), env->envelopes).ok());
  const Bytes third = f.next(f.next(k.first_message_index));
  CHECK(f.read(k, k.first_message_index).status().code() == make_error_code(replica_errc::tombstone));
  CHECK(f.read(k, f.next(k.first_message_index)).status().code() == make_error_code(replica_errc::tombstone));
  CHECK(f.read(k, third).ok());

  auto range = f.ph->tombstone_range(k.write_cap, third, 2, kTimeout);
  REQUIRE(range.ok());
  REQUIRE(range->envelopes.size() == 2);
  for (const auto& [box, message] : range->envelopes)
    CHECK(f.ph->start_resending_write(message, k.write_cap, ResendOptions{}, kTimeout).ok());
  CHECK(f.read(k, third).status().code() == make_error_code(replica_errc::tombstone));
}

TEST_CASE("echo round trip through send_with_reply") {
  ClientFixture f;
  auto doc = parse_pki_document(*f.client->pki_document());
  REQUIRE(doc.ok());
  const auto echo = doc->services("echo");
  REQUIRE_FALSE(echo.empty());
  auto reply = f.ph->send_with_reply(echo[0], bytes_of("ping"), kTimeout);
  REQUIRE(reply.ok());
  REQUIRE(reply->size() >= 4);
  CHECK(Bytes(reply->begin(), reply->begin() + 4) == bytes_of("ping"));
}

TEST_CASE("cancel of a read waiting for a box never written") {
  ClientFixture f;
  const Keypair k = f.keypair(30);
  const auto started = Clock::now();
  auto r = f.read(k, k.first_message_index, /*no_retry=*/false, std::chrono::milliseconds(300));
  REQUIRE_FALSE(r.ok());
  CHECK(Clock::now() - started >= 300ms);
  CHECK(f.sim.wait_stat("cancels_matched", 1));
  CHECK(f.sim.stat("pending") == 0);

  std::atomic<bool> interrupt{false};
  auto e = f.ph->encrypt_read(k.read_cap, k.first_message_index, kTimeout);
  REQUIRE(e.ok());
  ResendOptions options;
  options.interrupt = &interrupt;
  auto pending = std::async(std::launch::async, [&] {
    return f.ph->start_resending_read(*e, k.read_cap, k.first_message_index, options, kTimeout);
  });
  REQUIRE(f.sim.wait_stat("waiting", 1));
  interrupt = true;
  auto interrupted = pending.get();
  CHECK(interrupted.status().code() == make_error_code(local_errc::cancelled));
  CHECK(f.sim.wait_stat("cancels_matched", 2));
}

TEST_CASE("restart in the middle of a waiting write: the client replays, it completes once") {
  ClientFixture f({"--latency", "500"});
  const Keypair k = f.keypair(40);
  auto e = f.ph->encrypt_write(bytes_of("replayed"), k.write_cap, k.first_message_index, kTimeout);
  REQUIRE(e.ok());
  ResendOptions options;
  options.no_idempotent_box_already_exists = true;  // a double apply would surface as code 10
  auto pending = std::async(std::launch::async, [&] {
    return f.ph->start_resending_write(*e, k.write_cap, options, std::chrono::seconds(15));
  });
  REQUIRE(f.sim.wait_stat("pending", 1));
  CHECK(f.sim.control("restart").rfind("ok", 0) == 0);
  auto result = pending.get();
  CHECK(result.ok());
  auto reconnected = f.wait_event<DaemonReconnectedEvent>();
  REQUIRE(reconnected);
  CHECK(reconnected->instance_changed);
  CHECK(reconnected->replayed >= 1);
  CHECK(f.sim.stat("boxes") == 1);
  CHECK(f.sim.stat("req.start_resending_encrypted_message") == 2);
  CHECK(*f.read(k, k.first_message_index)->plaintext == bytes_of("replayed"));
}

TEST_CASE("restart in the middle of a copy: replayed, applied exactly once") {
  ClientFixture f({"--latency", "300"});
  const Keypair dest = f.keypair(50), temp = f.keypair(51);
  auto env = f.ph->courier_envelopes_from_payload(bytes_of("copy once"), dest.write_cap, dest.first_message_index,
                                                   true, true, kTimeout);
  REQUIRE(env.ok());
  Bytes index = temp.first_message_index;
  for (const auto& element : env->envelopes) {
    REQUIRE(f.write(temp, index, element).ok());
    index = f.next(index);
  }
  auto pending = std::async(std::launch::async, [&] {
    return f.ph->start_resending_copy_command(temp.write_cap, std::nullopt, ResendOptions{}, std::chrono::seconds(15));
  });
  REQUIRE(f.sim.wait_stat("pending", 1));
  CHECK(f.sim.control("restart").rfind("ok", 0) == 0);
  CHECK(pending.get().ok());
  CHECK(f.sim.stat("copies_applied") == 1);
  CHECK(*f.read(dest, dest.first_message_index)->plaintext == bytes_of("copy once"));
}

TEST_CASE("drop without restart: the session resumes, the read is cancelled there and re-issued, its reply arrives") {
  ClientFixture f({"--latency", "500"});
  const Keypair k = f.keypair(60);
  CHECK(f.write(k, k.first_message_index, bytes_of("after the drop")).ok());
  auto e = f.ph->encrypt_read(k.read_cap, k.first_message_index, kTimeout);
  REQUIRE(e.ok());
  auto pending = std::async(std::launch::async, [&] {
    return f.ph->start_resending_read(*e, k.read_cap, k.first_message_index, ResendOptions{}, std::chrono::seconds(15));
  });
  REQUIRE(f.sim.wait_stat("pending", 1));
  CHECK(f.sim.control("drop") == "ok");
  auto result = pending.get();
  REQUIRE(result.ok());
  CHECK(*result->plaintext == bytes_of("after the drop"));
  auto reconnected = f.wait_event<DaemonReconnectedEvent>();
  REQUIRE(reconnected);
  CHECK_FALSE(reconnected->instance_changed);
  CHECK(reconnected->resumed);
  CHECK(f.sim.stat("resumes") == 1);
  CHECK(reconnected->reissued == 1);
  // The write, the read, and the read again after its first run was cancelled at the daemon.
  CHECK(f.sim.stat("req.start_resending_encrypted_message") == 3);
  CHECK(f.sim.stat("cancels") == 1);
}

TEST_CASE("a write whose reply the daemon drops while the client is away completes after the resume") {
  ClientFixture f({"--latency", "300"});
  const Keypair k = f.keypair(61);
  auto pending = std::async(std::launch::async, [&] {
    return f.write(k, k.first_message_index, bytes_of("written while away"), /*no_idempotent=*/true);
  });
  REQUIRE(f.sim.wait_stat("pending", 1));
  // Keep the client out until the write has completed and its reply has been dropped.
  CHECK(f.sim.control("hold") == "ok");
  CHECK(f.sim.control("drop") == "ok");
  REQUIRE(f.sim.wait_stat("replies_lost", 1));
  CHECK(f.sim.stat("boxes") == 1);
  CHECK(f.sim.control("release") == "ok");
  // The re-issued write finds its box holding the same envelope: the replica takes that as an
  // idempotent repeat, even with no_idempotent_box_already_exists.
  const Status written = pending.get();
  CHECK_MESSAGE(written.ok(), written.message());
  auto reconnected = f.wait_event<DaemonReconnectedEvent>();
  REQUIRE(reconnected);
  CHECK(reconnected->resumed);
  CHECK(reconnected->reissued == 1);
  CHECK(f.sim.stat("req.start_resending_encrypted_message") == 2);
  CHECK(*f.read(k, k.first_message_index)->plaintext == bytes_of("written while away"));
}

TEST_CASE("graceful shutdown is reported as graceful") {
  ClientFixture f;
  CHECK(f.sim.control("shutdown") == "ok");
  auto disconnected = f.wait_event<DaemonDisconnectedEvent>();
  REQUIRE(disconnected);
  CHECK(disconnected->is_graceful);
  CHECK(f.sim.terminate(0) == 0);
}

TEST_CASE("remaining request types through Pigeonhole: cancels of nothing, multi-payload buffer") {
  ClientFixture f;
  const Keypair k = f.keypair(70);
  Hash256 nothing{};
  CHECK(f.ph->cancel_resending(nothing, kTimeout).ok());
  CHECK(f.ph->cancel_copy_command(k.write_cap, kTimeout).ok());
  CHECK(f.sim.stat("cancels") == 2);
  std::vector<CourierDestination> dests;
  dests.push_back({Bytes(50, 'm'), k.write_cap, k.first_message_index});
  auto part = f.ph->courier_envelopes_from_multi_payload(dests, true, false, std::nullopt, kTimeout);
  REQUIRE(part.ok());
  REQUIRE(part->buffer);
  dests[0].start_index = part->next_dest_indices[0];
  auto rest = f.ph->courier_envelopes_from_multi_payload(dests, false, true, part->buffer, kTimeout);
  REQUIRE(rest.ok());
  CHECK_FALSE(rest->buffer);
  std::vector<Bytes> all = part->envelopes;
  all.insert(all.end(), rest->envelopes.begin(), rest->envelopes.end());
  CHECK(f.copy(f.keypair(71), all).ok());
  CHECK(*f.read(k, k.first_message_index)->plaintext == Bytes(50, 'm'));
  CHECK(*f.read(k, f.next(k.first_message_index))->plaintext == Bytes(50, 'm'));
}
