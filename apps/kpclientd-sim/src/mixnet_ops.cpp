// The simulated mixnet operations (spec §3.3, §3.7-§3.10, §7.3, §7.5): start-resending reads
// and writes, copy commands and legacy sends become PendingOps that complete after the
// configured latency, wait for boxes that do not exist yet, pause while their session is
// disconnected or the mixnet is offline, and can be cancelled.
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "envelope.hpp"
#include "kpthin/errors.hpp"
#include "simulator_internal.hpp"

namespace kpsim {

namespace asio = boost::asio;
using namespace kpthin;

namespace {

constexpr Millis kPausedRetry{100};  // kpclientd re-arms paused resends every 100 ms

StartResendingEncryptedMessageReply resend_reply(const std::optional<QueryId>& query_id, std::uint8_t code,
                                                 const SimService* courier) {
  StartResendingEncryptedMessageReply reply;
  reply.query_id = query_id;
  reply.error_code = code;
  if (courier) {
    reply.courier_identity_hash = courier->destination_hash;
    reply.courier_queue_id = Bytes(courier->endpoint.begin(), courier->endpoint.end());
  }
  return reply;
}

StartResendingCopyCommandReply copy_reply(const std::optional<QueryId>& query_id, std::uint8_t code,
                                          std::uint8_t replica_code = 0, std::uint64_t failed_index = 0) {
  StartResendingCopyCommandReply reply;
  reply.query_id = query_id;
  reply.error_code = code;
  reply.replica_error_code = replica_code;
  reply.failed_envelope_index = failed_index;
  return reply;
}

constexpr std::uint8_t kCode(thin_errc e) { return static_cast<std::uint8_t>(e); }
constexpr std::uint8_t kCode(replica_errc e) { return static_cast<std::uint8_t>(e); }

}  // namespace

Millis Simulator::sample_latency() const {
  if (options_.jitter.count() <= 0) return options_.latency;
  const auto extra = randombytes_uniform(static_cast<std::uint32_t>(options_.jitter.count()) + 1);
  return options_.latency + Millis(extra);
}

std::uint64_t Simulator::admit(PendingOp op) {
  const std::uint64_t id = next_op_id_++;
  op.timer = std::make_unique<asio::steady_timer>(io_);
  if (op.has_handle) ops_by_handle_[op.handle] = id;  // a second op with the same handle wins (spec §3.7)
  ops_[id] = std::make_unique<PendingOp>(std::move(op));
  if (options_.pacing.count() > 0) {
    // kpclientd releases mixnet requests one per tick, even their validation errors (§2.7).
    paced_.push_back(id);
    tick_pacing();
  } else if (waits_for_mixnet(*ops_[id])) {
    paced_.push_back(id);  // released by release_queued() when the mixnet is back
  } else {
    release(id);
  }
  return id;
}

// kpclientd's sender ticks only while it has a gateway connection (client/listener.go
// doUpdateConnectionStatus -> sender.UpdateConnectionStatus; common/exponential.go), so an
// offline daemon leaves requests in the connection's queue. Legacy sends keep the simulator's
// immediate "not connected" message_sent_event (documented in kpclientd-sim(1)).
bool Simulator::waits_for_mixnet(const PendingOp& op) const {
  return options_.offline && op.kind != PendingOp::Kind::kSend;
}

void Simulator::release_queued() {
  if (options_.pacing.count() > 0) {
    tick_pacing();
    return;
  }
  std::deque<std::uint64_t> queued;
  queued.swap(paced_);
  for (auto id : queued)
    if (ops_.count(id)) release(id);
}

void Simulator::drop_unsent(std::uint64_t conn_id) {
  std::vector<std::uint64_t> doomed;
  for (const auto& [id, op] : ops_)
    if (op->conn_id == conn_id && !op->started) doomed.push_back(id);
  for (auto id : doomed) erase_op(id);
  if (doomed.empty()) return;
  unsent_lost_ += doomed.size();
  spdlog::info("connection {} closed with {} request(s) not yet sent; they are lost, as in kpclientd",
               conn_id, doomed.size());
}

void Simulator::tick_pacing() {
  if (pacing_armed_ || paced_.empty() || stopping_) return;
  pacing_armed_ = true;
  pacing_timer_.expires_after(options_.pacing);
  pacing_timer_.async_wait([this](const boost::system::error_code& ec) {
    pacing_armed_ = false;
    if (ec) return;
    while (!paced_.empty()) {
      const std::uint64_t id = paced_.front();
      const auto it = ops_.find(id);
      if (it == ops_.end()) {
        paced_.pop_front();
        continue;
      }
      if (waits_for_mixnet(*it->second)) break;  // no tick reaches the mixnet while offline
      paced_.pop_front();
      release(id);
      break;
    }
    tick_pacing();
  });
}

void Simulator::release(std::uint64_t id) {
  PendingOp& op = *ops_.at(id);
  op.started = true;
  if (op.kind == PendingOp::Kind::kWrite || op.kind == PendingOp::Kind::kRead) {
    // Validation (client/pigeonhole.go:1167-1184): exactly one cap, descriptor, ciphertext, hash.
    const auto& r = op.resend;
    if (r.read_cap.has_value() == r.write_cap.has_value() || r.envelope_descriptor.empty() ||
        r.message_ciphertext.empty() || !r.envelope_hash) {
      finish(id, resend_reply(r.query_id, kCode(thin_errc::invalid_request), nullptr));
      return;
    }
    if (options_.no_pki) {
      finish(id, resend_reply(r.query_id, kCode(thin_errc::internal_error), nullptr));
      return;
    }
    op.courier = &network_.pick_courier();
  } else if (op.kind == PendingOp::Kind::kCopy) {
    if (op.copy.write_cap.empty()) {
      finish(id, copy_reply(op.copy.query_id, kCode(thin_errc::invalid_request)));
      return;
    }
    if (options_.no_pki) {
      finish(id, copy_reply(op.copy.query_id, kCode(thin_errc::internal_error)));
      return;
    }
    if (op.copy.courier_identity_hash && op.copy.courier_queue_id && !op.copy.courier_queue_id->empty()) {
      op.courier = network_.find_service(*op.copy.courier_identity_hash, *op.copy.courier_queue_id);
      if (!op.courier) {
        finish(id, copy_reply(op.copy.query_id, kCode(thin_errc::internal_error)));
        return;
      }
    } else {
      op.courier = &network_.pick_courier();
    }
  } else {
    // Legacy send: message_sent_event once the packet is "handed to the gateway" (§3.3).
    SendMessage& m = op.message;
    std::string error;
    const SimService* service = nullptr;
    if (options_.offline) error = "not connected to the mixnet";
    else if (!m.destination_id_hash) error = "missing destination_id_hash";
    else if (m.recipient_queue_id.empty() || m.recipient_queue_id.size() > 32) error = "invalid recipient_queue_id length";
    else if (m.payload.size() > SimNetwork::sphinx_geometry().UserForwardPayloadLength) error = "payload exceeds UserForwardPayloadLength";
    else {
      for (const auto& s : network_.services())
        if (s.destination_hash == *m.destination_id_hash) service = &s;
      if (!service) error = "destination not in the PKI document";
    }
    if (!m.with_surb || !m.surbid) {
      erase_op(id);  // fire and forget: no event at all, not even on error
      return;
    }
    MessageSentEvent sent;
    sent.message_id = m.id;
    sent.surbid = *m.surbid;
    sent.sent_at = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    sent.reply_eta = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(options_.latency).count());
    if (!error.empty()) sent.err = error;
    deliver(op.app, sent);
    // Only an echo service answers; anything else swallows the message (no reply event exists).
    if (!error.empty() || !network_.find_service(*m.destination_id_hash, m.recipient_queue_id) ||
        network_.find_service(*m.destination_id_hash, m.recipient_queue_id)->capability != "echo") {
      erase_op(id);
      return;
    }
  }
  schedule_attempt(id, sample_latency());
}

