// kpthin tombstone: delete boxes of a channel you write. Written boxes by number (--box,
// --from/--count), the last ones (--last), all of them (--all); or the unwritten boxes ahead
// (--next, to close a channel). --atomic does any of them through a courier copy stream (all or
// nothing). The write position never moves back: deleting written boxes leaves it where it is,
// so the next write goes to a fresh box; --next advances it past confirmed tombstones only.
#include <unistd.h>

#include <iostream>
#include <limits>

#include "box_check.hpp"
#include "box_numbers.hpp"
#include "box_pipeline.hpp"
#include "channel_file.hpp"
#include "copy_stream.hpp"
#include "dead_tombstones.hpp"
#include "exit_codes.hpp"
#include "global_options.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "position_saver.hpp"
#include "session.hpp"
#include "write_marker.hpp"

namespace kpthin::cli {
namespace {

constexpr const char* kChoices =
    "--last N (the N boxes written last), --all (every box written), --box K or --from K --count N "
    "(by box number, as `read --json` and `write --json` report it), or --next N (N unwritten boxes "
    "ahead, to close the channel)";

struct TombstoneOptions {
  std::string channel;
  std::optional<std::uint64_t> last;
  bool all = false;
  std::optional<std::uint64_t> box;
  std::optional<std::uint64_t> from;
  std::optional<std::uint64_t> count;
  std::optional<std::uint64_t> next;
  bool atomic = false;
  bool yes = false;
};

// Boxes to tombstone: `count` consecutive boxes from box number `first`.
struct BoxRange {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
};

void check_form(const TombstoneOptions& opt) {
  int forms = (opt.last ? 1 : 0) + (opt.all ? 1 : 0) + (opt.box ? 1 : 0) + (opt.from ? 1 : 0) + (opt.next ? 1 : 0);
  if (forms == 0) fail(ExitCode::kUsage, "say which boxes to delete: " + std::string(kChoices));
  if (forms > 1) fail(ExitCode::kUsage, "give only one of --last, --all, --box, --from and --next");
  if (opt.from && !opt.count) fail(ExitCode::kUsage, "--from K needs --count N (how many boxes from box K)");
  if (opt.count && !opt.from) fail(ExitCode::kUsage, "--count N goes with --from K; for the boxes ahead use --next N");
  for (const auto* n : {&opt.last, &opt.count, &opt.next}) {
    if (*n && **n == 0) fail(ExitCode::kUsage, "the number of boxes must be at least 1");
  }
  if (opt.next && *opt.next > std::numeric_limits<std::uint32_t>::max()) {
    fail(ExitCode::kUsage, "--next takes at most " + std::to_string(std::numeric_limits<std::uint32_t>::max()));
  }
  if ((opt.box && *opt.box == 0) || (opt.from && *opt.from == 0)) {
    fail(ExitCode::kUsage, "box numbers start at 1 (the channel's first box)");
  }
}

// The written boxes the options name, given that box `end` is the first unwritten one.
BoxRange written_range(const TombstoneOptions& opt, std::uint64_t end, const std::string& path) {
  const std::uint64_t written = end - 1;
  BoxRange range;
  if (opt.all) {
    range = {1, written};
  } else if (opt.last) {
    if (*opt.last > written) {
      fail(ExitCode::kUsage, "--last " + std::to_string(*opt.last) + ": only " + std::to_string(written) +
                                 " box(es) of " + path + " were written; use --all to delete them all");
    }
    range = {end - *opt.last, *opt.last};
  } else {
    range = {opt.box ? *opt.box : *opt.from, opt.box ? 1 : *opt.count};
  }
  if (range.count != 0 && (range.first > written || range.count > written - range.first + 1)) {
    fail(ExitCode::kUsage, describe_boxes(range.first, range.count) + " of " + path + " reach past the " +
                               (written == 0 ? std::string("start: no box was written yet")
                                             : "last box written, box " + std::to_string(written)) +
                               "; to tombstone unwritten boxes ahead use --next N");
  }
  return range;
}

// Asks on the terminal; never when stdin is not one (scripts, pipes) or with --yes.
void confirm(const std::string& question, bool yes) {
  if (yes || ::isatty(STDIN_FILENO) != 1) return;
  std::cerr << "kpthin: " << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  if (answer != "y" && answer != "Y" && answer != "yes" && answer != "YES" && answer != "Yes") {
    fail(ExitCode::kOther, "nothing was deleted (not confirmed; --yes skips the question)");
  }
}

void report(const GlobalOptions& global, const ChannelFile& channel, BoxRange range, bool atomic) {

  if (global.json) {
    nlohmann::json out = {{"channel", channel.path().string()}, {"tombstoned", range.count}, {"atomic", atomic}};
    if (range.first != 0 && range.count != 0) {
      out["first_box"] = range.first;
      out["last_box"] = range.first + range.count - 1;
    }
    write_json_line(out);
  }
  std::string what = range.first != 0 && range.count != 0 ? " (" + describe_boxes(range.first, range.count) + ")" : "";
  info("tombstoned " + std::to_string(range.count) + " box(es) of " + channel.path().string() + what);
  // After the result, which a full pipe can hold up until the signal arrives.
  if (atomic && interrupted()) {
    note("interrupted, but the courier had already written the tombstones; there is nothing to redo");
  }
}

// Tombstones `count` boxes from `start`, all or nothing, through a courier copy stream. Returns
// the index after the last box.
Bytes tombstone_atomically(Session& session, const SecretBytes& cap, const Bytes& start, std::uint32_t count) {
  std::optional<Bytes> buffer;
  Result<CourierEnvelopes> envelopes = session.retrying([&] {
    return session.pigeonhole().courier_envelopes_from_tombstone_range(cap, view(start), count, true, true, buffer,
                                                                       session.local_timeout());
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
  return envelopes->next_dest_indices[0];
}

// The replicas are the truth: a position left behind the channel (a crash, a lost reply) must
// neither let --next delete a message written there nor hide written boxes from --last/--all.
// Reads the boxes from the saved position until one is empty (or, for --next, `max_tombstones`
// tombstones were found: they count toward it) and saves the position past them. Returns the
// tombstones found.
std::uint64_t catch_up_with_replicas(Session& session, ChannelFile& channel, std::uint64_t max_tombstones) {
  const std::string path = channel.path().string();
  const std::optional<Bytes>& read_cap = channel.channel().read_capability;
  if (!read_cap) {
    note(path + " has no read capability (it was made by an older kpthin), so kpthin cannot check that the " +
         "saved position is the end of the channel; to get the check, make a new channel with `kpthin keypair`");
    return 0;
  }
  OccupiedBoxes occupied =
      find_free_box(session, view(*read_cap), channel.channel().index, max_tombstones, "checking the next box of " + path);
  if (occupied.messages != 0 || occupied.tombstones != 0) channel.save_index(view(occupied.free_index));
  if (occupied.messages != 0) {
    note("the saved position of " + path + " was behind the channel: " + std::to_string(occupied.messages) +
         " box(es) after it already held a message; the position now follows them");
  }
  if (occupied.tombstones != 0) {
    note(std::to_string(occupied.tombstones) + " box(es) after the saved position of " + path +
         " were already tombstoned (by an earlier run whose position was not saved)");
  }
  return occupied.tombstones;
}

void run_next(const TombstoneOptions& opt, const GlobalOptions& global, ChannelFile& channel, Session& session) {
  const std::string path = channel.path().string();
  const std::uint32_t wanted = static_cast<std::uint32_t>(*opt.next);
  UnfinishedMarker marker(channel.real_path());
  // A tombstone replaces whatever a box holds, so the write itself cannot carry the replica's
  // verdict: the boxes are read first.
  std::uint64_t already = catch_up_with_replicas(session, channel, wanted);
  std::uint32_t count = wanted - static_cast<std::uint32_t>(already);
  Bytes start = channel.channel().index;
  const std::uint64_t start_box = box_number(session, channel.channel(), view(start), path);
  // An earlier run that died may still deliver tombstones further on: this run covers them too,
  // so the position it saves is past every box one of them may reach.
  const std::uint64_t dead = dead_tombstones_from(marker, start_box);
  if (dead > count) {
    note("an earlier `kpthin tombstone --next` on " + path + " did not finish, and its tombstones may still " +
         "arrive up to box " + std::to_string(*marker.tombstones_through()) + "; tombstoning up to there");
    count = static_cast<std::uint32_t>(dead);
  }
  BoxRange range{global.json ? start_box - already : 0, already + count};
  if (count == 0) {
    marker.tombstones_done();
    report(global, channel, range, opt.atomic);
    return;
  }
  // Until every tombstone is confirmed, a kill leaves them on their way: the marker tells the next
  // run which boxes they may still reach (write_marker.hpp).
  auto record = [&] { marker.set_tombstones(start_box + count - 1); };
  if (opt.atomic) {
    record();
    channel.save_index(view(tombstone_atomically(session, channel.channel().capability, start, count)));
    marker.tombstones_done();
    report(global, channel, range, true);
    return;
  }
  PositionSaver saver(channel);
  std::uint64_t done = tombstone_boxes(session, channel.channel().capability, start, count, "tombstoning " + path,
                                       record, [&](const Bytes& index) { saver.set(view(index)); });
  saver.flush();
  marker.tombstones_done();
  range.count = already + done;
  report(global, channel, range, false);
}

void run_written(const TombstoneOptions& opt, const GlobalOptions& global, ChannelFile& channel, Session& session) {
  const std::string path = channel.path().string();
  catch_up_with_replicas(session, channel, std::numeric_limits<std::uint64_t>::max());
  const std::uint64_t end = box_number(session, channel.channel(), view(channel.channel().index), path);
  BoxRange range = written_range(opt, end, path);
  if (range.count == 0) {
    note("no box of " + path + " was written yet; nothing to delete");
    report(global, channel, range, opt.atomic);
    return;
  }
  if (range.count > std::numeric_limits<std::uint32_t>::max()) {
    fail(ExitCode::kUsage, "at most " + std::to_string(std::numeric_limits<std::uint32_t>::max()) +
                               " boxes can be tombstoned at once; use --from K --count N in parts");
  }
  confirm("delete " + describe_boxes(range.first, range.count) + " of " + path + "?", opt.yes);
  const Bytes start = index_of_box(session, channel.channel(), range.first, path);
  const auto count = static_cast<std::uint32_t>(range.count);
  // The position stays: it is already past these boxes, and moving it back would make the next
  // write land in a tombstoned box.
  if (opt.atomic) {
    tombstone_atomically(session, channel.channel().capability, start, count);
  } else {
    tombstone_boxes(session, channel.channel().capability, start, count,
                    "tombstoning " + describe_boxes(range.first, range.count) + " of " + path, nullptr, nullptr);
  }
  report(global, channel, range, opt.atomic);
}

void run_tombstone(const TombstoneOptions& opt, const GlobalOptions& global) {
  check_form(opt);
  ChannelFile channel = ChannelFile::open(opt.channel, ChannelKind::kWrite, global.timeout.value_or(kWaitForever));
  Session session(global);
  if (opt.next) {
    run_next(opt, global, channel, session);
  } else {
    run_written(opt, global, channel, session);
  }
}

}  // namespace

Command add_tombstone_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<TombstoneOptions>();
  CLI::App* sub = app.add_subcommand("tombstone", "Delete boxes of a channel you write (tombstones)");
  sub->add_option("CHANNEL", opt->channel, "write channel file (NAME.write)")->required();
  sub->add_option("--last", opt->last, "delete the N boxes written last")->type_name("N");
  sub->add_flag("--all", opt->all, "delete every box written so far");
  sub->add_option("--box", opt->box, "delete box K (numbers as `read --json` reports them; box 1 is the first)")
      ->type_name("K");
  sub->add_option("--from", opt->from, "delete --count N boxes from box K")->type_name("K");
  sub->add_option("-n,--count", opt->count, "with --from: how many boxes")->type_name("N");
  sub->add_option("--next", opt->next, "tombstone the N unwritten boxes ahead (closes the channel); the position "
                                       "moves past them")
      ->type_name("N");
  sub->add_flag("--atomic", opt->atomic, "all or nothing, through a courier copy stream");
  sub->add_flag("-y,--yes", opt->yes, "do not ask on a terminal before deleting written boxes");
  sub->footer(R"(Examples:
  kpthin tombstone --last 1 chat.write          # delete the message written last
  kpthin tombstone --all --atomic --yes chat.write
  kpthin tombstone --from 3 --count 5 chat.write  # boxes 3-7
  kpthin tombstone --next 10 chat.write         # close the channel: 10 boxes ahead)");
  return {sub, [opt, &global] { run_tombstone(*opt, global); }};
}

}  // namespace kpthin::cli
