// What the parts of ThinClient::Impl (client*.cpp) share: timing constants and the frames they
// queue. Internal; not installed.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

#include "client_impl.hpp"
#include "kpthin/codec.hpp"

namespace kpthin::detail {

// Timeouts beyond this are "wait forever" (and would overflow a time_point if added to now()).
inline constexpr Duration kForever = std::chrono::hours(24 * 365);
// How often a waiting call looks at its interrupt flag.
inline constexpr Duration kInterruptPoll{50};
// The most one read from the daemon socket takes.
inline constexpr std::size_t kReadChunk = 64 * 1024;

inline Duration for_timer(Duration d) { return std::min(d, kForever); }

// A request as a length-prefixed frame, encoded in place (no unframed copy of its caps is left).
inline Bytes encode_frame(const Request& request) { return encode_request_frame(request); }

// Frames carry caps and seeds: wiped when dropped as well as once written.
inline void wipe_frames(std::vector<OutgoingFrame>& frames) {
  for (auto& frame : frames) wipe(frame.bytes.data(), frame.bytes.size());
  frames.clear();
}

}  // namespace kpthin::detail
