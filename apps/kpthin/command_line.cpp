#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>
#include <vector>

#include "command_line.hpp"
#include "duration.hpp"
#include "exit_codes.hpp"
#include "global_options.hpp"
#include "help_command.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "usage_error.hpp"

namespace kpthin::cli {
namespace {

constexpr const char* kMainFooter = R"(Examples:
  kpthin keypair chat                      # chat.write + chat.read channel files
  echo hello | kpthin write chat.write     # one box from stdin
  kpthin read --timeout 2m chat.read       # wait for the next box, print it raw
  seq 1 100 | kpthin write --split lines chat.write
  kpthin read --follow -d '\n' chat.read | grep something
  kpthin watch --until pki --timeout 60s   # readiness gate for CI

Exit codes: 0 ok, 1 other failure, 2 usage, 3 config, 4 daemon unreachable, 5 timeout,
6 box not found, 7 tombstone, 8 box already exists, 9 copy failed, 10 protocol error,
130 interrupted. See kpthin(1) and kpthin-<subcommand>(1).)";

void configure_logging(const GlobalOptions& global) {
  Verbosity v = global.quiet ? Verbosity::kQuiet
                : global.verbose >= 2 ? Verbosity::kDebug
                : global.verbose == 1 ? Verbosity::kVerbose
                                      : Verbosity::kNormal;
  set_verbosity(v);
  // libkpthin logs through spdlog's default logger, which writes to stdout unless replaced:
  // stdout carries results only.
  if (!spdlog::get("kpthin-library")) spdlog::set_default_logger(spdlog::stderr_logger_mt("kpthin-library"));
  spdlog::set_level(v == Verbosity::kDebug     ? spdlog::level::debug
                    : v == Verbosity::kVerbose ? spdlog::level::info
                    : v == Verbosity::kQuiet   ? spdlog::level::off
                                               : spdlog::level::warn);
  spdlog::set_pattern("%v");  // the library's messages already begin with "kpthin: "
}

// --json as given on a command line CLI11 refused (GlobalOptions is not filled in then).
bool json_requested(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "--json") return true;
  }
  return false;
}

int failed(ExitCode code, std::string_view message, bool json) {
  report_failure(static_cast<int>(code), exit_kind(code), message, json);
  return static_cast<int>(code);
}

// The subcommands, in the order help lists them. help and completion read the whole tree.
struct SubcommandEntry {
  std::string_view name;
  Command (*add)(CLI::App& app, const GlobalOptions& global);
  bool needs_whole_tree;
};
constexpr SubcommandEntry kSubcommands[] = {
    {"keypair", add_keypair_command, false},
    {"write", add_write_command, false},
    {"read", add_read_command, false},
    {"tombstone", add_tombstone_command, false},
    {"copy", add_copy_command, false},
    {"send", add_send_command, false},
    {"watch", add_watch_command, false},
    {"services", add_services_command, false},
    {"help", [](CLI::App& app, const GlobalOptions&) { return add_help_command(app); }, true},
    {"completion", add_completion_command, true},
};

// kpthin's command line as CLI11 sees it: the global options and the subcommands defined. Not
// movable (the subcommands keep pointers to `global`), hence built on the heap.
struct CommandLine {
  GlobalOptions global;
  std::string timeout_text;
  CLI::App app{"kpthin: a thin client for the Katzenpost mixnet daemon kpclientd: Pigeonhole channels\n"
               "(keypair, write, read, tombstone, copy), service messages (send), events (watch).",
               "kpthin"};
  std::vector<Command> commands;
};

