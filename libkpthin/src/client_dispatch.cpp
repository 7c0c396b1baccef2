// ThinClient::Impl, I/O thread: every frame after the handshake goes to the request waiting for
// its query_id or, as an event, to the subscribers.
#include <spdlog/spdlog.h>

#include "client_shared.hpp"
#include "kpthin/errors.hpp"

namespace kpthin {

namespace {

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

}  // namespace kpthin
