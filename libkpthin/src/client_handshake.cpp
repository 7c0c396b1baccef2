// ThinClient::Impl, I/O thread: dialling, reading frames, and the handshake (spec §2.2) that
// every connection and reconnection goes through.
#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>

#include "client_shared.hpp"
#include "kpthin/errors.hpp"

namespace kpthin {

using detail::encode_frame;
using detail::for_timer;

void ThinClient::Impl::begin_connect() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
  }
  const std::uint64_t generation = ++generation_;
  phase_ = Phase::kDialing;
  handshake_timer_.expires_after(for_timer(options_.connect_timeout));
  handshake_timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || generation != generation_ || phase_ == Phase::kUp) return;
    attempt_failed(Status(local_errc::timeout,
                          "no handshake with kpclientd at " + describe_dial_target(options_.target) +
                              " within " + std::to_string(options_.connect_timeout.count()) + " ms"),
                   false);
  });
  detail::async_dial(io_, options_.target, for_timer(options_.connect_timeout),
                     [this, generation](Status status, std::unique_ptr<detail::StreamSocket> socket) {
                       on_dialled(generation, std::move(status), std::move(socket));
                     });
}

void ThinClient::Impl::on_dialled(std::uint64_t generation, Status status,
                                  std::unique_ptr<detail::StreamSocket> socket) {
  if (generation != generation_) return;  // timed out or shut down meanwhile
  if (!status.ok()) {
    attempt_failed(status, true);
    return;
  }
  socket_ = std::move(socket);
  decoder_ = FrameDecoder();
  saw_shutdown_ = false;
  phase_ = Phase::kStatusFrame;
  spdlog::debug("kpthin: connected to {}, waiting for the handshake", describe_dial_target(options_.target));
  start_read();
}

void ThinClient::Impl::start_read() {
  const std::uint64_t generation = generation_;
  socket_->async_read_some(asio::buffer(read_buffer_.get(), detail::kReadChunk),
                           [this, generation](const boost::system::error_code& ec, std::size_t n) {
                             on_read(generation, ec, n);
                           });
}

void ThinClient::Impl::on_read(std::uint64_t generation, const boost::system::error_code& ec, std::size_t n) {
  if (generation != generation_) return;
  if (ec) {
    drop_connection(Status(ec == asio::error::eof ? local_errc::disconnected : local_errc::io_error,
                           ec == asio::error::eof ? "kpclientd closed the connection"
                                                  : "reading from kpclientd: " + ec.message()));
    return;
  }
  decoder_.feed(ByteView(read_buffer_.get(), n));
  wipe(read_buffer_.get(), n);
  for (;;) {
    auto next = decoder_.next_view();
    if (!next.ok()) {
      spdlog::warn("kpthin: dropping the daemon connection: {}", next.status().message());
      drop_connection(next.status());
      return;
    }
    if (!next->has_value()) break;
    const std::span<std::uint8_t> body = **next;  // inside decoder_, read in place
    auto response = decode_response(body);
    wipe(body.data(), body.size());
    if (!response.ok() && response.status().code() == make_error_code(local_errc::unknown_message)) {
      // A newer daemon's message: nothing here waits for it, and the stream is intact.
      ++ignored_frames_;
      spdlog::debug("kpthin: ignoring a frame with no known message: {}", response.status().message());
      continue;
    }
    if (!response.ok()) {
      spdlog::warn("kpthin: dropping the daemon connection: undecodable frame: {}",
                   response.status().message());
      drop_connection(response.status());
      return;
    }
    handle_frame(std::move(response).value());
    if (generation != generation_) return;  // the frame ended this connection
  }
  start_read();
}

void ThinClient::Impl::handle_frame(Response response) {
  switch (phase_) {
    case Phase::kStatusFrame:
      accept_status_frame(response);
      return;
    case Phase::kPkiFrame:
      accept_pki_frame(response);
      return;
    case Phase::kAwaitingToken:
      // Replies buffered for a resumed session and broadcasts may precede the token reply
      // (spec §2.2 ordering caveat), so everything else is dispatched as usual.
      if (const auto* reply = std::get_if<SessionTokenReply>(&response)) {
        complete_handshake(*reply);
      } else {
        dispatch(std::move(response));
      }
      return;
    case Phase::kUp:
      if (std::holds_alternative<SessionTokenReply>(response)) {
        spdlog::warn("kpthin: ignoring an unexpected session_token_reply");
        return;
      }
      dispatch(std::move(response));
      return;
    case Phase::kDown:
    case Phase::kDialing:
      return;
  }
}

