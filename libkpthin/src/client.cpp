#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "client_impl.hpp"
#include "kpthin/codec.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/pigeonhole.hpp"
#include "sodium_once.hpp"

namespace kpthin {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 64 * 1024;
// Timeouts beyond this are "wait forever" (and would overflow a time_point if added to now()).
constexpr Duration kForever = std::chrono::hours(24 * 365);
// How often a waiting call looks at its interrupt flag.
constexpr Duration kInterruptPoll{50};
// How long close() waits for queued frames and thin_close to reach the socket.
constexpr Duration kCloseFlushTimeout = std::chrono::seconds(5);

Duration for_timer(Duration d) { return std::min(d, kForever); }

std::optional<QueryId> ensure_query_id(Request& request) {
  return std::visit(
      [](auto& r) -> std::optional<QueryId> {
        if constexpr (requires { r.query_id; }) {
          if (!r.query_id) r.query_id = random_query_id();
          return r.query_id;
        } else {
          return std::nullopt;
        }
      },
      request);
}

bool is_replayable(const Request& request) {
  return std::holds_alternative<StartResendingEncryptedMessage>(request) ||
         std::holds_alternative<StartResendingCopyCommand>(request);
}

std::optional<Hash256> resending_handle(const Request& request) {
  if (const auto* message = std::get_if<StartResendingEncryptedMessage>(&request)) {
    return message->envelope_hash;
  }
  if (const auto* copy = std::get_if<StartResendingCopyCommand>(&request)) {
    return write_cap_hash(copy->write_cap);
  }
  return std::nullopt;
}

// The handle a cancel request names, if it is one.
std::optional<Hash256> cancelled_handle(const Request& request) {
  if (const auto* cancel = std::get_if<CancelResendingEncryptedMessage>(&request)) return cancel->envelope_hash;
  if (const auto* cancel = std::get_if<CancelResendingCopyCommand>(&request)) return cancel->write_cap_hash;
  return std::nullopt;
}

Request cancel_request(const Hash256& handle, bool copy_command) {
  if (copy_command) return CancelResendingCopyCommand{random_query_id(), handle};
  return CancelResendingEncryptedMessage{random_query_id(), handle};
}

// The terminal reply a cancel makes the daemon send for the operation it cancelled (code 24).
bool is_cancelled_reply(const Response& response) {
  constexpr auto kCancelled = static_cast<std::uint8_t>(thin_errc::start_resending_cancelled);
  if (const auto* reply = std::get_if<StartResendingEncryptedMessageReply>(&response)) {
    return reply->error_code == kCancelled;
  }
  if (const auto* reply = std::get_if<StartResendingCopyCommandReply>(&response)) {
    return reply->error_code == kCancelled;
  }
  return false;
}

int cancel_reply_code(const Response& response) {
  if (const auto* reply = std::get_if<CancelResendingEncryptedMessageReply>(&response)) return reply->error_code;
  if (const auto* reply = std::get_if<CancelResendingCopyCommandReply>(&response)) return reply->error_code;
  return -1;  // not a cancel reply at all
}

Bytes encode_frame(const Request& request) {
  Bytes body = encode_request(request);
  Bytes frame = make_frame(body);
  wipe(body.data(), body.size());
  return frame;
}

void wipe_frames(std::vector<detail::OutgoingFrame>& frames) {
  for (auto& frame : frames) wipe(frame.bytes.data(), frame.bytes.size());
  frames.clear();
}

// Events are the daemon's event messages; everything else on the wire is a reply.
std::optional<Event> as_event(Response&& response) {
  return std::visit(
      [](auto&& message) -> std::optional<Event> {
        using T = std::decay_t<decltype(message)>;
        if constexpr (std::is_constructible_v<Event, T&&> && !std::is_same_v<T, SessionTokenReply>) {
          return Event(std::move(message));
        } else {
          return std::nullopt;
        }
      },
      std::move(response));
}

}  // namespace

namespace detail {

std::size_t QueryIdHash::operator()(const QueryId& id) const noexcept {
  std::size_t h;
  std::memcpy(&h, id.data(), sizeof h);
  return h;
}

}  // namespace detail

