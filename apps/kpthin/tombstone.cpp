// kpthin tombstone: delete the next box of a channel, or --count N boxes; --atomic does the range
// through a courier copy stream (all or nothing). The position advances past confirmed
// tombstones only.
#include "box_check.hpp"
#include "box_pipeline.hpp"
#include "channel_file.hpp"
#include "copy_stream.hpp"
#include "exit_codes.hpp"
#include "global_options.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "position_saver.hpp"
#include "session.hpp"

namespace kpthin::cli {
namespace {

struct TombstoneOptions {
  std::string channel;
  std::uint32_t count = 1;
  bool atomic = false;
};

void report(const GlobalOptions& global, const ChannelFile& channel, std::uint64_t count, bool atomic) {
  if (global.json) {
    write_json_line({{"channel", channel.path().string()}, {"tombstoned", count}, {"atomic", atomic}});
  }
  info("tombstoned " + std::to_string(count) + " box(es) of " + channel.path().string());
}

void run_tombstone(const TombstoneOptions& opt, const GlobalOptions& global) {
  if (opt.count == 0) fail(ExitCode::kUsage, "--count must be at least 1");
  ChannelFile channel = ChannelFile::open(opt.channel, ChannelKind::kWrite, global.timeout.value_or(kWaitForever));
  Session session(global);
  const SecretBytes& cap = channel.channel().capability;
  Bytes start = channel.channel().index;
  const std::string path = channel.path().string();
  std::uint32_t count = opt.count;
  std::uint64_t already = 0;
  // A tombstone replaces whatever a box holds, so the replica cannot give its verdict on the write
  // itself: read the next box first. A stale position must not delete a message written there.
  if (const std::optional<Bytes>& read_cap = channel.channel().read_capability) {
    OccupiedBoxes occupied = find_free_box(session, view(*read_cap), start, count, "checking the next box of " + path);
    if (occupied.messages != 0 || occupied.tombstones != 0) {
      channel.save_index(view(occupied.free_index));
      start = occupied.free_index;
    }
    if (occupied.messages != 0) {
      note("passed over " + std::to_string(occupied.messages) + " box(es) of " + path +
           " that already held a message (the saved position was behind the channel); they were not deleted");
    }
    if (occupied.tombstones != 0) {
      note(std::to_string(occupied.tombstones) + " box(es) of " + path +
           " were already tombstoned (by an earlier run whose position was not saved)");
    }
    already = occupied.tombstones;
    count -= static_cast<std::uint32_t>(already);
    if (count == 0) {
      report(global, channel, opt.count, opt.atomic);
      return;
    }
  } else {
    note(path + " has no read capability (it was made by an older kpthin), so the next box is tombstoned "
                "without checking that it is empty; to get the check, make a new channel with `kpthin keypair`");
  }

  if (opt.atomic) {
    std::vector<Bytes> elements;
    std::optional<Bytes> buffer;
    Result<CourierEnvelopes> envelopes = session.retrying([&] {
      return session.pigeonhole().courier_envelopes_from_tombstone_range(cap, view(start), count, true, true,
                                                                         buffer, session.local_timeout());
    });
    if (!envelopes) fail_status(envelopes.status(), "preparing the tombstone copy stream");
    if (envelopes->next_dest_indices.size() != 1) {
      fail(ExitCode::kProtocol, "the daemon's tombstone copy stream has no next index; nothing was changed");
    }
    TempChannel temp = new_temp_channel(session);
    write_copy_stream(session, temp.write_cap, temp.start_index, envelopes->envelopes, 0,
                      [](std::size_t, const Bytes&) {});
    run_copy_command(session, temp.write_cap);
    // The courier wrote every tombstone: a signal from now on cannot undo that, so it is no failure.
    mark_work_done();
    channel.save_index(view(envelopes->next_dest_indices[0]));
    report(global, channel, opt.count, true);
    if (interrupted()) note("interrupted, but the courier had already written the tombstones; there is nothing to redo");
    return;
  }

  Result<Pigeonhole::TombstoneRange> range = session.retrying(
      [&] { return session.pigeonhole().tombstone_range(cap, view(start), count, session.local_timeout()); });
  if (!range) fail_status(range.status(), "preparing the tombstones");
  BoxWriter writer(session, cap, start, ResendOptions{});
  writer.what = "tombstoning " + path;
  PositionSaver saver(channel);
  writer.on_confirmed = [&](const Bytes& index, std::uint64_t) { saver.set(view(index)); };
  auto& envelopes = range->envelopes;
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    Bytes next = i + 1 < envelopes.size() ? envelopes[i + 1].first : range->next_index;
    writer.write_encrypted(std::move(envelopes[i].second), std::move(next));
  }
  writer.finish();
  saver.flush();
  report(global, channel, already + writer.confirmed_count(), false);
}

}  // namespace

Command add_tombstone_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<TombstoneOptions>();
  CLI::App* sub = app.add_subcommand("tombstone", "Delete the next box (or N boxes) of a channel you write");
  sub->add_option("CHANNEL", opt->channel, "write channel file (NAME.write)")->required();
  sub->add_option("-n,--count", opt->count, "tombstone N consecutive boxes (default 1)")->type_name("N");
  sub->add_flag("--atomic", opt->atomic, "all or nothing, through a courier copy stream");
  sub->footer(R"(Examples:
  kpthin tombstone chat.write
  kpthin tombstone --count 10 --atomic chat.write)");
  return {sub, [opt, &global] { run_tombstone(*opt, global); }};
}

}  // namespace kpthin::cli