void ThinClient::Impl::accept_status_frame(Response& response) {
  auto* event = std::get_if<ConnectionStatusEvent>(&response);
  if (event == nullptr) {
    attempt_failed(Status(local_errc::unexpected_message,
                          std::string("handshake: expected connection_status_event as frame 1, got ") +
                              response_key(response)),
                   false);
    return;
  }
  if (!event->sphinx_geometry || !event->pigeonhole_geometry) {
    attempt_failed(Status(local_errc::unexpected_message,
                          "handshake: connection_status_event lacks the sphinx or pigeonhole geometry"),
                   false);
    return;
  }
  {
    std::lock_guard lock(mu_);
    record_status_locked(*event);
  }
  phase_ = Phase::kPkiFrame;
  emit(Event(std::move(*event)));
}

void ThinClient::Impl::accept_pki_frame(Response& response) {
  auto* event = std::get_if<NewPkiDocumentEvent>(&response);
  if (event == nullptr) {
    attempt_failed(Status(local_errc::unexpected_message,
                          std::string("handshake: expected new_pki_document_event as frame 2, got ") +
                              response_key(response)),
                   false);
    return;
  }
  bool subscribed;
  {
    std::lock_guard lock(subscribers_mu_);
    subscribed = !subscribers_.empty();
  }
  {
    std::lock_guard lock(mu_);
    if (event->payload && !event->payload->empty()) {
      // Documents run to megabytes with post-quantum keys. Nobody can subscribe before the
      // first connect() returns, so that handshake keeps the decoded one instead of a copy.
      if (subscribed) {
        pki_document_ = event->payload;
      } else {
        pki_document_ = std::move(event->payload);
      }
    }
    outbox_.push_back({encode_frame(SessionToken{client_token_}), std::nullopt});
    if (!write_posted_) {
      write_posted_ = true;
      asio::post(io_, [this] { write_next(); });
    }
  }
  phase_ = Phase::kAwaitingToken;
  if (subscribed) emit(Event(std::move(*event)));
}

void ThinClient::Impl::complete_handshake(const SessionTokenReply& reply) {
  handshake_timer_.cancel();
  phase_ = Phase::kUp;
  backoff_ = options_.reconnect_initial;
  const bool reconnect = ever_connected_;
  ever_connected_ = true;
  DaemonReconnectedEvent reconnected;
  reconnected.resumed = reply.resumed;
  {
    std::lock_guard lock(mu_);
    up_ = true;
    direct_fd_ = socket_->native_handle();
    reconnected.instance_changed = previous_instance_ && *previous_instance_ != daemon_token_;
    if (reconnect && !closing_) {
      // The daemon lost its ARQ state if it restarted or did not resume our session.
      resume_resending_locked(reconnected.instance_changed || !reply.resumed, reconnected);
    } else if (!reconnect) {
      initial_result_ = Status();
    }
    state_changed_.notify_all();
  }
  if (reconnect) {
    spdlog::info("kpthin: reconnected to kpclientd (instance {}, resumed {}, replayed {}, cancelled to re-issue {})",
                 reconnected.instance_changed ? "changed" : "same", reply.resumed, reconnected.replayed,
                 reconnected.reissued);
    emit(Event(reconnected));
  } else {
    spdlog::debug("kpthin: handshake complete (resumed {})", reply.resumed);
  }
}

void ThinClient::Impl::record_status_locked(const ConnectionStatusEvent& event) {
  mixnet_connected_ = event.is_connected;
  daemon_token_ = event.instance_token;
  if (event.sphinx_geometry) sphinx_geometry_ = *event.sphinx_geometry;
  if (event.pigeonhole_geometry) pigeonhole_geometry_ = *event.pigeonhole_geometry;
}

}  // namespace kpthin