QueryId random_query_id() {
  // libsodium makes one getrandom() system call per randombytes_buf(); drawing ids from a
  // per-thread pool of CSPRNG output keeps that off the per-request path. Bytes handed out are
  // wiped from the pool so they are never handed out twice.
  constexpr std::size_t kPoolSize = 1024;
  thread_local std::array<std::uint8_t, kPoolSize> pool;
  thread_local std::size_t used = kPoolSize;
  QueryId id;
  if (used + id.size() > kPoolSize) {
    detail::ensure_sodium();
    randombytes_buf(pool.data(), pool.size());
    used = 0;
  }
  std::memcpy(id.data(), pool.data() + used, id.size());
  wipe(pool.data() + used, id.size());
  used += id.size();
  return id;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

ThinClient::Impl::Impl(ClientOptions options)
    : options_(std::move(options)),
      work_(asio::make_work_guard(io_)),
      handshake_timer_(io_),
      reconnect_timer_(io_),
      read_buffer_(kReadChunk),
      backoff_(options_.reconnect_initial) {
  if (options_.client_instance_token) {
    client_token_ = *options_.client_instance_token;
  } else {
    detail::ensure_sodium();
    randombytes_buf(client_token_.data(), client_token_.size());
  }
}

ThinClient::Impl::~Impl() { shut_down(false); }

Status ThinClient::Impl::start() {
  if (auto checked = check_dial_target(options_.target); !checked.ok()) return checked;
  thread_ = start_io_thread();
  asio::post(io_, [this] { begin_connect(); });
  std::unique_lock lock(mu_);
  // The handshake timer bounds this wait; the caller's interrupt flag may end it sooner.
  const std::atomic<bool>* interrupt = options_.interrupt;
  while (!initial_result_) {
    if (interrupt == nullptr) {
      state_changed_.wait(lock);
    } else if (interrupt->load()) {
      lock.unlock();
      // The handshake may have completed meanwhile: thin_close then ends the daemon's session.
      shut_down(true);
      return Status(local_errc::cancelled, "interrupted while connecting to kpclientd");
    } else {
      state_changed_.wait_for(lock, kInterruptPoll);
    }
  }
  Status result = *initial_result_;
  lock.unlock();
  if (!result.ok()) shut_down(false);
  return result;
}

std::thread ThinClient::Impl::start_io_thread() {
  // The thread inherits the creator's signal mask, so blocking the asynchronous signals around
  // its creation means it never takes one: a process-wide SIGINT interrupts the application's
  // blocking calls instead of vanishing into the event loop. Synchronous faults stay unblocked.
  sigset_t all, saved;
  sigfillset(&all);
  for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&all, fault);
  pthread_sigmask(SIG_BLOCK, &all, &saved);
  std::thread thread([this] { io_.run(); });
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  return thread;
}

void ThinClient::Impl::shut_down(bool send_thin_close) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    // Joining the I/O thread from itself would deadlock.
    spdlog::error("kpthin: close()/disconnect() called from an event or reply handler; ignored");
    return;
  }
  {
    std::unique_lock lock(mu_);
    if (closing_ || !thread_.joinable()) {
      closed_ = true;
      return;
    }
    closing_ = true;
    if (send_thin_close && up_) {
      outbox_.push_back({encode_frame(ThinClose{}), std::nullopt});
      flush_requested_ = true;
      if (!write_posted_) {
        write_posted_ = true;
        asio::post(io_, [this] { write_next(); });
      }
      state_changed_.wait_for(lock, kCloseFlushTimeout, [this] { return flushed_ || !up_; });
    }
    closed_ = true;
    up_ = false;
  }
  asio::post(io_, [this] {
    ++generation_;
    phase_ = Phase::kDown;
    close_socket();
    handshake_timer_.cancel();
    reconnect_timer_.cancel();
    io_.stop();
  });
  thread_.join();

  std::vector<std::shared_ptr<detail::PendingRequest>> woken;
  std::vector<ReplyHandler> handlers;
  {
    std::lock_guard lock(mu_);
    wipe_frames(outbox_);
    for (auto& [id, pending] : pending_) {
      if (pending->on_reply) {
        handlers.push_back(std::move(pending->on_reply));
      } else if (!pending->result) {
        pending->result.emplace(Status(local_errc::closed, "the client was closed"));
        woken.push_back(pending);
      }
    }
    pending_.clear();
    state_changed_.notify_all();
  }
  for (auto& pending : woken) pending->ready.notify_all();
  for (auto& handler : handlers) handler(Status(local_errc::closed, "the client was closed"));
}

