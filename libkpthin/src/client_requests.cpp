// ThinClient::Impl, any thread: sending requests, registering them for their reply, waiting for
// it, and forgetting requests on cancel.
#include "client_shared.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/pigeonhole.hpp"

namespace kpthin {

namespace {

using Clock = std::chrono::steady_clock;

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

}  // namespace

using detail::encode_frame;
using detail::kForever;
using detail::kInterruptPoll;

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
  if (it == pending_.end()) {
    // close()/disconnect() between begin_call() and here has already dropped the request.
    if (closing_) return Status(local_errc::closed, "the client was closed");
    return Status(local_errc::not_found, "no pending request with this query_id");
  }
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

}  // namespace kpthin
