// Options every subcommand shares, and the entry points of the subcommands (git's builtin/
// layout: one file per subcommand, each exporting one add_<name>_command function that declares
// its options and runs it).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "global_options_fwd.hpp"

namespace kpthin::cli {

// A declared subcommand and what runs it. Commands run after the whole command line is parsed
// (so global options given after the subcommand name are already in GlobalOptions); they report
// failure by throwing CliError.
struct Command {
  CLI::App* app = nullptr;
  std::function<void()> run;
};

Command add_keypair_command(CLI::App& app, const GlobalOptions& global);
Command add_write_command(CLI::App& app, const GlobalOptions& global);
Command add_read_command(CLI::App& app, const GlobalOptions& global);
Command add_tombstone_command(CLI::App& app, const GlobalOptions& global);
Command add_copy_command(CLI::App& app, const GlobalOptions& global);
Command add_send_command(CLI::App& app, const GlobalOptions& global);
Command add_watch_command(CLI::App& app, const GlobalOptions& global);
Command add_services_command(CLI::App& app, const GlobalOptions& global);
// Generated from `app`'s definition at run time, so add it last.
Command add_completion_command(CLI::App& app, const GlobalOptions& global);

}  // namespace kpthin::cli
