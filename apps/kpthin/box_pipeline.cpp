#include "box_pipeline.hpp"

#include "box_check.hpp"
#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "kpthin/errors.hpp"

namespace kpthin::cli {
namespace {

template <class F>
auto run_async(F&& f) {
  return std::async(std::launch::async, [f = std::forward<F>(f)]() mutable {
    block_interrupts_in_this_thread();
    return f();
  });
}

bool is_tombstone(const Status& status) {
  return status.code() == make_error_code(replica_errc::tombstone);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

BoxWriter::BoxWriter(Session& session, const SecretBytes& write_cap, Bytes start_index,
                     ResendOptions options, std::size_t window)
    : session_(session),
      write_cap_(write_cap),
      next_index_(start_index),
      confirmed_(std::move(start_index)),
      options_(options),
      window_(window == 0 ? 1 : window) {
  options_.interrupt = &cancel_flag();
}

BoxWriter::~BoxWriter() {
  if (!in_flight_.empty()) {
    request_cancel();
    for (InFlight& f : in_flight_) f.result.wait();
  }
  if (check_) session_.client().unsubscribe(check_->subscription);
}

void BoxWriter::check_boxes(std::optional<Bytes> read_cap, bool strict) {
  if (!check_) {
    check_ = Check{};  // not emplace(): clang cannot default-construct a nested struct with member initializers there
    check_->subscription = session_.client().subscribe([this](const Event& event) {
      if (std::holds_alternative<DaemonReconnectedEvent>(event)) reconnected_ = true;
    });
  }
  check_->read_cap = std::move(read_cap);
  check_->strict = strict;
  checking_ = true;
}

void BoxWriter::recover(std::uint64_t boxes) {
  recovery_left_ = boxes;
  recovery_counting_ = false;
  if (boxes != 0) checking_ = true;
}

void BoxWriter::write_with_verdict(ByteView plaintext) {
  finish();  // the verdict is on the box after every box sent so far
  for (;;) {
    CheckedWrite result;
    try {
      result = write_checked(session_, write_cap_, check_->read_cap, plaintext, view(next_index_), what);
    } catch (...) {
      unsettled_ = true;  // the request may still land
      throw;
    }
    next_index_ = result.next_index;
    if (result.verdict == BoxVerdict::kHoldsOther) {
      if (check_->strict) {
        fail(ExitCode::kBoxAlreadyExists,
             what + ": box " + std::to_string(confirmed_count_ + 1) + " of this run already holds other data (the " +
                 "saved position was behind the channel); that message was not written and the position stays " +
                 "before the box; run without --box-exists-error to write after it");
      }
      // An earlier message whose confirmation was lost, or a tombstone: never ours to replace.
      if (passed_over_++ == 0) {
        note(what + ": the box at the saved position already holds other data (the position was behind the "
                    "channel); looking for the first free box after it, one round trip or more per box");
      }
      confirmed_ = next_index_;
      ++confirmed_boxes_;
      if (on_confirmed) on_confirmed(confirmed_, confirmed_count_);
      continue;
    }
    if (result.verdict == BoxVerdict::kHoldsThis) {
      ++already_stored_;  // the next box may hold the next message too: keep checking
    } else {
      recovery_counting_ = true;
    }
    if (recovery_counting_ && recovery_left_ != 0) --recovery_left_;
    if (result.verdict == BoxVerdict::kStored) checking_ = check_->strict || recovery_left_ != 0;
    confirmed_ = next_index_;
    ++confirmed_count_;
    ++confirmed_boxes_;
    if (on_confirmed) on_confirmed(confirmed_, confirmed_count_);
    return;
  }
}

void BoxWriter::write(ByteView plaintext) {
  throw_if_interrupted();
  if (check_ && reconnected_.exchange(false)) checking_ = true;
  if (checking_) {
    write_with_verdict(plaintext);
    return;
  }
  Result<EncryptedMessage> encrypted = session_.retrying([&] {
    return session_.pigeonhole().encrypt_write(plaintext, write_cap_, view(next_index_), session_.local_timeout());
  });
  if (!encrypted) {
    drain_after_failure();
    fail_status(encrypted.status(), what + ": encrypting box " + std::to_string(confirmed_count_ + in_flight_.size() + 1));
  }
  Bytes next = encrypted->next_message_box_index;
  write_encrypted(std::move(encrypted).value(), std::move(next));
}

void BoxWriter::write_encrypted(EncryptedMessage message, Bytes next_index) {
  throw_if_interrupted();
  Session* session = &session_;
  const SecretBytes* cap = &write_cap_;
  ResendOptions options = options_;
  Duration timeout = session_.wait_timeout();
  InFlight f;
  f.result = run_async([session, cap, options, timeout, message = std::move(message)] {
    return session->retrying(
        [&] { return session->pigeonhole().start_resending_write(message, *cap, options, timeout); });
  });
  next_index_ = next_index;
  f.next_index = std::move(next_index);
  in_flight_.push_back(std::move(f));
  collect(in_flight_.size() >= window_);
}

void BoxWriter::finish() {
  while (!in_flight_.empty()) collect(true);
}

void BoxWriter::collect(bool wait_for_front) {
  std::uint64_t before = confirmed_count_;
  while (!in_flight_.empty()) {
    InFlight& front = in_flight_.front();
    if (!wait_for_front &&
        front.result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      break;
    }
    wait_for_front = false;
    Result<ResendResult> result = front.result.get();
    if (!result) {
      unsettled_ = true;  // a failed (timed out, interrupted, cancelled) write may still land
      Status status = result.status();
      std::uint64_t box = confirmed_count_ + 1;
      in_flight_.pop_front();
      drain_after_failure();
      fail_status(status, what + ": box " + std::to_string(box) + " was not confirmed");
    }
    confirmed_ = std::move(front.next_index);
    ++confirmed_count_;
    ++confirmed_boxes_;
    in_flight_.pop_front();
  }
  if (confirmed_count_ != before && on_confirmed) on_confirmed(confirmed_, confirmed_count_);
}

void BoxWriter::drain_after_failure() {
  // Later boxes may still succeed, but the position must not pass the failed one.
  if (!in_flight_.empty()) unsettled_ = true;
  request_cancel();
  for (InFlight& f : in_flight_) f.result.wait();
  in_flight_.clear();
  if (on_confirmed) on_confirmed(confirmed_, confirmed_count_);
}

// ---------------------------------------------------------------------------------------------

BoxReader::BoxReader(Session& session, ByteView read_cap, Bytes start_index, ResendOptions options,
                     std::optional<std::uint64_t> limit, std::size_t window)
    : session_(session),
      read_cap_(read_cap.begin(), read_cap.end()),
      next_index_(std::move(start_index)),
      options_(options),
      remaining_(limit),
      window_(window == 0 ? 1 : window),
      allowed_(std::min<std::size_t>(window_, 2)) {
  options_.interrupt = &cancel_flag();
}

BoxReader::~BoxReader() { cancel_all(); }

void BoxReader::cancel_all() {
  if (in_flight_.empty()) return;
  request_cancel();
  for (InFlight& f : in_flight_) f.result.wait();
  in_flight_.clear();
}

void BoxReader::refill() {
  while (in_flight_.size() < allowed_ && (!remaining_ || *remaining_ > 0)) {
    if (cancel_flag().load()) return;  // what is in flight still completes (cancelled)
    // Preparing a read is slow on the real daemon: hand over what already arrived first (it may
    // be the end of the channel, which makes the reads after it pointless).
    if (next_ready()) return;
    Result<EncryptedMessage> encrypted = session_.retrying([&] {
      return session_.pigeonhole().encrypt_read(view(read_cap_), view(next_index_), session_.local_timeout());
    });
    if (!encrypted) {
      cancel_all();
      fail_status(encrypted.status(), "preparing a read");
    }
    InFlight f;
    f.box_index = next_index_;
    f.next_index = encrypted->next_message_box_index;
    Session* session = &session_;
    ResendOptions options = options_;
    // Unbounded here: --timeout bounds the wait for each box in next(), not the life of a read
    // issued early to read ahead.
    Duration timeout = kWaitForever;
    Bytes cap = read_cap_;
    Bytes box = f.box_index;
    f.result = run_async([session, options, timeout, cap = std::move(cap), box = std::move(box),
                          message = std::move(encrypted).value()] {
      return session->retrying([&] {
        return session->pigeonhole().start_resending_read(message, view(cap), view(box), options, timeout);
      });
    });
    next_index_ = f.next_index;
    in_flight_.push_back(std::move(f));
    if (remaining_) --*remaining_;
  }
}

bool BoxReader::front_arrives_within(Duration timeout) {
  // Capped so now() + timeout cannot overflow the clock; a year is "forever" for a read.
  const auto deadline = std::chrono::steady_clock::now() + std::min<Duration>(timeout, std::chrono::hours(24 * 365));
  // Ctrl-C completes the read (cancelled), so forever needs no check of its own.
  auto& front = in_flight_.front().result;
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    const auto slice = std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(100));
    if (front.wait_for(slice) == std::future_status::ready) return true;
    if (std::chrono::steady_clock::now() >= deadline) return timeout == kWaitForever;
    if (while_waiting) {
      try {
        while_waiting();
      } catch (...) {
        cancel_all();
        throw;
      }
    }
  }
}

bool BoxReader::next_ready() {
  return !in_flight_.empty() &&
         in_flight_.front().result.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

ReadOutcome BoxReader::next() {
  refill();
  throw_if_interrupted();
  if (in_flight_.empty()) fail(ExitCode::kOther, "internal error: read past the requested count");
  if (!front_arrives_within(session_.wait_timeout())) {
    cancel_all();
    throw_if_interrupted();
    fail(ExitCode::kTimeout, what + ": no box within the timeout; the reads were cancelled at the daemon");
  }
  InFlight front = std::move(in_flight_.front());
  in_flight_.pop_front();
  Result<ResendResult> result = front.result.get();
  ReadOutcome outcome;
  outcome.box_index = std::move(front.box_index);
  outcome.next_index = std::move(front.next_index);
  if (!result) {
    if (is_tombstone(result.status())) {
      outcome.kind = ReadOutcome::Kind::kTombstone;
      refill();
      return outcome;
    }
    cancel_all();
    fail_status(result.status(), what);
  }
  if (result->plaintext) outcome.plaintext = std::move(*result->plaintext);
  allowed_ = std::min(window_, allowed_ * 2);
  refill();
  return outcome;
}

}  // namespace kpthin::cli
