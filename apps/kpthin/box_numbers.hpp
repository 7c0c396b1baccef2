// Box numbers: box 1 is the channel's first box (its first index), box K the K-th. The number of
// a box is its index counter's distance from the first index's counter plus one. The counter is
// asked of kpclientd (get_message_box_index_counter, spec §3.12: clients should not parse indices
// themselves), once per index a command starts from; the boxes after it are counted locally,
// since every box advances the counter by one.
#pragma once

#include <cstdint>
#include <string>

#include "channel_file.hpp"
#include "kpthin/bytes.hpp"
#include "session.hpp"

namespace kpthin::cli {

// The index of the channel's first box: the file's first_index, or (older files) the index the
// capability embeds.
Bytes first_index_of(const Channel& channel);

// The number of the box at `index` of `channel` (two local daemon requests). Throws CliError
// naming `what` if the daemon refuses, or if `index` lies before the first index.
std::uint64_t box_number(Session& session, const Channel& channel, ByteView index, const std::string& what);

// The index of box `number` of `channel`: walks from the first index (one local daemon request
// per box; BACAP indices only go forward). `number` must be at least 1.
Bytes index_of_box(Session& session, const Channel& channel, std::uint64_t number, const std::string& what);

// "box 3" or "boxes 3-7".
std::string describe_boxes(std::uint64_t first, std::uint64_t count);

}  // namespace kpthin::cli
