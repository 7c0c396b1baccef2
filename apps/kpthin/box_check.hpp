// The replica's verdict on a box at a remembered position. A channel file's position is a hint:
// a crash, a full disk or a reply lost while away can leave it behind boxes that already hold
// messages. These calls find out what a box holds, so a writer never writes over one and never
// reports a message as written into a box that holds something else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kpthin/bytes.hpp"
#include "session.hpp"

namespace kpthin::cli {

// What one box holds.
struct BoxContent {
  enum class Kind { kEmpty, kMessage, kTombstone } kind = Kind::kEmpty;
  Bytes plaintext;   // kMessage only
  Bytes next_index;  // the index after the box
};

// Reads the box at `index` once, without waiting for it to be written: an absent box is kEmpty.
// If the replicas disagree (the one asked has not stored a box another reported as existing),
// `wait_if_absent` waits for the box instead (bounded by --timeout). Other failures throw
// CliError naming `what`.
BoxContent read_box(Session& session, ByteView read_cap, ByteView index, bool wait_if_absent,
                    const std::string& what);

// Boxes at a remembered position that turned out to be occupied.
struct OccupiedBoxes {
  Bytes free_index;             // the first box found empty (or where the search stopped)
  std::uint64_t messages = 0;   // boxes passed over holding a message
  std::uint64_t tombstones = 0; // boxes passed over holding a tombstone
};

// For writes that cannot carry the replica's verdict themselves (tombstones replace a box, a
// copy's destination writes happen at the courier): reads the boxes from `index` on, once each,
// until one is empty or `max_tombstones` tombstones were passed. One read per box.
OccupiedBoxes find_free_box(Session& session, ByteView read_cap, Bytes index, std::uint64_t max_tombstones,
                            const std::string& what);

// The verdict on one checked write.
enum class BoxVerdict {
  kStored,      // the box was free and now holds the message
  kHoldsThis,   // the box already held exactly these bytes (an earlier attempt stored them)
  kHoldsOther,  // the box holds other data or a tombstone, or, without a read capability, anything
};

struct CheckedWrite {
  BoxVerdict verdict = BoxVerdict::kStored;
  Bytes next_index;  // the index after the box
};

// Writes `plaintext` into the box at `index` with no_idempotent_box_already_exists, so the
// replica says whether the box was free. An occupied box is read back with `read_cap` and
// compared; without a read capability (older channel files) it counts as kHoldsOther. Costs one
// round trip for a free box; two round trips and a read when the box is occupied. Failures
// throw CliError naming `what`.
CheckedWrite write_checked(Session& session, const SecretBytes& write_cap, const std::optional<Bytes>& read_cap,
                           ByteView plaintext, ByteView index, const std::string& what);

}  // namespace kpthin::cli
