// Private state shared by the Simulator's translation units.
#pragma once

#include <utility>  // Boost 1.74 asio under C++20 needs std::exchange first
#include <boost/asio.hpp>

#include <deque>
#include <memory>
#include <optional>

#include "simulator.hpp"

namespace kpsim {

struct Simulator::Session {
  AppId app{};
  std::optional<kpthin::InstanceToken> client_token;
  std::shared_ptr<Connection> conn;  // null while disconnected (grace period)
  std::deque<kpthin::Bytes> queued;  // frames held for a resume, flushed before the reply
  std::unique_ptr<boost::asio::steady_timer> grace;
};

struct Simulator::PendingOp {
  enum class Kind { kWrite, kRead, kCopy, kSend };
  Kind kind = Kind::kWrite;
  AppId app{};
  std::uint64_t conn_id = 0;  // the connection whose queue holds it until it is sent
  std::optional<kpthin::QueryId> query_id;
  kpthin::Hash256 handle{};  // envelope hash or write-cap hash; cancel key
  bool has_handle = false;
  kpthin::StartResendingEncryptedMessage resend;  // kWrite / kRead
  kpthin::StartResendingCopyCommand copy;         // kCopy
  kpthin::SendMessage message;                    // kSend
  const SimService* courier = nullptr;
  std::unique_ptr<boost::asio::steady_timer> timer;
  std::optional<BoxId> waiting_for;
  // Left the send queue: its packet is in the mixnet and lands whatever becomes of the client.
  // Until then it dies with its connection, as a request in kpclientd's per-connection requestCh
  // does (client/listener.go PickNextRequest reads only live connections).
  bool started = false;
};

// Frames a response the way kpclientd does: Go's full 25-key envelope.
kpthin::Bytes frame_response(const kpthin::Response& response);

// An error reply of the right type for a request: only query_id and error_code set (spec §4.0).
// nullopt for requests that have no reply (session_token, thin_close, send_message).
std::optional<kpthin::Response> error_reply_for(const kpthin::Request& request, std::uint8_t code);

}  // namespace kpsim
