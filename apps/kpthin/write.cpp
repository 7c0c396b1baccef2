// kpthin write: one box from an argument, a file or stdin, or with --split one box per line or
// chunk, streamed. The channel position advances (and is saved) only past confirmed boxes.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "box_numbers.hpp"
#include "box_pipeline.hpp"
#include "channel_file.hpp"
#include "dead_tombstones.hpp"
#include "exit_codes.hpp"
#include "global_options.hpp"
#include "input_splitter.hpp"
#include "output.hpp"
#include "position_saver.hpp"
#include "progress.hpp"
#include "session.hpp"
#include "write_marker.hpp"

namespace kpthin::cli {
namespace {

struct WriteOptions {
  std::string channel;
  std::optional<std::string> message;
  std::string file;
  std::string split;
  bool box_exists_error = false;
  bool allow_empty = false;
};

// An empty box is how Pigeonhole marks a deleted one (spec §7.4): readers cannot tell an empty
// message from a tombstone, so an empty input (a grep that matched nothing) would stop them all.
void refuse_empty(const Bytes& message, const WriteOptions& opt, const std::string& source) {
  if (!message.empty() || opt.allow_empty) return;
  fail(ExitCode::kUsage, source + " is empty, and an empty box reads as a tombstone (deleted; readers stop with exit 7); "
                                  "nothing was written; pass --allow-empty if that is what you want");
}


int open_input(const std::string& file) {
  if (file.empty() || file == "-") return STDIN_FILENO;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    fail(ExitCode::kUsage, "cannot open " + file + ": " + std::strerror(err));
  }
  return fd;
}

void run_write(const WriteOptions& opt, const GlobalOptions& global) {
  if (opt.message && !opt.file.empty()) fail(ExitCode::kUsage, "give MESSAGE or --file, not both");
  if (opt.message && !opt.split.empty()) fail(ExitCode::kUsage, "--split needs its input on stdin or in --file");
  if (opt.allow_empty && !opt.split.empty()) {
    fail(ExitCode::kUsage, "--split never writes an empty box (an empty input writes none); drop --allow-empty");
  }
  if (opt.message) refuse_empty(Bytes(opt.message->begin(), opt.message->end()), opt, "MESSAGE");
  std::optional<SplitMode> split;
  if (!opt.split.empty()) {
    split = parse_split(opt.split);
    if (!split) {
      fail(ExitCode::kUsage, "--split " + opt.split + " is neither \"lines\", \"box\" nor a size like 1000 or 4k");
    }
  }
  ChannelFile channel = ChannelFile::open(opt.channel, ChannelKind::kWrite, global.timeout.value_or(kWaitForever));
  int fd = opt.message ? -1 : open_input(opt.file);
  Session session(global);
  std::size_t limit = session.box_payload_limit();
  if (split && !split->lines && split->chunk > limit) {
    fail(ExitCode::kUsage, "--split " + opt.split + " is more than the box limit of " + std::to_string(limit) +
                               " bytes; use a size of at most " + std::to_string(limit));
  }

  UnfinishedMarker marker(channel.real_path());
  complete_dead_tombstones(session, channel, marker);
  Bytes start_index = channel.channel().index;
  const std::string path = channel.path().string();
  PositionSaver saver(channel, "the message was sent, so the box after the position saved in " + path +
                                   " (and, with --split, the boxes after it) may already hold it; free some space, "
                                   "then the next `kpthin write " + path +
                                   "` finds those boxes and writes after them, never over them");
  BoxWriter writer(session, channel.channel().capability, start_index, ResendOptions{});
  writer.what = "writing to " + path;
  // The saved position is a hint: confirm the first box with the replica (see kpthin-write(1)).
  writer.check_boxes(channel.channel().read_capability, opt.box_exists_error);
  Progress progress("boxes written", 0);
  // Box numbers cost two local daemon requests: only for output that shows them.
  const bool numbered = global.json || verbosity() >= Verbosity::kVerbose;
  const std::uint64_t first_box = numbered ? box_number(session, channel.channel(), view(start_index), path) : 0;
  std::uint64_t reported = 0;
  std::deque<std::size_t> sizes;  // sizes of boxes sent but not yet reported (for --json)
  writer.on_confirmed = [&](const Bytes& index, std::uint64_t count) {
    saver.set(view(index));
    progress.update(count);
    // The boxes confirmed since the last call are consecutive and end at the last confirmed box
    // (boxes passed over are confirmed one at a time, with no message).
    std::uint64_t box = first_box + writer.confirmed_boxes() - (count - reported);
    for (; reported < count; ++reported, ++box) {
      if (global.json) {
        write_json_line({{"channel", channel.path().string()}, {"box", box}, {"bytes", sizes.front()}});
      }
      sizes.pop_front();
    }
  };

  if (marker.found()) {
    // A dead run's requests land at most one window past its confirmed position, and its
    // confirmations (the courier's) may run ahead of the replicas by as much again.
    const std::uint64_t boxes = 2 * kDefaultWindow;
    writer.recover(boxes);
    note("an earlier write to " + path + " did not finish, so some of its boxes may still arrive; checking the next " +
         std::to_string(boxes) + " boxes one by one (slower), so that none of them is written over");
  }
  // Only a run with several boxes in flight needs the marker: one that checks each box before the
  // next (a single message, --box-exists-error) leaves at most the box the next run checks first.
  if (split && !opt.box_exists_error) marker.set();  // before the first request
  const bool from_stdin = opt.file.empty() || opt.file == "-";
  if (fd == STDIN_FILENO) hint_if_reading_terminal(fd, split ? "the messages" : "the message");
  try {
    if (!split) {
      Bytes message;
      if (opt.message) {
        message.assign(opt.message->begin(), opt.message->end());
        if (message.size() > limit) {
          fail(ExitCode::kUsage, "MESSAGE is " + std::to_string(message.size()) + " bytes, more than the box limit of " +
                                     std::to_string(limit) + " bytes; use --split SIZE or `kpthin copy`");
        }
      } else {
        message = read_single_message(fd, limit, from_stdin ? "standard input" : opt.file);
        refuse_empty(message, opt, from_stdin ? "standard input" : opt.file);
      }
      sizes.push_back(message.size());
      writer.write(view(message));
    } else {
      InputSplitter splitter(fd, *split, limit);
      while (std::optional<Bytes> message = splitter.next()) {
        sizes.push_back(message->size());
        writer.write(view(*message));
      }
    }
    writer.finish();
    saver.flush();
  } catch (...) {
    // The marker goes only if nothing this run sent can still land (e.g. a full disk after every
    // box was confirmed); an interrupted run's packets may already be in the mixnet.
    if (writer.settled() && writer.recovered()) marker.clear();
    throw;
  }
  // A recovery cut short by the end of the input keeps the marker: the boxes further on that the
  // dead run may still fill are unchecked.
  if (writer.recovered()) marker.clear();
  if (fd > STDIN_FILENO) ::close(fd);
  if (writer.passed_over_count() != 0) {
    note("passed over " + std::to_string(writer.passed_over_count()) + " box(es) of " + path +
         " that already held other data (the saved position was behind the channel, e.g. after a crash); "
         "nothing was overwritten");
  }
  if (writer.already_stored_count() != 0) {
    note(std::to_string(writer.already_stored_count()) + " message(s) were already stored in " + path +
         " by an earlier run whose position was not saved; they were not written again");
  }
  std::string where;
  if (numbered && writer.confirmed_count() != 0) {
    where = " (the last one is box " + std::to_string(first_box + writer.confirmed_boxes() - 1) + ")";
  }
  info("wrote " + std::to_string(writer.confirmed_count()) + " box(es) to " + path + where);
}

}  // namespace