// Defines the global options and the subcommand `only`, or every subcommand when `only` is empty.
std::unique_ptr<CommandLine> define_command_line(std::string_view only) {
  auto line = std::make_unique<CommandLine>();
  CLI::App& app = line->app;
  app.formatter(make_help_formatter());
  if (only.empty()) {
    app.set_version_flag("-V,--version", std::string("kpthin ") + KPTHIN_VERSION);
  } else {
    // Help and version only ever end a parse with an exception, after which the whole tree parses
    // again; without them here, -h/-V are unknown options, an error all the same. Removed before
    // the subcommand is added, the help flag is not copied into it either.
    app.set_help_flag();
  }
  app.require_subcommand(1);
  app.footer(kMainFooter);
  app.add_option("-c,--config", line->global.config,
                 "thinclient.toml to use (default: $KPTHIN_CONFIG, ./thinclient.toml, "
                 "$XDG_CONFIG_HOME/kpthin/thinclient.toml)")
      ->type_name("FILE");
  app.add_option("--timeout", line->timeout_text, "bound every wait, e.g. 500ms, 30s, 2m, 1h; a bare number is seconds (default: wait forever)")
      ->type_name("DURATION");
  app.add_flag("--json", line->global.json, "print one JSON object per result (binary as base64)");
  app.add_flag("-v,--verbose", line->global.verbose, "more messages on stderr (repeat for debug)");
  app.add_flag("-q,--quiet", line->global.quiet, "no messages on stderr except errors");
  for (const SubcommandEntry& entry : kSubcommands) {
    if (!only.empty() && entry.name != only) continue;
    line->commands.push_back(entry.add(app, line->global));
    line->commands.back().app->fallthrough();
  }
  return line;
}

// The subcommand a command line can be parsed with alone, or "" when it needs the whole tree.
// Defining all subcommands with all their options is most of a short process's start-up cost, and
// a run uses one. Alone gives the same parse as the whole tree when exactly one argument is a
// subcommand's name (the other names cannot be recognised where none is written) and that
// subcommand does not read its siblings (help, completion).
std::string_view sole_subcommand(int argc, char** argv) {
  const SubcommandEntry* found = nullptr;
  for (int i = 1; i < argc; ++i) {
    for (const SubcommandEntry& entry : kSubcommands) {
      if (entry.name != argv[i]) continue;
      if (found != nullptr || entry.needs_whole_tree) return {};
      found = &entry;
    }
  }
  return found == nullptr ? std::string_view() : found->name;
}

}  // namespace

int run_kpthin(int argc, char** argv) {
  std::unique_ptr<CommandLine> line = define_command_line(sole_subcommand(argc, argv));
  bool parsed = false;
  if (line->commands.size() == 1) {
    try {
      line->app.parse(argc, argv);
      parsed = true;
    } catch (const CLI::ParseError&) {
      // Help, version, a mistake: what kpthin says then may name or list other subcommands, so it
      // comes from the whole tree, parsing afresh.
      line = define_command_line({});
    }
  }
  CLI::App& app = line->app;
  GlobalOptions& global = line->global;
  const std::string& timeout_text = line->timeout_text;
  std::vector<Command>& commands = line->commands;

  if (!parsed) {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      std::vector<std::string> args(argv + 1, argv + argc);
      return failed(ExitCode::kUsage, explain_usage_error(app, args, e), json_requested(args));
    }
  }

  try {
    if (!timeout_text.empty()) {
      auto timeout = parse_duration(timeout_text);
      if (!timeout) {
        fail(ExitCode::kUsage, "--timeout " + timeout_text + " is not a duration; use e.g. 500ms, 30s, 2m, 1h (a bare number is seconds)");
      }
      global.timeout = *timeout;
    }
    set_timeout_for_messages(global.timeout);
    configure_logging(global);
    install_interrupt_handlers();
    for (Command& command : commands) {
      if (command.app->parsed()) {
        command.run();
        break;
      }
    }
    if (interrupted_before_done()) return static_cast<int>(ExitCode::kInterrupted);
    return 0;
  } catch (const CliError& e) {
    ExitCode code = interrupted_before_done() ? ExitCode::kInterrupted : e.code();
    // Like tail and git, a reader that went away (`| head`) is no error worth a message.
    if (code == ExitCode::kOutputClosed) {
      info(e.what());
      return static_cast<int>(code);
    }
    return failed(code, e.what(), global.json);
  } catch (const std::exception& e) {
    return failed(ExitCode::kOther, std::string("unexpected error: ") + e.what() + "; please report this",
                  global.json);
  }
}

}  // namespace kpthin::cli
