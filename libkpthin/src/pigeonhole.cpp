#include "kpthin/pigeonhole.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

#include "kpthin/errors.hpp"
#include "sodium_once.hpp"

namespace kpthin {

namespace {

using Clock = std::chrono::steady_clock;

// Cancels are local requests the daemon answers at once, unless its worker is stuck behind a
// full mixnet queue (spec §2.7); this bounds how long a timed-out call spends cancelling.
constexpr Duration kCancelTimeout = std::chrono::seconds(10);

template <class Reply>
const char* reply_key() {
  static const std::string key = response_key(Response(Reply{}));
  return key.c_str();
}

// Sends `request`, waits for a reply of type Reply and maps a non-zero error_code to thin_errc.
template <class Reply>
Result<Reply> typed_call(ThinClient& client, Request request, Duration timeout) {
  const std::string what = request_key(request);
  auto response = client.call(std::move(request), timeout);
  if (!response.ok()) return Status(response.status().code(), what + ": " + response.status().context());
  auto* reply = std::get_if<Reply>(&response.value());
  if (reply == nullptr) {
    return Status(local_errc::unexpected_message,
                  what + ": expected " + reply_key<Reply>() + ", got " + response_key(response.value()));
  }
  if (reply->error_code != 0) return Status(static_cast<thin_errc>(reply->error_code), what);
  return std::move(*reply);
}

template <class Reply>
Result<EncryptedMessage> to_encrypted_message(Result<Reply> reply) {
  if (!reply.ok()) return reply.status();
  if (!reply->envelope_hash) {
    return Status(local_errc::malformed_message, std::string(reply_key<Reply>()) + " has no envelope_hash");
  }
  EncryptedMessage message;
  message.message_ciphertext = std::move(reply->message_ciphertext);
  message.envelope_descriptor = std::move(reply->envelope_descriptor);
  message.envelope_hash = *reply->envelope_hash;
  message.next_message_box_index = std::move(reply->next_message_box_index);
  return message;
}

Duration remaining_until(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return kWaitForever;
  const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now());
  return std::max(left, Duration(0));
}

Clock::time_point deadline_after(Duration timeout) {
  if (timeout >= std::chrono::hours(24 * 365)) return Clock::time_point::max();
  return Clock::now() + timeout;
}

bool is_code(const Status& status, local_errc code) { return status.code() == make_error_code(code); }

// Runs a start-resending request until its terminal reply. When the caller's timeout passes or
// its interrupt flag is raised, the operation is cancelled at the daemon whenever the socket is
// up (spec §9.1: not gated on the mixnet flag), both replies are collected, and the request is
// dropped from replay. If the operation finished in the race with the cancel, its real result is
// returned instead of timeout/cancelled.
Result<Response> run_resending(ThinClient& client, Request request, const Hash256& handle, bool copy_command,
                               const ResendOptions& options, Duration timeout) {
  auto query_id = client.begin_call(request);
  if (!query_id.ok()) return query_id.status();
  auto reply = client.await_reply(*query_id, timeout, options.interrupt);
  if (reply.ok()) return reply;
  const bool interrupted = options.interrupt != nullptr && options.interrupt->load();
  const bool timed_out = is_code(reply.status(), local_errc::timeout);
  if (!timed_out && !interrupted) {
    client.forget_pending(*query_id);  // closed, or cancelled by forget_resending()
    return reply;
  }
  bool cancelled_at_daemon = false;
  if (client.daemon_connected()) {
    Request cancel = copy_command ? Request(CancelResendingCopyCommand{std::nullopt, handle})
                                  : Request(CancelResendingEncryptedMessage{std::nullopt, handle});
    auto cancel_reply = client.call(std::move(cancel), kCancelTimeout);
    cancelled_at_daemon = cancel_reply.ok();
    if (cancelled_at_daemon) {
      // The daemon queues the cancelled terminal reply before the cancel reply, so it is
      // already here if the daemon still had the operation.
      auto original = client.await_reply(*query_id, Duration(0), nullptr);
      if (original.ok()) {
        const auto code = std::visit(
            [](const auto& r) -> int {
              if constexpr (requires { r.error_code; }) {
                return r.error_code;
              } else {
                return -1;
              }
            },
            original.value());
        if (code != static_cast<int>(thin_errc::start_resending_cancelled)) return original;
      }
    } else {
      spdlog::warn("kpthin: could not cancel {} at the daemon: {}", request_key(request),
                   cancel_reply.status().message());
    }
  }
  client.forget_pending(*query_id);
  const std::string how = cancelled_at_daemon ? "cancelled at the daemon" : "dropped locally (daemon unreachable)";
  if (interrupted) return Status(local_errc::cancelled, std::string(request_key(request)) + " interrupted; " + how);
  return Status(local_errc::timeout, std::string(request_key(request)) + " timed out after " +
                                         std::to_string(timeout.count()) + " ms; " + how);
}

Result<ResendResult> to_resend_result(Result<Response> response) {
  if (!response.ok()) return response.status();
  auto* reply = std::get_if<StartResendingEncryptedMessageReply>(&response.value());
  if (reply == nullptr) {
    return Status(local_errc::unexpected_message,
                  std::string("expected start_resending_encrypted_message_reply, got ") +
                      response_key(response.value()));
  }
  if (reply->error_code != 0) {
    const bool has_courier_fields = reply->courier_identity_hash.has_value() || reply->courier_queue_id.has_value();
    return Status(start_resending_error(reply->error_code, has_courier_fields), "start_resending_encrypted_message");
  }
  ResendResult result;
  result.plaintext = std::move(reply->plaintext);
  result.courier_identity_hash = reply->courier_identity_hash;
  result.courier_queue_id = std::move(reply->courier_queue_id);
  return result;
}

Status copy_command_status(Result<Response> response) {
  if (!response.ok()) return response.status();
  auto* reply = std::get_if<StartResendingCopyCommandReply>(&response.value());
  if (reply == nullptr) {
    return Status(local_errc::unexpected_message, std::string("expected start_resending_copy_command_reply, got ") +
                                                      response_key(response.value()));
  }
  if (reply->error_code == 0) return Status();
  std::string context = "start_resending_copy_command";
  if (reply->error_code == static_cast<std::uint8_t>(thin_errc::copy_command_failed)) {
    context += reply->replica_error_code != 0
                   ? std::string(": replica error ") + replica_error_name(reply->replica_error_code)
                   : std::string(": no replica reply");
    if (reply->failed_envelope_index != 0) {
      context += " at copy-stream envelope " + std::to_string(reply->failed_envelope_index);
    }
  }
  return Status(static_cast<thin_errc>(reply->error_code), context);
}

CourierEnvelopes to_envelopes(std::optional<std::vector<Bytes>> envelopes, std::optional<Bytes> buffer,
                              std::vector<Bytes> next_indices) {
  CourierEnvelopes result;
  if (envelopes) result.envelopes = std::move(*envelopes);
  result.buffer = std::move(buffer);
  result.next_dest_indices = std::move(next_indices);
  return result;
}

}  // namespace

