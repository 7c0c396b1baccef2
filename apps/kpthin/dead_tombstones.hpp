// Tombstones at a channel's remembered position, and the ones a dead `kpthin tombstone --next`
// may still deliver. A tombstone replaces whatever a box holds, so a write into a box that a late
// tombstone of a dead run reaches is lost however carefully the box was checked: the run that
// finds such a range recorded in the unfinished marker (write_marker.hpp) completes it before it
// writes anything there. Tombstoning a box twice changes nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "channel_file.hpp"
#include "kpthin/bytes.hpp"
#include "session.hpp"
#include "write_marker.hpp"

namespace kpthin::cli {

// Tombstones `count` boxes from `start`, pipelined. `before_sending` (if set) runs once the
// tombstones are prepared, before the first is sent; `on_confirmed` sees the index after each
// confirmed run of boxes. Returns how many were confirmed (all, or it throws CliError naming
// `what`).
std::uint64_t tombstone_boxes(Session& session, const SecretBytes& cap, const Bytes& start, std::uint32_t count,
                              const std::string& what, const std::function<void()>& before_sending,
                              const std::function<void(const Bytes&)>& on_confirmed);

// How many boxes from box number `box` on a dead run recorded in `marker` may still tombstone
// (0 without a record, or if `box` is past the recorded range).
std::uint64_t dead_tombstones_from(const UnfinishedMarker& marker, std::uint64_t box);

// For a run about to write at the saved position of `channel`: if `marker` records tombstones a
// dead `tombstone --next` may still deliver at or after that position, tombstones those boxes
// (a note says so), saves the position past them and drops the record. Costs two local requests
// when there is a record, nothing otherwise. Throws CliError on failure; the record then stays.
void complete_dead_tombstones(Session& session, ChannelFile& channel, UnfinishedMarker& marker);

}  // namespace kpthin::cli
