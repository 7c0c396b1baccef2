// Pipelines of box operations: several start-resending requests in flight on one connection
// (the daemon handles them independently), completed strictly in order, so positions can be
// advanced only past boxes that are confirmed (writes) or delivered (reads).
//
// On the first failure every other in-flight operation is cancelled at the daemon, the
// confirmations before the failure are still reported, and the failure is thrown as CliError.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <optional>

#include "kpthin/pigeonhole.hpp"
#include "session.hpp"

namespace kpthin::cli {

inline constexpr std::size_t kDefaultWindow = 32;

class BoxWriter {
 public:
  // Writes consecutive boxes of the channel `write_cap`, starting at `start_index`.
  BoxWriter(Session& session, const SecretBytes& write_cap, Bytes start_index, ResendOptions options,
            std::size_t window = kDefaultWindow);
  ~BoxWriter();  // cancels and drains whatever is still in flight

  // Encrypts `plaintext` for the next box and sends it; blocks while the window is full.
  void write(ByteView plaintext);
  // Sends an already encrypted box (e.g. a tombstone) whose successor index is `next_index`.
  void write_encrypted(EncryptedMessage message, Bytes next_index);
  // Waits until every box is confirmed.
  void finish();

  // Makes write() confirm the first box, and the first after a reconnect, with the replica's
  // verdict (box_check.hpp): an occupied box holding this message counts as written; one holding
  // anything else is passed over (the position saved past it) and the message goes into the next
  // box, checked again. Once a free box is confirmed, writes go fast (pipelined, default write).
  // `read_cap` (absent in older channel files) tells this message from another. With `strict`
  // (--box-exists-error) every box is checked and one holding other data fails with exit 8
  // instead of being passed over.
  void check_boxes(std::optional<Bytes> read_cap, bool strict);
  // Recovery after a run that died with boxes on their way (write_marker.hpp): after
  // check_boxes(), write() keeps checking every box until `boxes` boxes are stored (or found
  // holding this message) counting from the first free box, since a request of the dead run may
  // land in any of them after a check of the first one. Costs one round trip per box.
  void recover(std::uint64_t boxes);
  // True once the boxes recover() asked for are checked (or recover() was never called).
  bool recovered() const { return recovery_left_ == 0; }
  // True if no box this writer sent can still land unseen: none is in flight and no request
  // ended in a failure whose box is unknown (a timeout, an interrupt, a lost connection).
  bool settled() const { return in_flight_.empty() && !unsettled_; }

  // The index after the last confirmed box (what to save).
  const Bytes& confirmed_index() const { return confirmed_; }
  std::uint64_t confirmed_count() const { return confirmed_count_; }
  // Boxes from the start index to confirmed_index(): the confirmed ones and those passed over.
  std::uint64_t confirmed_boxes() const { return confirmed_boxes_; }
  // Of the confirmed boxes, how many already held their message (not written again).
  std::uint64_t already_stored_count() const { return already_stored_; }
  // Boxes passed over because they held other data.
  std::uint64_t passed_over_count() const { return passed_over_; }

  // Called on the caller's thread after one or more boxes were confirmed (save here).
  std::function<void(const Bytes& confirmed_index, std::uint64_t confirmed_count)> on_confirmed;
  // What the failure message says is being done ("writing box 12 of x.write").
  std::string what = "writing";

 private:
  struct InFlight {
    std::future<Result<ResendResult>> result;
    Bytes next_index;
  };
  void collect(bool wait_for_front);
  void drain_after_failure();
  void write_with_verdict(ByteView plaintext);

  struct Check {
    std::optional<Bytes> read_cap;
    bool strict = false;
    std::uint64_t subscription = 0;
  };

  Session& session_;
  const SecretBytes& write_cap_;
  Bytes next_index_;
  Bytes confirmed_;
  std::uint64_t confirmed_count_ = 0;
  std::uint64_t confirmed_boxes_ = 0;
  ResendOptions options_;
  std::size_t window_;
  std::deque<InFlight> in_flight_;
  std::optional<Check> check_;
  bool checking_ = false;
  // Set on the I/O thread when the connection came back: the next write is checked again.
  std::atomic<bool> reconnected_{false};
  std::uint64_t already_stored_ = 0;
  std::uint64_t passed_over_ = 0;
  std::uint64_t recovery_left_ = 0;
  bool recovery_counting_ = false;  // a free box was found: recovery counts from here
  bool unsettled_ = false;
};

// What one read produced.
struct ReadOutcome {
  enum class Kind { kMessage, kTombstone } kind = Kind::kMessage;
  Bytes plaintext;
  Bytes box_index;   // the box that was read
  Bytes next_index;  // the index after it
};

class BoxReader {
 public:
  // Reads consecutive boxes of `read_cap` from `start_index`; at most `limit` boxes are
  // requested in total (nullopt = unbounded, for --follow).
  BoxReader(Session& session, ByteView read_cap, Bytes start_index, ResendOptions options,
            std::optional<std::uint64_t> limit, std::size_t window);
  ~BoxReader();

  // The next box in order; waits for it, for at most the session's wait timeout (--timeout)
  // counted from this call, however early the read was issued (exit 5 after cancelling every
  // read in flight). Tombstones come back as an outcome; every other failure throws CliError
  // after cancelling the reads still in flight.
  ReadOutcome next();
  // True if the next() result is already available (to batch position saves).
  bool next_ready();

  // What the failure message says was being done.
  std::string what = "reading";
  // Called about every 100 ms while next() waits for a box; may throw CliError to give up (the
  // reads in flight are then cancelled at the daemon first).
  std::function<void()> while_waiting;

 private:
  struct InFlight {
    std::future<Result<ResendResult>> result;
    Bytes box_index;
    Bytes next_index;
  };
  void refill();
  void cancel_all();
  // Waits up to `timeout` for the oldest read in flight to finish.
  bool front_arrives_within(Duration timeout);

  Session& session_;
  Bytes read_cap_;
  Bytes next_index_;
  ResendOptions options_;
  std::optional<std::uint64_t> remaining_;
  std::size_t window_;
  // Reads in flight allowed now: starts small and doubles with every delivered box, so reading
  // "to the end" of a short channel does not make the daemon prepare (and then cancel) a whole
  // window of reads; each costs the real kpclientd seconds of CPU.
  std::size_t allowed_;
  std::deque<InFlight> in_flight_;
};

}  // namespace kpthin::cli