void Simulator::schedule_attempt(std::uint64_t id, Millis delay) {
  PendingOp& op = *ops_.at(id);
  op.timer->expires_after(delay);
  op.timer->async_wait([this, id](const boost::system::error_code& ec) {
    if (ec || !ops_.count(id)) return;
    attempt(id);
  });
}

void Simulator::attempt(std::uint64_t id) {
  PendingOp& op = *ops_.at(id);
  const auto session = sessions_.find(op.app);
  if (session == sessions_.end()) {
    erase_op(id);
    return;
  }
  // Nothing reaches the mixnet while it is down: the ARQ keeps retrying (§7.7). A round trip
  // already under way when the client disconnects still completes; deliver() holds its reply.
  if (options_.offline) {
    schedule_attempt(id, kPausedRetry);
    return;
  }
  switch (op.kind) {
    case PendingOp::Kind::kWrite: attempt_write(id, op); break;
    case PendingOp::Kind::kRead: attempt_read(id, op); break;
    case PendingOp::Kind::kCopy: attempt_copy(id, op); break;
    case PendingOp::Kind::kSend: attempt_send(id, op); break;
  }
}

void Simulator::attempt_write(std::uint64_t id, PendingOp& op) {
  const auto& r = op.resend;
  const auto envelope = parse_envelope(r.message_ciphertext);
  if (!envelope || envelope->kind == EnvelopeKind::kRead) {
    finish(id, resend_reply(r.query_id, kCode(thin_errc::courier_invalid_envelope), op.courier));
    return;
  }
  StoredBox box{envelope->kind == EnvelopeKind::kTombstone, envelope->sealed};
  const WriteOutcome outcome = store_.put(envelope->box, std::move(box));
  if (outcome == WriteOutcome::kStored) box_written(envelope->box);
  // A default write succeeds on the courier's ACK; only the flagged variant hears the replica.
  const bool exists = outcome == WriteOutcome::kAlreadyExists;
  const std::uint8_t code = exists && r.no_idempotent_box_already_exists ? kCode(replica_errc::box_already_exists) : 0;
  finish(id, resend_reply(r.query_id, code, op.courier));
  if (writes_until_offline_ > 0 && --writes_until_offline_ == 0) set_offline(true);
}

