#include "box_numbers.hpp"

#include "exit_codes.hpp"
#include "genkey_text.hpp"

namespace kpthin::cli {
namespace {

std::uint64_t counter_of(Session& session, ByteView index, const std::string& what) {
  Result<std::uint64_t> counter = session.retrying(
      [&] { return session.pigeonhole().message_box_index_counter(index, session.local_timeout()); });
  if (!counter) fail_status(counter.status(), what + ": numbering the boxes");
  return *counter;
}

}  // namespace

Bytes first_index_of(const Channel& channel) {
  if (channel.first_index) return *channel.first_index;
  return index_embedded_in(channel.capability.reveal());
}

std::uint64_t box_number(Session& session, const Channel& channel, ByteView index, const std::string& what) {
  Bytes first = first_index_of(channel);
  std::uint64_t base = counter_of(session, view(first), what);
  std::uint64_t here = counter_of(session, index, what);
  if (here < base) {
    fail(ExitCode::kConfig, what + ": the position lies before the channel's first box; the channel file is "
                                   "damaged: make it again with `kpthin keypair --import` from an export");
  }
  return here - base + 1;
}

Bytes index_of_box(Session& session, const Channel& channel, std::uint64_t number, const std::string& what) {
  Bytes index = first_index_of(channel);
  for (std::uint64_t box = 1; box < number; ++box) {
    Result<Bytes> next = session.retrying(
        [&] { return session.pigeonhole().next_message_box_index(view(index), session.local_timeout()); });
    if (!next) fail_status(next.status(), what + ": finding box " + std::to_string(number));
    index = std::move(*next);
  }
  return index;
}

std::string describe_boxes(std::uint64_t first, std::uint64_t count) {
  if (count == 1) return "box " + std::to_string(first);
  return "boxes " + std::to_string(first) + "-" + std::to_string(first + count - 1);
}

}  // namespace kpthin::cli
