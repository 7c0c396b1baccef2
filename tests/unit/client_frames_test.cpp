// ThinClient and frames a newer daemon may send: a message key or a field this client does not
// know is skipped (and counted), never a reason to drop the connection.
#include <doctest/doctest.h>

#include <future>

#include "client_test_helpers.hpp"
#include "message_keys.hpp"

namespace kpthin::testing {
namespace {

// CBOR text string header + bytes (all strings here are shorter than 256 bytes).
Bytes cbor_text(const std::string& text) {
  Bytes out;
  if (text.size() < 24) {
    out.push_back(static_cast<std::uint8_t>(0x60 + text.size()));
  } else {
    out.push_back(0x78);
    out.push_back(static_cast<std::uint8_t>(text.size()));
  }
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

Bytes join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

}  // namespace

TEST_CASE("a frame whose only message key is unknown is ignored and counted; the connection stays") {
  ScriptedPeer peer;
  auto options = peer.options();
  options.reconnect = false;
  auto client = connect_to(peer, token_of(1), options);
  // {"future_event": {"x": 1}}: what a newer daemon's new event looks like to this client.
  peer.send_raw(make_frame(join({Bytes{0xa1}, cbor_text("future_event"), Bytes{0xa1}, cbor_text("x"), Bytes{0x01}})));
  // Go's full envelope form: every known key null, plus the unknown one.
  Bytes full{0xb8, static_cast<std::uint8_t>(detail::kResponseKeys.size() + 1)};
  for (const char* key : detail::kResponseKeys) full = join({full, cbor_text(key), Bytes{0xf6}});
  peer.send_raw(make_frame(join({full, cbor_text("future_event"), Bytes{0xa0}})));
  expect_probe_first(peer, *client);  // the probe's reply comes after both frames
  CHECK(client->ignored_frames() == 2);
  CHECK(client->daemon_connected());
}

TEST_CASE("an unknown field inside a known reply is ignored; the reply completes its call") {
  ScriptedPeer peer;
  auto options = peer.options();
  options.reconnect = false;
  auto client = connect_to(peer, token_of(1), options);
  auto call = std::async(std::launch::async, [&client] {
    return client->call(NextMessageBoxIndex{std::nullopt, Bytes(kMessageBoxIndexSize, 1)}, kTestTimeout);
  });
  auto request = peer.receive();
  REQUIRE(request);
  const QueryId query_id = query_id_of(*request);
  const Bytes id_bytes = join({Bytes{0x50}, Bytes(query_id.begin(), query_id.end())});  // bstr(16)
  peer.send_raw(make_frame(join({Bytes{0xa1}, cbor_text("next_message_box_index_reply"), Bytes{0xa2},
                                 cbor_text("query_id"), id_bytes, cbor_text("future_field"), Bytes{0x01}})));
  auto reply = call.get();
  REQUIRE_MESSAGE(reply.ok(), reply.status().message());
  CHECK(std::holds_alternative<NextMessageBoxIndexReply>(reply.value()));
  CHECK(client->ignored_frames() == 0);
  expect_probe_first(peer, *client);
}

}  // namespace kpthin::testing