Hash256 write_cap_hash(const SecretBytes& write_cap) {
  detail::ensure_sodium();
  Hash256 digest;
  const ByteView cap = write_cap.reveal();
  crypto_generichash(digest.data(), digest.size(), cap.data(), cap.size(), nullptr, 0);
  return digest;
}

Result<Keypair> Pigeonhole::new_keypair(const SecretBytes& seed, Duration timeout) {
  if (seed.size() != kSeedSize) {
    return Status(thin_errc::invalid_request, "new_keypair: the seed must be exactly 32 bytes");
  }
  auto reply = typed_call<NewKeypairReply>(client_, NewKeypair{std::nullopt, seed}, timeout);
  if (!reply.ok()) return reply.status();
  return Keypair{std::move(reply->write_cap), std::move(reply->read_cap), std::move(reply->first_message_index)};
}

Result<EncryptedMessage> Pigeonhole::encrypt_write(ByteView plaintext, const SecretBytes& write_cap, ByteView index,
                                                   Duration timeout) {
  const auto limit = client_.pigeonhole_geometry().MaxPlaintextPayloadLength;
  if (limit != 0 && plaintext.size() > limit) {
    return Status(local_errc::too_large, "encrypt_write: " + std::to_string(plaintext.size()) +
                                             " bytes exceed the box limit of " + std::to_string(limit));
  }
  EncryptWrite request{std::nullopt, Bytes(plaintext.begin(), plaintext.end()), write_cap,
                       Bytes(index.begin(), index.end())};
  return to_encrypted_message(typed_call<EncryptWriteReply>(client_, std::move(request), timeout));
}