// ---------------------------------------------------------------------------------------------
// Connecting and the handshake (I/O thread)

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
  socket_->async_read_some(asio::buffer(read_buffer_),
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
  decoder_.feed(ByteView(read_buffer_.data(), n));
  wipe(read_buffer_.data(), n);
  for (;;) {
    auto next = decoder_.next();
    if (!next.ok()) {
      spdlog::warn("kpthin: dropping the daemon connection: {}", next.status().message());
      drop_connection(next.status());
      return;
    }
    if (!next->has_value()) break;
    Bytes body = std::move(**next);
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
  {
    std::lock_guard lock(mu_);
    if (event->payload && !event->payload->empty()) pki_document_ = event->payload;
    outbox_.push_back({encode_frame(SessionToken{client_token_}), std::nullopt});
    if (!write_posted_) {
      write_posted_ = true;
      asio::post(io_, [this] { write_next(); });
    }
  }
  phase_ = Phase::kAwaitingToken;
  emit(Event(std::move(*event)));
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

void ThinClient::Impl::resume_resending_locked(bool daemon_forgot, DaemonReconnectedEvent& reconnected) {
  std::vector<std::pair<std::uint64_t, QueryId>> resending;
  for (const auto& [id, pending] : pending_) {
    if (pending->replay_frame && !pending->result) resending.emplace_back(pending->order, id);
  }
  std::sort(resending.begin(), resending.end());
  for (const auto& [order, id] : resending) {
    auto& pending = *pending_.at(id);
    if (daemon_forgot || !pending.written) {
      // Never seen by this daemon instance (or its state is gone): send it as it was. A request
      // its owner is cancelling is not started again.
      if (pending.owner_cancelling) continue;
      pending.written = false;
      const ByteView frame = pending.replay_frame->reveal();
      enqueue_locked({Bytes(frame.begin(), frame.end()), id});
      ++reconnected.replayed;
      continue;
    }
    // The resumed daemon may have finished it while we were away and dropped the reply
    // (spec §2.3): nothing would ever answer. Cancel it there, then send it again once the
    // daemon confirms the cancel (re-sending an envelope is safe, spec §7.2).
    Request cancel = cancel_request(*pending.handle, pending.copy_command);
    const QueryId cancel_id = *request_query_id(cancel);
    if (!pending.owner_cancelling) {
      pending.reconnect_cancel = cancel_id;
      reissue_after_cancel_.emplace(cancel_id, id);
      ++reconnected.reissued;
    }
    enqueue_locked({encode_frame(cancel), std::nullopt});
  }
  // A resumed daemon still retries what was forgotten while we were away; tell it now.
  if (!daemon_forgot) {
    for (const auto& cancel : deferred_cancels_) {
      enqueue_locked({encode_frame(cancel_request(cancel.handle, cancel.copy_command)), std::nullopt});
    }
  }
  deferred_cancels_.clear();
}

bool ThinClient::Impl::finish_reconnect_cancel_locked(const QueryId& cancel_id, const Response& reply) {
  const auto found = reissue_after_cancel_.find(cancel_id);
  if (found == reissue_after_cancel_.end()) return false;
  const QueryId request_id = found->second;
  reissue_after_cancel_.erase(found);
  const auto it = pending_.find(request_id);
  if (it == pending_.end()) return true;  // forgotten meanwhile
  auto& pending = *it->second;
  if (pending.reconnect_cancel != cancel_id) return true;
  pending.reconnect_cancel.reset();
  // Answered meanwhile (its real reply beat the cancel), forgotten, or being cancelled by its
  // owner: nothing to send again.
  if (pending.result || !pending.replay_frame || pending.owner_cancelling) return true;
  if (const int code = cancel_reply_code(reply); code != 0) {
    spdlog::warn("kpthin: the daemon answered a reconnect cancel with code {}; re-issuing anyway", code);
  }
  pending.written = false;
  const ByteView frame = pending.replay_frame->reveal();
  enqueue_locked({Bytes(frame.begin(), frame.end()), request_id});
  spdlog::debug("kpthin: re-issuing a start-resending request after the daemon confirmed its cancel");
  return true;
}

void ThinClient::Impl::note_owner_cancel_locked(const Request& request) {
  const auto handle = cancelled_handle(request);
  if (!handle) return;
  for (auto& [id, pending] : pending_) {
    if (pending->handle && *pending->handle == *handle) pending->owner_cancelling = true;
  }
}

void ThinClient::Impl::record_status_locked(const ConnectionStatusEvent& event) {
  mixnet_connected_ = event.is_connected;
  daemon_token_ = event.instance_token;
  if (event.sphinx_geometry) sphinx_geometry_ = *event.sphinx_geometry;
  if (event.pigeonhole_geometry) pigeonhole_geometry_ = *event.pigeonhole_geometry;
}

// ---------------------------------------------------------------------------------------------
// Dispatch (I/O thread)

void ThinClient::Impl::dispatch(Response response) {
  if (auto query_id = response_query_id(response)) {
    complete_pending(*query_id, std::move(response));
    return;
  }
  if (std::holds_alternative<ShutdownEvent>(response)) {
    saw_shutdown_ = true;
    spdlog::info("kpthin: kpclientd is shutting down");
  } else if (const auto* status = std::get_if<ConnectionStatusEvent>(&response)) {
    std::lock_guard lock(mu_);
    record_status_locked(*status);
  } else if (const auto* document = std::get_if<NewPkiDocumentEvent>(&response)) {
    std::lock_guard lock(mu_);
    if (document->payload && !document->payload->empty()) pki_document_ = document->payload;
  }
  const char* key = response_key(response);
  if (auto event = as_event(std::move(response))) {
    emit(*event);
  } else {
    spdlog::debug("kpthin: dropping a {} without a query_id", key);
  }
}

void ThinClient::Impl::complete_pending(const QueryId& query_id, Response response) {
  std::shared_ptr<detail::PendingRequest> pending;
  ReplyHandler handler;
  {
    std::lock_guard lock(mu_);
    if (finish_reconnect_cancel_locked(query_id, response)) return;
    auto it = pending_.find(query_id);
    if (it == pending_.end() || it->second->result) {
      spdlog::debug("kpthin: dropping a {} for an unknown query id", response_key(response));
      return;
    }
    pending = it->second;
    if (pending->reconnect_cancel && !pending->owner_cancelling && is_cancelled_reply(response)) {
      spdlog::debug("kpthin: dropping the cancelled first run's {}; the request is re-issued", response_key(response));
      return;
    }
    pending->replay_frame.reset();
    if (pending->on_reply) {
      handler = std::move(pending->on_reply);
      pending_.erase(it);
    } else {
      pending->result.emplace(std::move(response));
    }
  }
  if (handler) {
    handler(Result<Response>(std::move(response)));
  } else {
    pending->ready.notify_all();
  }
}

void ThinClient::Impl::emit(const Event& event) {
  std::lock_guard lock(subscribers_mu_);
  if (subscribers_.empty()) return;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<EventHandler>>> snapshot(subscribers_.begin(),
                                                                               subscribers_.end());
  for (const auto& [id, handler] : snapshot) {
    if (!subscribers_.contains(id)) continue;  // unsubscribed by an earlier handler
    try {
      (*handler)(event);
    } catch (const std::exception& e) {
      spdlog::error("kpthin: event handler threw: {}", e.what());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Losing the connection and reconnecting (I/O thread)

void ThinClient::Impl::close_socket() {
  if (!socket_) return;
  boost::system::error_code ignored;
  socket_->close(ignored);
  socket_.reset();
  writing_ = false;  // the outstanding write, if any, completes as aborted and is ignored
}

void ThinClient::Impl::drop_connection(const Status& why) {
  if (phase_ == Phase::kUp) {
    connection_lost(why);
  } else {
    attempt_failed(why, false);
  }
}

void ThinClient::Impl::attempt_failed(const Status& why, bool dial_failed) {
  ++generation_;
  phase_ = Phase::kDown;
  close_socket();
  handshake_timer_.cancel();
  {
    std::lock_guard lock(mu_);
    wipe_frames(outbox_);
    if (!ever_connected_) {
      initial_result_ = why;
      state_changed_.notify_all();
      return;
    }
    if (closing_) return;
  }
  if (dial_failed) backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
  spdlog::info("kpthin: reconnect attempt failed ({}); retrying in {} ms", why.message(), backoff_.count());
  schedule_reconnect();
}

void ThinClient::Impl::connection_lost(const Status& why) {
  ++generation_;
  phase_ = Phase::kDown;
  close_socket();
  handshake_timer_.cancel();
  DaemonDisconnectedEvent disconnected{saw_shutdown_, why.message()};
  std::vector<std::shared_ptr<detail::PendingRequest>> woken;
  std::vector<ReplyHandler> handlers;
  const Status lost(local_errc::disconnected, "connection to kpclientd lost before the reply");
  bool closing;
  {
    std::lock_guard lock(mu_);
    closing = closing_;
    up_ = false;
    mixnet_connected_ = false;
    previous_instance_ = daemon_token_;
    wipe_frames(outbox_);
    // Unanswered reconnect cancels die with the socket; the next resume cancels again.
    reissue_after_cancel_.clear();
    for (auto& [id, pending] : pending_) pending->reconnect_cancel.reset();
    // Only start-resending requests survive a loss (they are replayed); any other reply is gone
    // with the socket, so its caller learns now instead of at its timeout.
    for (auto it = pending_.begin(); it != pending_.end();) {
      auto& pending = it->second;
      if (pending->result || (pending->replay_frame && options_.reconnect && !closing_)) {
        ++it;
        continue;
      }
      if (pending->on_reply) {
        handlers.push_back(std::move(pending->on_reply));
        it = pending_.erase(it);
      } else {
        pending->result.emplace(lost);
        woken.push_back(pending);
        ++it;
      }
    }
    state_changed_.notify_all();
  }
  for (auto& pending : woken) pending->ready.notify_all();
  for (auto& handler : handlers) handler(lost);
  if (closing) return;
  if (disconnected.is_graceful) {
    spdlog::info("kpthin: kpclientd shut down ({})", why.message());
  } else {
    spdlog::warn("kpthin: lost the connection to kpclientd: {}", why.message());
  }
  emit(Event(disconnected));
  if (options_.reconnect) {
    backoff_ = options_.reconnect_initial;
    schedule_reconnect();
  }
}

void ThinClient::Impl::schedule_reconnect() {
  reconnect_timer_.expires_after(for_timer(backoff_));
  reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) begin_connect();
  });
}

// ---------------------------------------------------------------------------------------------
// Writing

void ThinClient::Impl::enqueue_locked(detail::OutgoingFrame frame) {
  outbox_.push_back(std::move(frame));
  if (!write_posted_) {
    write_posted_ = true;
    asio::post(io_, [this] { write_next(); });
  }
}

void ThinClient::Impl::write_next() {
  if (writing_) return;  // the running write's completion calls back here
  auto batch = std::make_shared<std::vector<detail::OutgoingFrame>>();
  {
    std::lock_guard lock(mu_);
    const bool writable = socket_ && (phase_ == Phase::kAwaitingToken || phase_ == Phase::kUp);
    if (outbox_.empty() || !writable) {
      write_posted_ = false;
      if (outbox_.empty() && flush_requested_) {
        flushed_ = true;
        state_changed_.notify_all();
      }
      return;
    }
    batch->swap(outbox_);
    // From here the daemon may see these frames, even if the write is cut off by a loss.
    for (const auto& frame : *batch) {
      if (!frame.replayable) continue;
      if (auto it = pending_.find(*frame.replayable); it != pending_.end()) it->second->written = true;
    }
  }
  // Everything queued since the last write goes out in one gathered write.
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(batch->size());
  for (const auto& frame : *batch) buffers.emplace_back(frame.bytes.data(), frame.bytes.size());
  writing_ = true;
  const std::uint64_t generation = generation_;
  asio::async_write(*socket_, buffers,
                    [this, batch, generation](const boost::system::error_code& ec, std::size_t) {
                      wipe_frames(*batch);
                      if (generation != generation_) {
                        // close_socket() already cleared writing_ for this dead socket; a
                        // write_next() posted meanwhile returned early, so write_posted_ is still
                        // set and only this completion can move the outbox on.
                        write_next();
                        return;
                      }
                      writing_ = false;
                      if (ec) {
                        drop_connection(Status(local_errc::io_error, "writing to kpclientd: " + ec.message()));
                        // The socket is gone, so this only clears write_posted_; left set, the
                        // next connection's session_token would never be written (the
                        // handshake then stalls until the connect timeout).
                        write_next();
                        return;
                      }
                      write_next();
                    });
}

// ---------------------------------------------------------------------------------------------
// Requests (any thread)

Status ThinClient::Impl::send(const Request& request) {
  Bytes frame = encode_frame(request);
  std::lock_guard lock(mu_);
  if (closing_) {
    wipe(frame.data(), frame.size());
    return Status(local_errc::closed, "the client is closed");
  }
  if (!up_) {
    wipe(frame.data(), frame.size());
    return Status(local_errc::disconnected, "not connected to kpclientd");
  }
  enqueue_locked({std::move(frame), std::nullopt});
  return Status();
}

Result<QueryId> ThinClient::Impl::begin_call(Request& request, ReplyHandler on_reply) {
  const auto query_id = ensure_query_id(request);
  if (!query_id) {
    return Status(local_errc::unexpected_message,
                  std::string(request_key(request)) + " has no reply; use send()");
  }
  Bytes frame = encode_frame(request);
  auto pending = std::make_shared<detail::PendingRequest>();
  pending->on_reply = std::move(on_reply);
  const bool replayable = is_replayable(request);
  if (replayable) {
    pending->replay_frame.emplace(view(frame));
    pending->handle = resending_handle(request);
    pending->copy_command = std::holds_alternative<StartResendingCopyCommand>(request);
  }
  std::lock_guard lock(mu_);
  note_owner_cancel_locked(request);
  if (closing_ || !up_) {
    wipe(frame.data(), frame.size());
    return closing_ ? Status(local_errc::closed, "the client is closed")
                    : Status(local_errc::disconnected, "not connected to kpclientd");
  }
  pending->order = next_order_++;
  if (!pending_.try_emplace(*query_id, pending).second) {
    wipe(frame.data(), frame.size());
    return Status(local_errc::unexpected_message, "a request with this query_id is already pending");
  }
  enqueue_locked({std::move(frame), replayable ? query_id : std::nullopt});
  return *query_id;
}

Result<Response> ThinClient::Impl::await_reply(const QueryId& query_id, Duration timeout,
                                               const std::atomic<bool>* interrupt) {
  std::unique_lock lock(mu_);
  auto it = pending_.find(query_id);
  if (it == pending_.end()) return Status(local_errc::not_found, "no pending request with this query_id");
  auto pending = it->second;
  const bool forever = timeout >= kForever;
  const auto deadline = forever ? Clock::time_point::max() : Clock::now() + timeout;
  while (!pending->result) {
    if (interrupt != nullptr && interrupt->load()) {
      return Status(local_errc::cancelled, "interrupted while waiting for the reply");
    }
    auto wake = deadline;
    if (interrupt != nullptr) wake = std::min(deadline, Clock::now() + kInterruptPoll);
    if (wake == Clock::time_point::max()) {
      pending->ready.wait(lock);
    } else {
      pending->ready.wait_until(lock, wake);
      if (!pending->result && Clock::now() >= deadline) {
        return Status(local_errc::timeout, "no reply within " + std::to_string(timeout.count()) + " ms");
      }
    }
  }
  Result<Response> result = std::move(*pending->result);
  if (auto again = pending_.find(query_id); again != pending_.end() && again->second == pending) {
    pending_.erase(again);
  }
  return result;
}

void ThinClient::Impl::forget_pending(const QueryId& query_id) { drop_pending(query_id, true); }

std::size_t ThinClient::Impl::forget_resending(const Hash256& handle) {
  std::vector<QueryId> matches;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, pending] : pending_) {
      if (pending->handle && *pending->handle == handle && !pending->result) matches.push_back(id);
    }
  }
  // The owner may not have reached await_reply() yet, so the entry stays until it collects the
  // cancellation.
  for (const auto& id : matches) drop_pending(id, false);
  return matches.size();
}