Command add_write_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<WriteOptions>();
  CLI::App* sub = app.add_subcommand("write", "Write a message to the next box of a channel (or one box per line/chunk)");
  sub->add_option("CHANNEL", opt->channel, "write channel file (NAME.write)")->required();
  sub->add_option("MESSAGE", opt->message, "the message; default: read it from --file or stdin");
  sub->add_option("-f,--file", opt->file, "read the message from FILE (- for stdin)")->type_name("FILE");
  sub->add_option("--split", opt->split,
                  "one box per line (lines), per SIZE bytes (e.g. 1000, 4k) or per full box (box); streams")
      ->type_name("lines|SIZE|box");
  sub->add_flag("--allow-empty", opt->allow_empty,
                "write an empty message instead of refusing it (exit 2); readers cannot tell it from a tombstone");
  sub->add_flag("--box-exists-error", opt->box_exists_error,
                "fail with exit code 8 if a box already holds other data, instead of writing after it "
                "(checks every box with the replica: one round trip per box)");
  sub->footer(R"(Examples:
  kpthin write chat.write 'hello'
  date | kpthin write chat.write
  seq 1 1000 | kpthin write --split lines chat.write
  kpthin write --split 1k --file photo.jpg chat.write)");
  return {sub, [opt, &global] { run_write(*opt, global); }};
}

}  // namespace kpthin::cli