Result<EncryptedMessage> Pigeonhole::encrypt_tombstone(const SecretBytes& write_cap, ByteView index,
                                                       Duration timeout) {
  // An empty (not null) plaintext is the tombstone marker (spec §7.4).
  EncryptWrite request{std::nullopt, Bytes{}, write_cap, Bytes(index.begin(), index.end())};
  return to_encrypted_message(typed_call<EncryptWriteReply>(client_, std::move(request), timeout));
}

namespace {

// What a write and a read send alike: the encrypted envelope and the resend options.
StartResendingEncryptedMessage resend_request(const EncryptedMessage& message, const ResendOptions& options) {
  StartResendingEncryptedMessage request;
  request.envelope_descriptor = message.envelope_descriptor;
  request.message_ciphertext = message.message_ciphertext;
  request.envelope_hash = message.envelope_hash;
  request.no_retry_on_box_id_not_found = options.no_retry_on_box_id_not_found;
  request.no_idempotent_box_already_exists = options.no_idempotent_box_already_exists;
  return request;
}

}  // namespace

Result<EncryptedMessage> Pigeonhole::encrypt_read(ByteView read_cap, ByteView index, Duration timeout) {
  EncryptRead request{std::nullopt, Bytes(read_cap.begin(), read_cap.end()), Bytes(index.begin(), index.end())};
  return to_encrypted_message(typed_call<EncryptReadReply>(client_, std::move(request), timeout));
}

Result<ResendResult> Pigeonhole::start_resending_write(const EncryptedMessage& message, const SecretBytes& write_cap,
                                                       const ResendOptions& options, Duration timeout) {
  StartResendingEncryptedMessage request = resend_request(message, options);
  request.write_cap = write_cap;
  return to_resend_result(run_resending(client_, std::move(request), message.envelope_hash, false, options, timeout));
}

Result<ResendResult> Pigeonhole::start_resending_read(const EncryptedMessage& message, ByteView read_cap,
                                                      ByteView read_index, const ResendOptions& options,
                                                      Duration timeout) {
  StartResendingEncryptedMessage request = resend_request(message, options);
  request.read_cap = Bytes(read_cap.begin(), read_cap.end());
  // The index given to encrypt_read, not the next one: the daemon decrypts with it (spec §3.7).
  request.message_box_index = Bytes(read_index.begin(), read_index.end());
  return to_resend_result(run_resending(client_, std::move(request), message.envelope_hash, false, options, timeout));
}

Status Pigeonhole::cancel_resending(const Hash256& envelope_hash, Duration timeout) {
  if (!client_.daemon_connected()) {
    // Nothing can be sent; make sure the request is not replayed after the reconnect.
    client_.forget_resending(envelope_hash);
    return Status();
  }
  auto reply = typed_call<CancelResendingEncryptedMessageReply>(
      client_, CancelResendingEncryptedMessage{std::nullopt, envelope_hash}, timeout);
  client_.forget_resending(envelope_hash);
  return reply.status();
}

Status Pigeonhole::start_resending_copy_command(const SecretBytes& temp_write_cap,
                                                const std::optional<ServiceInfo>& courier,
                                                const ResendOptions& options, Duration timeout) {
  StartResendingCopyCommand request;
  request.write_cap = temp_write_cap;
  if (courier) {
    request.courier_identity_hash = courier->destination_hash;
    request.courier_queue_id = courier->queue_id;
  }
  return copy_command_status(
      run_resending(client_, std::move(request), write_cap_hash(temp_write_cap), true, options, timeout));
}

Status Pigeonhole::cancel_copy_command(const SecretBytes& temp_write_cap, Duration timeout) {
  const Hash256 handle = write_cap_hash(temp_write_cap);
  if (!client_.daemon_connected()) {
    client_.forget_resending(handle);
    return Status();
  }
  auto reply = typed_call<CancelResendingCopyCommandReply>(client_, CancelResendingCopyCommand{std::nullopt, handle},
                                                           timeout);
  client_.forget_resending(handle);
  return reply.status();
}