void ThinClient::Impl::drop_pending(const QueryId& query_id, bool erase) {
  std::shared_ptr<detail::PendingRequest> pending;
  ReplyHandler handler;
  const Status forgotten(local_errc::cancelled, "the request was cancelled");
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(query_id);
    if (it == pending_.end()) return;
    pending = it->second;
    if (!up_ && pending->replay_frame && pending->written && pending->handle && !pending->result) {
      deferred_cancels_.push_back({*pending->handle, pending->copy_command});
    }
    pending->replay_frame.reset();
    if (pending->on_reply) {
      handler = std::move(pending->on_reply);
      pending_.erase(it);
    } else {
      if (!pending->result) pending->result.emplace(forgotten);
      if (erase) pending_.erase(it);
    }
  }
  if (handler) {
    handler(forgotten);
  } else {
    pending->ready.notify_all();
  }
}

// ---------------------------------------------------------------------------------------------
// Subscribers and accessors

std::uint64_t ThinClient::Impl::subscribe(EventHandler handler) {
  std::lock_guard lock(subscribers_mu_);
  const auto id = next_subscriber_++;
  subscribers_.emplace(id, std::make_shared<EventHandler>(std::move(handler)));
  return id;
}

void ThinClient::Impl::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(id);
}

bool ThinClient::Impl::daemon_connected() const {
  std::lock_guard lock(mu_);
  return up_;
}