void Simulator::attempt_read(std::uint64_t id, PendingOp& op) {
  const auto& r = op.resend;
  const auto envelope = parse_envelope(r.message_ciphertext);
  if (!envelope || envelope->kind != EnvelopeKind::kRead) {
    finish(id, resend_reply(r.query_id, kCode(thin_errc::courier_invalid_envelope), op.courier));
    return;
  }
  // The reply is decrypted with the descriptor's key: a foreign descriptor fails like MKEM does.
  const auto tag = descriptor_sender_tag(r.envelope_descriptor.reveal());
  if (!tag) {
    finish(id, resend_reply(r.query_id, kCode(thin_errc::internal_error), op.courier));
    return;
  }
  if (*tag != envelope->sender_tag) {
    finish(id, resend_reply(r.query_id, kCode(thin_errc::mkem_decryption_failed), op.courier));
    return;
  }
  const auto index = r.message_box_index ? BoxIndex::parse(*r.message_box_index) : std::nullopt;
  if (!index) {
    finish(id, resend_reply(r.query_id, kCode(thin_errc::internal_error), op.courier));
    return;
  }
  const auto public_key = read_cap_public_key(*r.read_cap);
  if (!public_key || box_id(*public_key, *index) != envelope->box) {
    // The daemon BACAP-decrypts with (read_cap, index); another index or channel fails (§3.7).
    finish(id, resend_reply(r.query_id, kCode(thin_errc::bacap_decryption_failed), op.courier));
    return;
  }
  const StoredBox* stored = store_.find(envelope->box);
  if (!stored) {
    if (r.no_retry_on_box_id_not_found) {
      finish(id, resend_reply(r.query_id, kCode(replica_errc::box_id_not_found), op.courier));
    } else {
      wait_for_box(id, op, envelope->box);  // kpclientd retries forever (§7.3)
    }
    return;
  }
  if (stored->tombstone) {
    finish(id, resend_reply(r.query_id, kCode(replica_errc::tombstone), op.courier));
    return;
  }
  auto reply = resend_reply(r.query_id, 0, op.courier);
  reply.plaintext = open_payload(stored->sealed, *index, envelope->box);
  finish(id, std::move(reply));
}