Result<Bytes> Pigeonhole::next_message_box_index(ByteView index, Duration timeout) {
  auto reply = typed_call<NextMessageBoxIndexReply>(
      client_, NextMessageBoxIndex{std::nullopt, Bytes(index.begin(), index.end())}, timeout);
  if (!reply.ok()) return reply.status();
  return std::move(reply->next_message_box_index);
}

Result<std::uint64_t> Pigeonhole::message_box_index_counter(ByteView index, Duration timeout) {
  auto reply = typed_call<GetMessageBoxIndexCounterReply>(
      client_, GetMessageBoxIndexCounter{std::nullopt, Bytes(index.begin(), index.end())}, timeout);
  if (!reply.ok()) return reply.status();
  return reply->counter;
}

Result<CourierEnvelopes> Pigeonhole::courier_envelopes_from_payload(ByteView payload, const SecretBytes& dest_write_cap,
                                                                    ByteView dest_start_index, bool is_start,
                                                                    bool is_last, Duration timeout) {
  CreateCourierEnvelopesFromPayload request{std::nullopt,
                                            Bytes(payload.begin(), payload.end()),
                                            dest_write_cap,
                                            Bytes(dest_start_index.begin(), dest_start_index.end()),
                                            is_start,
                                            is_last};
  auto reply = typed_call<CreateCourierEnvelopesFromPayloadReply>(client_, std::move(request), timeout);
  if (!reply.ok()) return reply.status();
  // This variant always flushes, so there is never a buffer to carry on (spec §3.15).
  return to_envelopes(std::move(reply->envelopes), std::nullopt, {std::move(reply->next_dest_index)});
}

Result<CourierEnvelopes> Pigeonhole::courier_envelopes_from_multi_payload(
    const std::vector<CourierDestination>& destinations, bool is_start, bool is_last,
    const std::optional<Bytes>& buffer, Duration timeout) {
  CreateCourierEnvelopesFromMultiPayload request{std::nullopt, destinations, is_start, is_last, buffer};
  auto reply = typed_call<CreateCourierEnvelopesFromMultiPayloadReply>(client_, std::move(request), timeout);
  if (!reply.ok()) return reply.status();
  return to_envelopes(std::move(reply->envelopes), std::move(reply->buffer),
                      reply->next_dest_indices.value_or(std::vector<Bytes>{}));
}

Result<CourierEnvelopes> Pigeonhole::courier_envelopes_from_tombstone_range(
    const SecretBytes& dest_write_cap, ByteView dest_start_index, std::uint32_t count, bool is_start, bool is_last,
    const std::optional<Bytes>& buffer, Duration timeout) {
  CreateCourierEnvelopesFromTombstoneRange request{std::nullopt,
                                                   dest_write_cap,
                                                   Bytes(dest_start_index.begin(), dest_start_index.end()),
                                                   count,
                                                   is_start,
                                                   is_last,
                                                   buffer};
  auto reply = typed_call<CreateCourierEnvelopesFromTombstoneRangeReply>(client_, std::move(request), timeout);
  if (!reply.ok()) return reply.status();
  return to_envelopes(std::move(reply->envelopes), std::move(reply->buffer), {std::move(reply->next_dest_index)});
}

Result<Pigeonhole::TombstoneRange> Pigeonhole::tombstone_range(const SecretBytes& write_cap, ByteView start_index,
                                                               std::uint32_t count, Duration timeout) {
  const auto deadline = deadline_after(timeout);
  TombstoneRange range;
  range.next_index.assign(start_index.begin(), start_index.end());
  range.envelopes.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    auto message = encrypt_tombstone(write_cap, range.next_index, remaining_until(deadline));
    if (!message.ok()) {
      return Status(message.status().code(),
                    "tombstone " + std::to_string(i + 1) + " of " + std::to_string(count) + ": " +
                        message.status().context());
    }
    Bytes box = range.next_index;
    range.next_index = message->next_message_box_index;
    range.envelopes.emplace_back(std::move(box), std::move(message).value());
  }
  return range;
}