bool ThinClient::Impl::wait_until_connected(Duration timeout) const {
  std::unique_lock lock(mu_);
  auto ready = [this] { return up_ || closing_; };
  if (timeout >= kForever) {
    state_changed_.wait(lock, ready);
  } else {
    state_changed_.wait_for(lock, timeout, ready);
  }
  return up_;
}

bool ThinClient::Impl::mixnet_connected() const {
  std::lock_guard lock(mu_);
  return mixnet_connected_;
}

InstanceToken ThinClient::Impl::daemon_instance_token() const {
  std::lock_guard lock(mu_);
  return daemon_token_;
}

SphinxGeometry ThinClient::Impl::sphinx_geometry() const {
  std::lock_guard lock(mu_);
  return sphinx_geometry_;
}

PigeonholeGeometry ThinClient::Impl::pigeonhole_geometry() const {
  std::lock_guard lock(mu_);
  return pigeonhole_geometry_;
}

std::optional<Bytes> ThinClient::Impl::pki_document() const {
  std::lock_guard lock(mu_);
  return pki_document_;
}

// ---------------------------------------------------------------------------------------------
// ThinClient: the public face

Result<std::unique_ptr<ThinClient>> ThinClient::connect(ClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto status = impl->start(); !status.ok()) return status;
  return std::unique_ptr<ThinClient>(new ThinClient(std::move(impl)));
}

