// kpthin keypair: create a channel (two channel files), import one from pigeonhole-cp's genkey
// text, or export channel files as that text.
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "channel_file.hpp"
#include "exit_codes.hpp"
#include "genkey_text.hpp"
#include "global_options.hpp"
#include "output.hpp"
#include "session.hpp"

namespace kpthin::cli {
namespace {

struct KeypairOptions {
  std::string name;
  std::string seed_file;
  std::string import_from;
  bool print = false;
  bool no_files = false;
  bool do_export = false;
  bool force = false;
  bool old_short_force = false;  // -f, which meant --force before it meant --file everywhere
};

std::filesystem::path with_suffix(const std::string& name, const char* suffix) {
  return std::filesystem::path(name + suffix);
}

// A seed file holds 32 raw bytes, or 64 hex digits, or base64 of 32 bytes.
SecretBytes load_seed(const std::string& path) {
  std::string text = read_text_file(path, ExitCode::kUsage);
  Bytes seed;
  if (text.size() == kSeedSize) {
    seed.assign(text.begin(), text.end());
  } else {
    std::string trimmed = text;
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' || trimmed.back() == ' ')) {
      trimmed.pop_back();
    }
    if (!(from_hex(trimmed, seed) && seed.size() == kSeedSize) &&
        !(from_base64(trimmed, seed) && seed.size() == kSeedSize)) {
      wipe(text.data(), text.size());
      fail(ExitCode::kUsage, "seed file " + path + " must hold exactly 32 bytes (raw, 64 hex digits or base64)");
    }
    wipe(trimmed.data(), trimmed.size());
  }
  wipe(text.data(), text.size());
  return SecretBytes(std::move(seed));
}

void refuse_existing(const std::filesystem::path& path, bool force) {
  std::error_code ec;
  if (!force && std::filesystem::exists(path, ec)) {
    fail(ExitCode::kUsage, path.string() + " already exists; choose another NAME or pass --force");
  }
}

void report_created(const GlobalOptions& global, const std::filesystem::path* write_path,
                    const std::filesystem::path* read_path, const Bytes* read_cap, const Bytes& index) {
  if (global.json) {
    nlohmann::json out;
    if (write_path) out["write_channel"] = write_path->string();
    if (read_path) out["read_channel"] = read_path->string();
    if (read_cap) out["read_capability"] = to_base64(view(*read_cap));
    out["first_index"] = to_base64(view(index));
    write_json_line(out);
  }
  if (global.json) return;  // the object says it
  std::string what = "created";
  if (write_path) what += " " + write_path->string() + " (keep it secret: it can write)";
  if (write_path && read_path) what += " and";
  if (read_path) what += " " + read_path->string() + " (share it with readers)";
  note(what);
}

void run_keypair(const KeypairOptions& opt, const GlobalOptions& global) {
  if (opt.old_short_force) {
    fail(ExitCode::kUsage, "-f is short for --file in kpthin, not --force; write --force to replace existing channel files");
  }
  auto write_path = with_suffix(opt.name, ".write");
  auto read_path = with_suffix(opt.name, ".read");

  if (opt.do_export) {
    // NAME.write exports the writer's position (where `pigeonhole-cp send` continues), NAME.read
    // the reader's (where `pigeonhole-cp receive` continues). NAME alone exports the write file
    // if there is one: a sender given a reader's position, behind the channel, would lose its
    // messages into occupied boxes.
    std::error_code ec;
    std::filesystem::path write_file = write_path;
    std::filesystem::path read_file = read_path;
    if (opt.name.ends_with(".write")) {
      read_file.clear();
      write_file = opt.name;
    } else if (opt.name.ends_with(".read")) {
      write_file.clear();
      read_file = opt.name;
    }
    GenkeyText text;
    std::optional<Bytes> index;
    if (!read_file.empty() && (write_file.empty() || !std::filesystem::exists(write_file, ec)) &&
        std::filesystem::exists(read_file, ec)) {
      ChannelFile file = ChannelFile::open(read_file, ChannelKind::kRead);
      text.read_cap = Bytes(file.channel().capability.reveal().begin(), file.channel().capability.reveal().end());
      index = file.channel().index;
    }
    if (!write_file.empty() && std::filesystem::exists(write_file, ec)) {
      ChannelFile file = ChannelFile::open(write_file, ChannelKind::kWrite);
      text.write_cap = file.channel().capability;
      text.read_cap = file.channel().read_capability;
      index = file.channel().index;
      // Older write files lack the read capability: take it from NAME.read if that is there.
      if (!text.read_cap && !read_file.empty() && std::filesystem::exists(read_file, ec)) {
        ChannelFile reader = ChannelFile::open(read_file, ChannelKind::kRead);
        text.read_cap = Bytes(reader.channel().capability.reveal().begin(), reader.channel().capability.reveal().end());
      }
    }
    if (!text.write_cap && !text.read_cap) {
      std::string missing = write_file.empty()  ? read_file.string() + " does not exist"
                            : read_file.empty() ? write_file.string() + " does not exist"
                                                : "neither " + write_file.string() + " nor " + read_file.string() + " exists";
      fail(ExitCode::kConfig, missing + "; give NAME, NAME.write or NAME.read as made by `kpthin keypair NAME`");
    }
    text.index = index;
    if (global.json) {
      nlohmann::json out;
      if (text.read_cap) out["read_capability"] = to_base64(view(*text.read_cap));
      if (text.write_cap) out["write_capability"] = to_base64(text.write_cap->reveal());
      out["first_index"] = to_base64(view(*text.index));
      write_json_line(out);
    } else {
      write_stdout(format_genkey_text(text));
    }
    return;
  }

  if (!opt.import_from.empty()) {
    std::string source = opt.import_from == "-" ? "standard input" : opt.import_from;
    if (opt.import_from == "-") hint_if_reading_terminal(STDIN_FILENO, "pigeonhole-cp genkey text");
    std::string raw = read_text_file(opt.import_from == "-" ? "/dev/stdin" : opt.import_from, ExitCode::kUsage);
    GenkeyText text = parse_genkey_text(raw, source);
    wipe(raw.data(), raw.size());
    if (text.write_cap) refuse_existing(write_path, opt.force);
    if (text.read_cap) refuse_existing(read_path, opt.force);
    // The text's "First Index" may be a position (`--export` writes one there); the channel's
    // first index is the one its capability embeds.
    Channel write_channel{ChannelKind::kWrite, text.write_cap ? *text.write_cap : SecretBytes(), *text.index,
                          text.read_cap, std::nullopt};
    if (text.write_cap) write_channel.first_index = index_embedded_in(text.write_cap->reveal());
    Channel read_channel{ChannelKind::kRead, text.read_cap ? SecretBytes(view(*text.read_cap)) : SecretBytes(),
                         *text.index, std::nullopt, std::nullopt};
    if (text.read_cap) read_channel.first_index = index_embedded_in(view(*text.read_cap));
    std::vector<std::pair<std::filesystem::path, const Channel*>> files;
    if (text.write_cap) files.emplace_back(write_path, &write_channel);
    if (text.read_cap) files.emplace_back(read_path, &read_channel);
    create_channel_files(files, opt.force);
    report_created(global, text.write_cap ? &write_path : nullptr, text.read_cap ? &read_path : nullptr,
                   text.read_cap ? &*text.read_cap : nullptr, *text.index);
    return;
  }

  if (!opt.no_files) {
    refuse_existing(write_path, opt.force);
    refuse_existing(read_path, opt.force);
  }
  SecretBytes seed = opt.seed_file.empty() ? random_seed() : load_seed(opt.seed_file);
  Session session(global);
  Result<Keypair> keypair =
      session.retrying([&] { return session.pigeonhole().new_keypair(seed, session.local_timeout()); });
  if (!keypair) fail_status(keypair.status(), "creating a keypair");
  session.close();
  if (!opt.no_files) {
    Channel write_channel{ChannelKind::kWrite, keypair->write_cap, keypair->first_message_index, keypair->read_cap,
                          keypair->first_message_index};
    Channel read_channel{ChannelKind::kRead, SecretBytes(view(keypair->read_cap)), keypair->first_message_index,
                         std::nullopt, keypair->first_message_index};
    create_channel_files({{write_path, &write_channel}, {read_path, &read_channel}}, opt.force);
  }
  if (opt.print) {
    GenkeyText text{keypair->read_cap, keypair->write_cap, keypair->first_message_index};
    if (global.json) {
      nlohmann::json out;
      if (!opt.no_files) {
        out["write_channel"] = write_path.string();
        out["read_channel"] = read_path.string();
      }
      out["read_capability"] = to_base64(view(keypair->read_cap));
      out["write_capability"] = to_base64(keypair->write_cap.reveal());
      out["first_index"] = to_base64(view(keypair->first_message_index));
      write_json_line(out);
    } else {
      write_stdout(format_genkey_text(text));
    }
    if (opt.no_files || global.json) return;
    note("created " + write_path.string() + " (keep it secret: it can write) and " + read_path.string() +
         " (share it with readers)");
    return;
  }
  report_created(global, &write_path, &read_path, &keypair->read_cap, keypair->first_message_index);
}

}  // namespace