Result<GetPkiDocumentReply> Pigeonhole::get_pki_document(std::uint64_t epoch, Duration timeout) {
  return typed_call<GetPkiDocumentReply>(client_, GetPkiDocument{std::nullopt, epoch}, timeout);
}

Result<std::vector<DirectoryAuthority>> Pigeonhole::get_directory_authorities(Duration timeout) {
  auto reply = typed_call<GetDirectoryAuthoritiesReply>(client_, GetDirectoryAuthorities{std::nullopt}, timeout);
  if (!reply.ok()) return reply.status();
  return reply->authorities.value_or(std::vector<DirectoryAuthority>{});
}

namespace {

Result<SendMessage> legacy_message(ThinClient& client, const ServiceInfo& destination, ByteView payload) {
  // The reference clients refuse to send while the daemon is offline from the mixnet (§3.3).
  if (!client.mixnet_connected()) {
    return Status(local_errc::disconnected, "send_message: kpclientd is not connected to the mixnet");
  }
  const auto limit = client.sphinx_geometry().UserForwardPayloadLength;
  if (limit != 0 && payload.size() > limit) {
    return Status(local_errc::too_large, "send_message: " + std::to_string(payload.size()) +
                                             " bytes exceed the packet payload limit of " + std::to_string(limit));
  }
  SendMessage message;
  message.destination_id_hash = destination.destination_hash;
  message.recipient_queue_id = destination.queue_id;
  message.payload.assign(payload.begin(), payload.end());
  return message;
}

}  // namespace

Status Pigeonhole::send_message(const ServiceInfo& destination, ByteView payload) {
  auto message = legacy_message(client_, destination, payload);
  if (!message.ok()) return message.status();
  return client_.send(std::move(message).value());
}

Result<Bytes> Pigeonhole::send_with_reply(const ServiceInfo& destination, ByteView payload, Duration timeout) {
  auto message = legacy_message(client_, destination, payload);
  if (!message.ok()) return message.status();
  const MessageId surbid = random_query_id();
  message->with_surb = true;
  message->surbid = surbid;

  struct Waiter {
    std::mutex mu;
    std::condition_variable done;
    std::optional<Result<Bytes>> outcome;
  };
  auto waiter = std::make_shared<Waiter>();
  auto finish = [waiter](Result<Bytes> outcome) {
    std::lock_guard lock(waiter->mu);
    if (!waiter->outcome) waiter->outcome.emplace(std::move(outcome));
    waiter->done.notify_all();
  };
  // Subscribe before sending so a fast reply cannot be missed.
  const auto subscription = client_.subscribe([surbid, finish](const Event& event) {
    if (const auto* reply = std::get_if<MessageReplyEvent>(&event); reply && reply->surbid == surbid) {
      finish(reply->payload);
    } else if (const auto* sent = std::get_if<MessageSentEvent>(&event);
               sent && sent->surbid == surbid && sent->err && !sent->err->empty()) {
      finish(Status(local_errc::io_error, "send_message: kpclientd could not send: " + *sent->err));
    } else if (const auto* status = std::get_if<ConnectionStatusEvent>(&event); status && !status->is_connected) {
      finish(Status(local_errc::disconnected, "send_message: kpclientd lost its mixnet connection"));
    }
  });
  if (auto sent = client_.send(std::move(message).value()); !sent.ok()) {
    client_.unsubscribe(subscription);
    return sent;
  }
  std::unique_lock lock(waiter->mu);
  const auto deadline = deadline_after(timeout);
  if (deadline == Clock::time_point::max()) {
    waiter->done.wait(lock, [&] { return waiter->outcome.has_value(); });
  } else {
    waiter->done.wait_until(lock, deadline, [&] { return waiter->outcome.has_value(); });
  }
  std::optional<Result<Bytes>> outcome = std::move(waiter->outcome);
  lock.unlock();
  client_.unsubscribe(subscription);
  if (!outcome) {
    return Status(local_errc::timeout, "send_message: no SURB reply within " + std::to_string(timeout.count()) + " ms");
  }
  return std::move(*outcome);
}

}  // namespace kpthin
