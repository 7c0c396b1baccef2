// kpthin read: the next box(es) of a channel to stdout, raw or as JSON lines. The position
// advances (and is saved) only after the bytes were written to stdout.
#include <unistd.h>

#include <filesystem>

#include "box_numbers.hpp"
#include "box_pipeline.hpp"
#include "channel_file.hpp"
#include "duration.hpp"
#include "exit_codes.hpp"
#include "file_framing.hpp"
#include "global_options.hpp"
#include "kpthin/errors.hpp"
#include "output.hpp"
#include "position_saver.hpp"
#include "progress.hpp"
#include "session.hpp"

namespace kpthin::cli {
namespace {

struct ReadOptions {
  std::string channel;
  std::uint64_t count = 1;
  bool follow = false;
  bool no_wait = false;
  bool until_empty = false;
  bool count_given = false;  // -n was on the command line (with --until-empty it caps the boxes)
  bool skip_tombstones = false;
  std::optional<std::string> delimiter;
  bool framed = false;
  std::string output_dir;
};

// Interprets the C escapes people type for delimiters: \n, \t, \0, \\.
std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char c = text[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      default: out += '\\'; out += c;
    }
  }
  return out;
}

// A file sent with pigeonhole-cp's framing (or `kpthin copy --framed`): the first box starts with
// a CBOR {name, size} header; boxes follow until `size` bytes arrived. To stdout, the position
// advances box by box; into --output-dir, once the whole file is safely on disk.
void run_read_framed(const ReadOptions& opt, const GlobalOptions& global) {
  ChannelFile channel = ChannelFile::open(opt.channel, ChannelKind::kRead, global.timeout.value_or(kWaitForever));
  Session session(global);
  ResendOptions resend;
  resend.no_retry_on_box_id_not_found = opt.no_wait;
  BoxReader reader(session, channel.channel().capability.reveal(), channel.channel().index, resend, std::nullopt, 1);
  reader.what = "reading " + channel.path().string();
  bool to_dir = !opt.output_dir.empty();
  std::string file_bytes;  // only with --output-dir
  std::optional<FileHeader> header;
  std::uint64_t remaining = 0;
  std::uint64_t boxes = 0;
  Bytes position = channel.channel().index;
  while (!header || remaining > 0) {
    ReadOutcome outcome = reader.next();
    if (outcome.kind == ReadOutcome::Kind::kTombstone) {
      fail(ExitCode::kTombstone, "box " + std::to_string(boxes + 1) + " of the file in " + channel.path().string() +
                                     " is a tombstone; the transfer is incomplete");
    }
    ++boxes;
    ByteView data = view(outcome.plaintext);
    if (!header) {
      std::size_t length = 0;
      header = decode_file_header(data, length);
      if (!header) {
        fail(ExitCode::kOther, "the first box of " + channel.path().string() +
                                   " has no pigeonhole-cp file header; read it without --framed");
      }
      if (to_dir) {
        std::string why = unsafe_file_name_reason(header->name);
        if (!why.empty()) fail(ExitCode::kOther, "refusing the sent file name: " + why);
      }
      remaining = header->size;
      data = data.subspan(length);
    }
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, data.size()));
    if (to_dir) {
      file_bytes.append(reinterpret_cast<const char*>(data.data()), take);
    } else {
      write_stdout(data.first(take));
    }
    remaining -= take;
    position = std::move(outcome.next_index);
    if (!to_dir) channel.save_index(view(position));
  }
  std::filesystem::path target;
  if (to_dir) {
    target = std::filesystem::path(opt.output_dir) / header->name;
    std::error_code ec;
    if (std::filesystem::exists(target, ec)) {
      fail(ExitCode::kOther, target.string() + " already exists; move it away or choose another --output-dir");
    }
    atomic_replace(target, file_bytes, 0644);
    channel.save_index(view(position));
  }
  if (global.json) {
    nlohmann::json out = {{"channel", channel.path().string()}, {"name", header->name}, {"bytes", header->size},
                          {"boxes", boxes}};
    if (to_dir) out["path"] = target.string();
    write_json_line(out);
  }
  info("received " + header->name + " (" + std::to_string(header->size) + " bytes in " + std::to_string(boxes) + " boxes)");
}

