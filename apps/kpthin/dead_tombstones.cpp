#include "dead_tombstones.hpp"

#include <limits>

#include "box_numbers.hpp"
#include "box_pipeline.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "position_saver.hpp"

namespace kpthin::cli {

std::uint64_t tombstone_boxes(Session& session, const SecretBytes& cap, const Bytes& start, std::uint32_t count,
                              const std::string& what, const std::function<void()>& before_sending,
                              const std::function<void(const Bytes&)>& on_confirmed) {
  Result<Pigeonhole::TombstoneRange> range = session.retrying(
      [&] { return session.pigeonhole().tombstone_range(cap, view(start), count, session.local_timeout()); });
  if (!range) fail_status(range.status(), "preparing the tombstones");
  if (before_sending) before_sending();
  BoxWriter writer(session, cap, start, ResendOptions{});
  writer.what = what;
  if (on_confirmed) writer.on_confirmed = [&](const Bytes& index, std::uint64_t) { on_confirmed(index); };
  auto& envelopes = range->envelopes;
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    Bytes next = i + 1 < envelopes.size() ? envelopes[i + 1].first : range->next_index;
    writer.write_encrypted(std::move(envelopes[i].second), std::move(next));
  }
  writer.finish();
  return writer.confirmed_count();
}

std::uint64_t dead_tombstones_from(const UnfinishedMarker& marker, std::uint64_t box) {
  const std::optional<std::uint64_t> last = marker.tombstones_through();
  return last && *last >= box ? *last - box + 1 : 0;
}

void complete_dead_tombstones(Session& session, ChannelFile& channel, UnfinishedMarker& marker) {
  if (!marker.tombstones_through()) return;
  const std::string path = channel.path().string();
  const Bytes start = channel.channel().index;
  const std::uint64_t left = dead_tombstones_from(marker, box_number(session, channel.channel(), view(start), path));
  if (left != 0) {
    // The dead run's range fitted one tombstone request, so this does too.
    const auto count = static_cast<std::uint32_t>(std::min<std::uint64_t>(left, std::numeric_limits<std::uint32_t>::max()));
    note("an earlier `kpthin tombstone --next` on " + path + " did not finish, and its tombstones may still arrive; "
         "tombstoning those " + std::to_string(count) + " box(es) first, so that nothing written now lands where one "
         "of them would delete it");
    PositionSaver saver(channel);
    tombstone_boxes(session, channel.channel().capability, start, count, "finishing the tombstones of " + path, nullptr,
                    [&](const Bytes& index) { saver.set(view(index)); });
    saver.flush();
  }
  marker.tombstones_done();
}

}  // namespace kpthin::cli