ThinClient::ThinClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ThinClient::~ThinClient() { disconnect(); }

Result<Response> ThinClient::call(Request request, Duration timeout) {
  auto query_id = impl_->begin_call(request, nullptr);
  if (!query_id.ok()) return query_id.status();
  auto reply = impl_->await_reply(*query_id, timeout, nullptr);
  if (!reply.ok() && reply.status().code() == make_error_code(local_errc::timeout)) {
    impl_->forget_pending(*query_id);
  }
  return reply;
}

Status ThinClient::send(const Request& request) { return impl_->send(request); }

Result<QueryId> ThinClient::begin_call(Request& request) { return impl_->begin_call(request, nullptr); }

Result<Response> ThinClient::await_reply(const QueryId& query_id, Duration timeout,
                                         const std::atomic<bool>* interrupt) {
  return impl_->await_reply(query_id, timeout, interrupt);
}

Status ThinClient::call_async(Request request, ReplyHandler on_reply) {
  if (!on_reply) return Status(local_errc::unexpected_message, "call_async needs a reply handler");
  return impl_->begin_call(request, std::move(on_reply)).status();
}

void ThinClient::forget_pending(const QueryId& query_id) { impl_->forget_pending(query_id); }
std::size_t ThinClient::forget_resending(const Hash256& handle) { return impl_->forget_resending(handle); }
std::uint64_t ThinClient::subscribe(EventHandler handler) { return impl_->subscribe(std::move(handler)); }
void ThinClient::unsubscribe(std::uint64_t id) { impl_->unsubscribe(id); }
void ThinClient::close() { impl_->shut_down(true); }
void ThinClient::disconnect() { impl_->shut_down(false); }
bool ThinClient::daemon_connected() const { return impl_->daemon_connected(); }
bool ThinClient::mixnet_connected() const { return impl_->mixnet_connected(); }
bool ThinClient::wait_until_connected(Duration timeout) const { return impl_->wait_until_connected(timeout); }
InstanceToken ThinClient::daemon_instance_token() const { return impl_->daemon_instance_token(); }
InstanceToken ThinClient::client_instance_token() const { return impl_->client_instance_token(); }
SphinxGeometry ThinClient::sphinx_geometry() const { return impl_->sphinx_geometry(); }
PigeonholeGeometry ThinClient::pigeonhole_geometry() const { return impl_->pigeonhole_geometry(); }
std::optional<Bytes> ThinClient::pki_document() const { return impl_->pki_document(); }
std::uint64_t ThinClient::ignored_frames() const { return impl_->ignored_frames(); }

}  // namespace kpthin
