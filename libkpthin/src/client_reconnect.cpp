// ThinClient::Impl, I/O thread: losing the connection, redialling with backoff, and what a new
// connection owes the requests still in flight (spec §2.3, §2.6): replay to a daemon that forgot
// them; cancel and re-issue at a resumed daemon, which drops replies that complete while the
// client is away.
#include <spdlog/spdlog.h>

#include "client_shared.hpp"
#include "kpthin/errors.hpp"

namespace kpthin {

namespace {

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

int cancel_reply_code(const Response& response) {
  if (const auto* reply = std::get_if<CancelResendingEncryptedMessageReply>(&response)) return reply->error_code;
  if (const auto* reply = std::get_if<CancelResendingCopyCommandReply>(&response)) return reply->error_code;
  return -1;  // not a cancel reply at all
}

}  // namespace

using detail::encode_frame;
using detail::for_timer;
using detail::wipe_frames;

void ThinClient::Impl::close_socket() {
  if (!socket_) return;
  {
    std::lock_guard lock(mu_);
    direct_fd_ = -1;  // no caller writes to the descriptor from here on
  }
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
  if (closing) {
    stop_io();  // close() was flushing thin_close to this socket: nothing left to write
    return;
  }
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

}  // namespace kpthin