Command add_keypair_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<KeypairOptions>();
  CLI::App* sub = app.add_subcommand("keypair", "Create a channel: NAME.write (secret) and NAME.read channel files");
  sub->add_option("NAME", opt->name, "channel name; the files are NAME.write and NAME.read")->required();
  sub->add_option("--seed-file", opt->seed_file, "derive the keys from the 32-byte seed in FILE instead of a random one")
      ->type_name("FILE");
  sub->add_flag("--print", opt->print, "also print the capabilities as pigeonhole-cp genkey text");
  sub->add_flag("--no-files", opt->no_files, "with --print: print only, write no channel files")
      ->needs("--print");
  sub->add_option("--import", opt->import_from,
                  "create the files from pigeonhole-cp genkey text in FILE (- for stdin); needs no daemon")
      ->type_name("FILE");
  sub->add_flag("--export", opt->do_export, "print NAME.write (the writer's position) or NAME.read (the reader's) as pigeonhole-cp genkey text; NAME alone: NAME.write if it exists");
  sub->add_flag("--force", opt->force, "replace existing channel files");
  // Hidden: a script still passing -f gets the new spelling instead of "not expected".
  sub->add_flag("-f", opt->old_short_force)->group("");
  sub->get_option("--export")->excludes("--import")->excludes("--print")->excludes("--seed-file");
  sub->get_option("--import")->excludes("--print")->excludes("--seed-file");
  sub->footer(R"(Examples:
  kpthin keypair chat                           # chat.write and chat.read
  kpthin keypair --print --no-files tmp         # just print pigeonhole-cp style caps
  pigeonhole-cp genkey -c tc.toml | kpthin keypair --import - shared
  kpthin keypair --export chat.write > send.caps  # for pigeonhole-cp send
  kpthin keypair --export chat.read > recv.caps   # for pigeonhole-cp receive)");
  return {sub, [opt, &global] { run_keypair(*opt, global); }};
}

}  // namespace kpthin::cli
