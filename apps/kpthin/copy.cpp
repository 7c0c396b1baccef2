// kpthin copy: write a payload to one or several channels atomically through a courier copy
// stream, optionally with a resumable state file and pigeonhole-cp's file framing.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <limits>
#include <optional>
#include <set>

#include "box_check.hpp"
#include "channel_file.hpp"
#include "copy_state.hpp"
#include "copy_stream.hpp"
#include "dead_tombstones.hpp"
#include "exit_codes.hpp"
#include "file_framing.hpp"
#include "global_options.hpp"
#include "input_splitter.hpp"
#include "interrupt.hpp"
#include "latest_saver.hpp"
#include "output.hpp"
#include "session.hpp"
#include "write_marker.hpp"

namespace kpthin::cli {
namespace {

// The daemon refuses larger payloads per destination (create_courier_envelopes_*).
constexpr std::size_t kCopyPayloadLimit = 10 * 1024 * 1024;

struct CopyOptions {
  std::vector<std::string> to;
  std::vector<std::string> files;
  bool framed = false;
  std::string state;
  bool resume = false;
};

Bytes load_payload(const std::string& file, bool framed) {
  bool from_stdin = file.empty() || file == "-";
  std::string what = from_stdin ? "standard input" : file;
  int fd = STDIN_FILENO;
  if (!from_stdin) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      fail(ExitCode::kUsage, file + " is not a readable regular file; give a file or - for stdin");
    }
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(ExitCode::kUsage, "cannot open " + file);
  }
  Bytes data;
  if (from_stdin) hint_if_reading_terminal(fd, "the payload");
  try {
    data = read_single_message(fd, kCopyPayloadLimit, what);
  } catch (const CliError& e) {
    if (fd != STDIN_FILENO) ::close(fd);
    if (e.code() == ExitCode::kUsage) {
      fail(ExitCode::kUsage, what + " is more than the daemon's copy limit of " + std::to_string(kCopyPayloadLimit) +
                                 " bytes (10 MiB) per destination; split it, or use `kpthin write --split box`");
    }
    throw;
  }
  if (fd != STDIN_FILENO) ::close(fd);
  // The daemon turns an empty payload into no box at all (spec §3.15): a copy that changes
  // nothing, most likely from a pipeline that produced nothing. A framed empty file is a header.
  if (data.empty() && !framed) {
    fail(ExitCode::kUsage, what + " is empty, and a copy of nothing writes no box; nothing was copied; "
                                  "to send an empty file, add --framed");
  }
  if (!framed) return data;
  FileHeader header{from_stdin ? std::string("stdin") : std::filesystem::path(file).filename().string(), data.size()};
  Bytes out = encode_file_header(header);
  if (out.size() + data.size() > kCopyPayloadLimit) {
    fail(ExitCode::kUsage, what + " with its file header is more than the daemon's copy limit of " +
                               std::to_string(kCopyPayloadLimit) + " bytes");
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void report(const GlobalOptions& global, const CopyState& state) {
  if (global.json) {
    nlohmann::json out;
    out["boxes"] = state.total;
    out["destinations"] = nlohmann::json::array();
    for (const auto& d : state.destinations) out["destinations"].push_back({{"channel", d.channel}});
    write_json_line(out);
  }
  std::string done = "copied to " + std::to_string(state.destinations.size()) + " channel(s) through " +
                     std::to_string(state.total) + " copy-stream box(es)";
  // A Ctrl-C that came too late to stop the copy must not look like a failure: say it finished.
  if (interrupted()) {
    note("interrupted, but the copy had already completed: " + done + "; there is nothing to resume");
  } else {
    info(done);
  }
}

// Writes the rest of the copy stream. With a state file, progress is saved in the background
// (only the newest confirmed state is written, so fsync does not bound boxes/s); the saver is
// flushed before this returns or unwinds, so the file ends at the last confirmation. A crash
// can leave it behind that: a resume then rewrites confirmed temporary boxes with the same
// content, which the daemon's default write (not no_idempotent) accepts.
void write_stream_saving_progress(Session& session, CopyState& state, const std::vector<Bytes>& elements,
                                  const std::string& state_path) {
  std::optional<LatestSaver<CopyState>> saver;
  if (!state_path.empty()) {
    saver.emplace([&state_path](const CopyState& progress) { save_copy_state(state_path, progress); });
  }
  write_copy_stream(session, state.temp_write_cap, state.temp_next_index, elements, state.written,
                    [&](std::size_t written, const Bytes& next_index) {
                      state.written = written;
                      state.temp_next_index = next_index;
                      if (saver) saver->set(state);
                    });
  if (saver) saver->flush();
}

// The courier writes a destination's boxes from its saved position on, and that position can be
// stale (a crash after an earlier write). Completes the tombstones a dead `tombstone --next` may
// still deliver there (a late tombstone would delete a copied box), then reads the box at the
// position, and any occupied box after it, and moves the position past them, so the copy never
// lands on boxes that hold other data. Without a read capability (older channel files) the
// courier's own check is all there is. The boxes a dead `write` may still fill need nothing more:
// the courier applies a copy only if every destination box is free, so a late box fails the copy
// (exit 9) rather than losing part of it.
void start_at_free_box(Session& session, ChannelFile& destination) {
  UnfinishedMarker marker(destination.real_path());
  complete_dead_tombstones(session, destination, marker);
  const std::optional<Bytes>& read_cap = destination.channel().read_capability;
  if (!read_cap) return;
  const std::string path = destination.path().string();
  OccupiedBoxes occupied = find_free_box(session, view(*read_cap), destination.channel().index,
                                         std::numeric_limits<std::uint64_t>::max(), "checking the next box of " + path);
  const std::uint64_t passed = occupied.messages + occupied.tombstones;
  if (passed == 0) return;
  destination.save_index(view(occupied.free_index));
  note("passed over " + std::to_string(passed) + " box(es) of " + path +
       " that already held data (the saved position was behind the channel); the copy goes after them");
}

// Runs (or resumes) the copy described by `state`, saving progress when `state_path` is set.
void execute(Session& session, CopyState& state, const std::vector<Bytes>& elements,
             std::vector<ChannelFile>& destinations, const std::string& state_path) {
  if (state.phase == CopyState::Phase::kWriting) {
    write_stream_saving_progress(session, state, elements, state_path);
    state.phase = CopyState::Phase::kCopying;
    if (!state_path.empty()) save_copy_state(state_path, state);
  }
  run_copy_command(session, state.temp_write_cap);
  // The courier applied the copy: from here on the request has succeeded, whatever signal comes.
  mark_work_done();
  for (std::size_t i = 0; i < destinations.size(); ++i) {
    destinations[i].save_index(view(state.destinations[i].next_index));
  }
  if (!state_path.empty()) remove_copy_state(state_path);
}

// A word as the shell reads it back: quoted unless it is plainly safe.
std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                              "0123456789_./-=:,+@%") == std::string::npos;
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs execute(); when it stops in a way a later run can continue (interrupted, timed out,
// daemon gone) and progress is kept in a state file, the one failure line also gives the
// command that continues it, with the -c FILE this run used so it reaches the same daemon.
void execute_or_say_how_to_resume(Session& session, CopyState& state, const std::vector<Bytes>& elements,
                                  std::vector<ChannelFile>& destinations, const CopyOptions& opt,
                                  const GlobalOptions& global) {
  try {
    execute(session, state, elements, destinations, opt.state);
  } catch (const CliError& e) {
    if (opt.state.empty() || (e.code() != ExitCode::kInterrupted && e.code() != ExitCode::kTimeout &&
                              e.code() != ExitCode::kDaemonUnreachable)) {
      throw;
    }
    std::string command = "kpthin";
    if (!global.config.empty()) command += " -c " + shell_word(global.config);
    command += " copy --resume --state " + shell_word(opt.state);
    throw CliError(e.code(), std::string(e.what()) + "; continue the copy with: " + command);
  }
}

void run_resume(const CopyOptions& opt, const GlobalOptions& global) {
  std::vector<Bytes> elements;
  CopyState state = load_copy_state(opt.state, elements);
  std::vector<ChannelFile> destinations;
  std::size_t finished = 0;
  for (const auto& d : state.destinations) {
    destinations.push_back(ChannelFile::open(d.channel, ChannelKind::kWrite, global.timeout.value_or(kWaitForever)));
    const Bytes& now = destinations.back().channel().index;
    const bool dead_tombstones = UnfinishedMarker(destinations.back().real_path()).tombstones_through().has_value();
    if (now == d.next_index) {
      ++finished;
    } else if (now != d.start_index) {
      fail(ExitCode::kCopyFailed, d.channel + " moved since the copy began (someone wrote to it); the copy "
                                               "cannot be resumed safely; start it again without --resume");
    } else if (dead_tombstones) {
      // The copy would land where they may still arrive; a new copy tombstones them first.
      fail(ExitCode::kCopyFailed, "a `kpthin tombstone --next` on " + d.channel + " did not finish, and its "
                                  "tombstones may still arrive where the copy would go; the copy cannot be resumed "
                                  "safely; start it again without --resume (it tombstones those boxes first)");
    }
  }
  if (finished == destinations.size()) {
    mark_work_done();
    remove_copy_state(opt.state);
    note("the copy in " + opt.state + " had already finished");
    report(global, state);
    return;
  }
  if (finished != 0) fail(ExitCode::kCopyFailed, "some destinations of the copy already moved; start it again");
  info("resuming the copy at copy-stream box " + std::to_string(state.written + 1) + " of " + std::to_string(state.total));
  Session session(global);
  execute_or_say_how_to_resume(session, state, elements, destinations, opt, global);
  report(global, state);
}

void run_copy(const CopyOptions& opt, const GlobalOptions& global) {
  if (opt.resume) {
    if (opt.state.empty()) fail(ExitCode::kUsage, "--resume needs --state FILE");
    if (!opt.to.empty() || !opt.files.empty()) {
      fail(ExitCode::kUsage, "--resume takes the destinations from the state file; drop --to/--file");
    }
    run_resume(opt, global);
    return;
  }
  if (opt.to.empty()) fail(ExitCode::kUsage, "give at least one destination with --to CHANNEL.write");
  if (!opt.files.empty() && opt.files.size() != opt.to.size()) {
    fail(ExitCode::kUsage, "give one --file per --to (paired in order), or a single --to reading stdin");
  }
  if (opt.files.empty() && opt.to.size() > 1) {
    fail(ExitCode::kUsage, "several destinations need one --file each (--to A.write --file a --to B.write --file b)");
  }
  std::set<std::filesystem::path> seen;
  for (const auto& to : opt.to) {
    // A name that cannot be resolved (a link loop, say) is kept as given: opening it below
    // reports the problem as a channel file error.
    std::error_code ec;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(to, ec);
    if (!seen.insert(ec ? std::filesystem::path(to) : canonical).second) {
      fail(ExitCode::kUsage, to + " is given twice; each destination channel can appear once");
    }
  }
  if (!opt.state.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(opt.state, ec)) {
      fail(ExitCode::kUsage, "state file " + opt.state + " exists; continue it with --resume, or remove it");
    }
  }

  std::vector<Bytes> payloads;
  for (std::size_t i = 0; i < opt.to.size(); ++i) {
    payloads.push_back(load_payload(opt.files.empty() ? std::string("-") : opt.files[i], opt.framed));
  }
  std::vector<ChannelFile> destinations;
  for (const auto& to : opt.to) {
    destinations.push_back(ChannelFile::open(to, ChannelKind::kWrite, global.timeout.value_or(kWaitForever)));
  }

  Session session(global);
  for (ChannelFile& destination : destinations) start_at_free_box(session, destination);
  CopyState state;
  std::vector<Bytes> elements;
  // One destination per envelope request, carrying the encoder buffer between them, so no
  // request frame holds more than one payload and no box is wasted between destinations.
  for (std::size_t i = 0; i < destinations.size(); ++i) {
    std::vector<CourierDestination> one(1);
    one[0].payload = std::move(payloads[i]);
    one[0].write_cap = destinations[i].channel().capability;
    one[0].start_index = destinations[i].channel().index;
    bool first = i == 0, last = i + 1 == destinations.size();
    Result<CourierEnvelopes> envelopes = session.retrying([&] {
      return session.pigeonhole().courier_envelopes_from_multi_payload(one, first, last, state.buffer,
                                                                        session.local_timeout());
    });
    if (!envelopes) fail_status(envelopes.status(), "preparing the copy stream for " + destinations[i].path().string());
    if (envelopes->next_dest_indices.size() != 1) {
      fail(ExitCode::kProtocol, "the daemon's copy stream for " + destinations[i].path().string() +
                                    " has no next index; nothing was written");
    }
    for (Bytes& e : envelopes->envelopes) elements.push_back(std::move(e));
    state.buffer = last ? std::nullopt : envelopes->buffer;
    state.destinations.push_back({destinations[i].path().string(), destinations[i].channel().index,
                                  envelopes->next_dest_indices[0]});
    throw_if_interrupted();
  }
  TempChannel temp = new_temp_channel(session);
  state.temp_write_cap = temp.write_cap;
  state.temp_start_index = temp.start_index;
  state.temp_next_index = temp.start_index;
  state.total = elements.size();
  if (!opt.state.empty()) {
    save_copy_elements(opt.state, elements, state);
    save_copy_state(opt.state, state);
  }
  execute_or_say_how_to_resume(session, state, elements, destinations, opt, global);
  report(global, state);
}

}  // namespace