void Simulator::attempt_copy(std::uint64_t id, PendingOp& op) {
  const auto& r = op.copy;
  if (store_.copy_applied(op.handle)) {
    // A replay of a copy the courier already performed (e.g. after a daemon restart).
    finish(id, copy_reply(r.query_id, 0));
    return;
  }
  const ByteView cap = r.write_cap.reveal();
  const auto public_key = write_cap_public_key(cap);
  auto index = write_cap_first_index(cap);
  if (!public_key || !index) {
    finish(id, copy_reply(r.query_id, kCode(thin_errc::invalid_request)));
    return;
  }
  // The courier reads the temporary stream from its first box until a Final element.
  CopyStreamDecoder decoder;
  std::vector<BoxId> stream_boxes;
  while (!decoder.finished()) {
    const BoxId box = box_id(*public_key, *index);
    const StoredBox* stored = store_.find(box);
    if (!stored) {
      wait_for_box(id, op, box);  // InProgress: the stream is not fully written yet
      return;
    }
    if (stored->tombstone || !decoder.add_element(open_payload(stored->sealed, *index, box))) {
      finish(id, copy_reply(r.query_id, kCode(thin_errc::copy_command_failed), kCode(replica_errc::invalid_payload), 0));
      return;
    }
    stream_boxes.push_back(box);
    *index = index->next();
  }
  const auto records = decoder.records();
  if (!records) {
    finish(id, copy_reply(r.query_id, kCode(thin_errc::copy_command_failed), kCode(replica_errc::invalid_payload), 0));
    return;
  }
  // Check every destination write before applying any: all boxes or none.
  std::vector<std::pair<BoxId, StoredBox>> writes;
  std::map<BoxId, std::size_t> planned;  // box -> position in `writes`
  for (std::size_t k = 0; k < records->size(); ++k) {
    const auto envelope = parse_envelope((*records)[k]);
    if (!envelope || envelope->kind == EnvelopeKind::kRead) {
      finish(id, copy_reply(r.query_id, kCode(thin_errc::copy_command_failed), kCode(replica_errc::invalid_payload), k + 1));
      return;
    }
    StoredBox box{envelope->kind == EnvelopeKind::kTombstone, envelope->sealed};
    const auto earlier = planned.find(envelope->box);
    const bool conflict =
        earlier != planned.end()
            ? !box.tombstone && (writes[earlier->second].second.tombstone != box.tombstone ||
                                 writes[earlier->second].second.sealed != box.sealed)
            : store_.check(envelope->box, box) == WriteOutcome::kAlreadyExists;
    if (conflict) {
      spdlog::info("copy command failed: envelope {} targets a box holding other content", k + 1);
      finish(id, copy_reply(r.query_id, kCode(thin_errc::copy_command_failed), kCode(replica_errc::box_already_exists), k + 1));
      return;
    }
    planned[envelope->box] = writes.size();
    writes.emplace_back(envelope->box, std::move(box));
  }
  // The courier tombstones the temporary stream once it has been copied (§7.5). The writes, the
  // tombstones and the courier's note that the copy is done are stored as one unit.
  const std::size_t destinations = writes.size();
  for (const auto& box : stream_boxes) writes.emplace_back(box, StoredBox{true, {}});
  const auto outcomes = store_.put_all(writes, &op.handle);
  for (std::size_t k = 0; k < destinations; ++k)
    if (outcomes[k] == WriteOutcome::kStored) box_written(writes[k].first);
  ++copies_applied_;
  spdlog::debug("copy command applied {} destination write(s)", destinations);
  finish(id, copy_reply(r.query_id, 0));
}

void Simulator::attempt_send(std::uint64_t id, PendingOp& op) {
  // The echo service returns the payload; the SURB reply is the full fixed-size payload.
  MessageReplyEvent reply;
  reply.message_id = op.message.id;
  reply.surbid = *op.message.surbid;
  reply.payload = op.message.payload;
  reply.payload.resize(SimNetwork::sphinx_geometry().UserForwardPayloadLength, 0);
  finish(id, std::move(reply));
}

void Simulator::wait_for_box(std::uint64_t id, PendingOp& op, const BoxId& box) {
  op.waiting_for = box;
  waiters_.emplace(box, id);
}

void Simulator::box_written(const BoxId& box) {
  const auto [first, last] = waiters_.equal_range(box);
  std::vector<std::uint64_t> woken;
  for (auto it = first; it != last; ++it) woken.push_back(it->second);
  waiters_.erase(first, last);
  for (auto id : woken) {
    const auto it = ops_.find(id);
    if (it == ops_.end()) continue;
    it->second->waiting_for.reset();
    schedule_attempt(id, sample_latency());  // the next ARQ round finds the box
  }
}

void Simulator::finish(std::uint64_t id, Response reply) {
  const AppId app = ops_.at(id)->app;
  erase_op(id);
  deliver(app, std::move(reply));
}