void run_read(const ReadOptions& opt, const GlobalOptions& global) {
  if (!opt.output_dir.empty() && !opt.framed) fail(ExitCode::kUsage, "--output-dir needs --framed");
  if (opt.framed) {
    if (opt.until_empty) {
      fail(ExitCode::kUsage, "--framed already ends after the file's last box; drop --until-empty");
    }
    if (opt.follow || opt.count != 1 || opt.delimiter) {
      fail(ExitCode::kUsage, "--framed reads exactly one file; drop --follow/--count/--delimiter");
    }
    run_read_framed(opt, global);
    return;
  }
  if (opt.follow && (opt.no_wait || opt.until_empty)) {
    fail(ExitCode::kUsage, std::string("--follow waits for boxes; it cannot be combined with ") +
                               (opt.no_wait ? "--no-wait" : "--until-empty"));
  }
  if (opt.count == 0) fail(ExitCode::kUsage, "--count must be at least 1");
  std::string delimiter = opt.delimiter ? unescape(*opt.delimiter) : std::string();

  ChannelFile channel = ChannelFile::open(opt.channel, ChannelKind::kRead, global.timeout.value_or(kWaitForever));
  Session session(global);
  ResendOptions resend;
  // --until-empty ends at the first box the replicas report as not written, the way --no-wait
  // fails there: kpclientd only reports that with this flag; without it, it asks forever.
  resend.no_retry_on_box_id_not_found = opt.no_wait || opt.until_empty;
  // Without -n, --until-empty reads until the first unwritten box, however many that takes.
  const bool unbounded = opt.follow || (opt.until_empty && !opt.count_given);
  std::optional<std::uint64_t> limit;
  // Skipped tombstones do not count toward --count, so how many boxes that takes is not known.
  if (!unbounded && !opt.skip_tombstones) limit = opt.count;
  // Following reads ahead only a little: each waiting read costs the daemon traffic.
  std::size_t window = opt.follow  ? 4
                       : unbounded ? kDefaultWindow
                                   : static_cast<std::size_t>(std::min<std::uint64_t>(opt.count, kDefaultWindow));
  BoxReader reader(session, channel.channel().capability.reveal(), channel.channel().index, resend, limit, window);
  reader.what = "reading " + channel.path().string();
  reader.while_waiting = fail_if_stdout_gone;  // `read --follow | head`: stop when head has gone
  Progress progress("boxes read", unbounded ? 0 : opt.count);

  std::uint64_t delivered = 0;
  std::uint64_t consumed = 0;  // delivered boxes and skipped tombstones: what the position passed
  Bytes position = channel.channel().index;
  const std::string path = channel.path().string();
  // Box numbers cost two local daemon requests: only for output that shows them.
  std::uint64_t box = global.json ? box_number(session, channel.channel(), view(position), path) : 0;
  PositionSaver saver(channel);
  auto save = [&] { saver.set(view(position)); };
  try {
    while (unbounded || delivered < opt.count) {
      ReadOutcome outcome = reader.next();
      if (outcome.kind == ReadOutcome::Kind::kTombstone) {
        // A tombstone is consumed when it is reported, so the next read moves past it.
        if (global.json) {
          write_json_line({{"channel", path}, {"box", box}, {"tombstone", true},
                           {"index", to_base64(view(outcome.box_index))}});
        }
        ++box;
        ++consumed;
        position = outcome.next_index;
        save();
        if (opt.skip_tombstones) {
          info("skipped a tombstone in " + channel.path().string());
          continue;
        }
        fail(ExitCode::kTombstone, "the next box of " + channel.path().string() +
                                       " is a tombstone (the writer deleted it); the position moved past it");
      }
      if (global.json) {
        write_json_line({{"channel", path},
                         {"box", box},
                         {"index", to_base64(view(outcome.box_index))},
                         {"bytes", outcome.plaintext.size()},
                         {"data", to_base64(view(outcome.plaintext))}});
      } else {
        if (delimiter.empty()) {
          write_stdout(view(outcome.plaintext));
        } else {
          outcome.plaintext.insert(outcome.plaintext.end(), delimiter.begin(), delimiter.end());
          write_stdout(view(outcome.plaintext));
        }
      }
      position = std::move(outcome.next_index);
      ++delivered;
      ++consumed;
      ++box;
      progress.update(delivered);
      save();  // never past what was printed
    }
    save();
    saver.flush();
  } catch (const CliError& e) {
    save();
    saver.flush();
    if (e.code() == ExitCode::kTimeout) {
      std::string waited = global.timeout ? format_duration(*global.timeout) : std::string("the timeout");
      fail(ExitCode::kTimeout, "no box arrived at " + channel.path().string() + " within " + waited + " (" +
                                   std::to_string(delivered) + " read); the read was cancelled at the daemon; retry later or raise --timeout");
    }
    if (e.code() == ExitCode::kBoxNotFound && opt.until_empty && consumed > 0) {
      // The clean end of a channel written in one go (a copy's payload, a finished batch).
      info("read " + std::to_string(delivered) + " box(es) from " + path + "; the next box is not written yet");
      return;
    }
    if (e.code() == ExitCode::kBoxNotFound) {
      fail(ExitCode::kBoxNotFound, "the next box of " + channel.path().string() + " has not been written yet (" +
                                       std::to_string(delivered) + " read); retry later, or drop " +
                                       (opt.until_empty ? "--until-empty" : "--no-wait") + " to wait for it");
    }
    throw;
  }
  info("read " + std::to_string(delivered) + " box(es) from " + channel.path().string());
}

}  // namespace

