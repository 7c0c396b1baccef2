// The courier copy workflow shared by `copy` and `tombstone --atomic`: copy-stream elements are
// written to consecutive boxes of a fresh temporary channel, then one copy command makes the
// courier perform every destination write, all or nothing (spec §7.5).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kpthin/pigeonhole.hpp"
#include "session.hpp"

namespace kpthin::cli {

struct TempChannel {
  SecretBytes write_cap;
  Bytes start_index;
};

// A fresh temporary channel from a random seed.
TempChannel new_temp_channel(Session& session);

// Writes elements[first..] to the temporary channel, element `first` going to box `index`.
// `on_progress(written, next_index)` is called after confirmations, in order, with the number of
// elements confirmed so far (counting from 0) and the index of the next element's box.
void write_copy_stream(Session& session, const SecretBytes& temp_write_cap, Bytes index,
                       const std::vector<Bytes>& elements, std::size_t first,
                       const std::function<void(std::size_t written, const Bytes& next_index)>& on_progress);

// Issues the copy command and waits for the courier's verdict. Failures: exit 9 with the
// replica's reason, 5 on --timeout, 130 on Ctrl-C (the command is cancelled at the daemon).
void run_copy_command(Session& session, const SecretBytes& temp_write_cap);

}  // namespace kpthin::cli