void Simulator::erase_op(std::uint64_t id) {
  const auto it = ops_.find(id);
  if (it == ops_.end()) return;
  PendingOp& op = *it->second;
  if (op.timer) op.timer->cancel();
  if (op.waiting_for) {
    const auto [first, last] = waiters_.equal_range(*op.waiting_for);
    for (auto w = first; w != last; ++w)
      if (w->second == id) {
        waiters_.erase(w);
        break;
      }
  }
  if (op.has_handle) {
    const auto h = ops_by_handle_.find(op.handle);
    if (h != ops_by_handle_.end() && h->second == id) ops_by_handle_.erase(h);
  }
  ops_.erase(it);
}

bool Simulator::cancel_op(Connection& conn, const Hash256& handle, bool copy) {
  const auto h = ops_by_handle_.find(handle);
  if (h == ops_by_handle_.end()) return false;
  const std::uint64_t id = h->second;
  PendingOp& op = *ops_.at(id);
  if ((op.kind == PendingOp::Kind::kCopy) != copy) return false;
  // Frame 1 of 2: the cancelled original, sent to the cancelling connection (spec §3.8).
  if (copy) send(conn, copy_reply(op.copy.query_id, kCode(thin_errc::start_resending_cancelled)));
  else send(conn, resend_reply(op.resend.query_id, kCode(thin_errc::start_resending_cancelled), op.courier));
  erase_op(id);
  return true;
}

void Simulator::handle(Connection& conn, StartResendingEncryptedMessage& r) {
  if ((r.read_cap && r.read_cap->size() != kReadCapSize) || (r.write_cap && r.write_cap->size() != kWriteCapSize)) {
    conn.close("undecodable frame: start_resending_encrypted_message carries a cap of the wrong size");
    return;
  }
  PendingOp op;
  op.kind = r.read_cap ? PendingOp::Kind::kRead : PendingOp::Kind::kWrite;
  op.app = conn.app_id;
  op.conn_id = conn.id();
  op.query_id = r.query_id;
  if (r.envelope_hash) {
    op.handle = *r.envelope_hash;
    op.has_handle = true;
  }
  op.resend = std::move(r);
  admit(std::move(op));
}

void Simulator::handle(Connection& conn, CancelResendingEncryptedMessage& r) {
  ++cancels_;
  CancelResendingEncryptedMessageReply reply;
  reply.query_id = r.query_id;
  if (!r.envelope_hash) {
    reply.error_code = kCode(thin_errc::invalid_request);
  } else if (cancel_op(conn, *r.envelope_hash, false)) {
    ++cancels_matched_;
    spdlog::info("cancel received for envelope {}: operation cancelled", to_hex(view(*r.envelope_hash)).substr(0, 16));
  } else {
    spdlog::info("cancel received for envelope {}: nothing in flight", to_hex(view(*r.envelope_hash)).substr(0, 16));
  }
  send(conn, reply);
}

void Simulator::handle(Connection& conn, StartResendingCopyCommand& r) {
  if (!r.write_cap.empty() && r.write_cap.size() != kWriteCapSize) {
    conn.close("undecodable frame: start_resending_copy_command write_cap of the wrong size");
    return;
  }
  PendingOp op;
  op.kind = PendingOp::Kind::kCopy;
  op.app = conn.app_id;
  op.conn_id = conn.id();
  op.query_id = r.query_id;
  if (!r.write_cap.empty()) {
    op.handle = hash256(r.write_cap.reveal());  // write_cap_hash (spec §6)
    op.has_handle = true;
  }
  op.copy = std::move(r);
  admit(std::move(op));
}

void Simulator::handle(Connection& conn, CancelResendingCopyCommand& r) {
  ++cancels_;
  CancelResendingCopyCommandReply reply;
  reply.query_id = r.query_id;
  if (!r.write_cap_hash) {
    reply.error_code = kCode(thin_errc::invalid_request);
  } else if (cancel_op(conn, *r.write_cap_hash, true)) {
    ++cancels_matched_;
    spdlog::info("cancel received for copy command: operation cancelled");
  } else {
    spdlog::info("cancel received for copy command: nothing in flight");
  }
  send(conn, reply);
}

void Simulator::handle(Connection& conn, SendMessage& r) {
  PendingOp op;
  op.kind = PendingOp::Kind::kSend;
  op.app = conn.app_id;
  op.conn_id = conn.id();
  op.message = std::move(r);
  admit(std::move(op));
}

}  // namespace kpsim