Command add_read_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<ReadOptions>();
  CLI::App* sub = app.add_subcommand("read", "Read the next box(es) of a channel to stdout");
  sub->add_option("CHANNEL", opt->channel, "read channel file (NAME.read)")->required();
  sub->add_option("-n,--count", opt->count, "read N boxes (default 1)")->type_name("N");
  sub->add_flag("-F,--follow", opt->follow,
                "keep reading boxes as they are written, like tail -f; with --timeout, exit 5 once no box "
                "arrives within that time of the previous one");
  sub->add_flag("--no-wait", opt->no_wait, "fail at once with exit code 6 if the box is not written yet");
  sub->add_flag("--until-empty", opt->until_empty,
                "read every box written so far: stop with exit 0 at the first box not written yet (exit 6 if "
                "that is the first one); -n caps the count; for a copied payload");
  sub->add_flag("--skip-tombstones", opt->skip_tombstones, "skip deleted boxes (tombstones) instead of exiting 7; they do not count toward --count");
  sub->add_option("-d,--delimiter", opt->delimiter, "print STR after each message (escapes: \\n \\t \\0)")
      ->type_name("STR");
  sub->add_flag("--framed", opt->framed,
                "read one file sent with pigeonhole-cp's framing (pigeonhole-cp send, kpthin copy --framed)");
  sub->add_option("-o,--output-dir", opt->output_dir, "with --framed: save the file under its sent name in DIR")
      ->type_name("DIR");
  CLI::Option* count = sub->get_option("--count");
  count->excludes("--follow");
  sub->footer(R"(Examples:
  kpthin read chat.read                       # wait for the next message
  kpthin --timeout 30s read -n 10 chat.read   # ten messages, each within 30 s of the one before
  kpthin read --follow -d '\n' chat.read      # stream, one message per line
  kpthin --timeout 1m read --follow chat.read  # stream until a minute passes without a box
  kpthin read --no-wait chat.read || echo "nothing yet"

--timeout bounds the wait for each box: the clock starts when the previous box was printed
(or when the first wait begins), not when a read was issued ahead.)");
  return {sub, [opt, count, &global] {
            opt->count_given = count->count() > 0;
            run_read(*opt, global);
          }};
}

}  // namespace kpthin::cli