Command add_copy_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<CopyOptions>();
  CLI::App* sub = app.add_subcommand("copy", "Write a payload (up to 10 MiB) to one or more channels, atomically");
  sub->add_option("-t,--to", opt->to, "destination write channel (repeatable)")->type_name("CHANNEL");
  sub->add_option("-f,--file", opt->files, "payload for the --to in the same position (default: stdin)")
      ->type_name("FILE");
  sub->add_flag("--framed", opt->framed,
                "prefix pigeonhole-cp's file header {name,size} so pigeonhole-cp receive (or read --framed) gets a file");
  sub->add_option("--state", opt->state, "keep resumable progress in FILE (removed when done)")->type_name("FILE");
  sub->add_flag("--resume", opt->resume, "continue the copy recorded in --state FILE");
  sub->footer(R"(Examples:
  kpthin copy --to chat.write < report.pdf
  kpthin copy --to alice.write --file a.txt --to bob.write --file b.txt
  kpthin copy --state /tmp/c.state --to chat.write --file big.iso   # Ctrl-C, then:
  kpthin copy --resume --state /tmp/c.state
  kpthin copy --framed --to chat.write --file photo.jpg   # pigeonhole-cp receive gets photo.jpg)");
  return {sub, [opt, &global] { run_copy(*opt, global); }};
}

}  // namespace kpthin::cli
