// Help as people look for it: every subcommand's --help also lists the global options its own
// examples use (-c, --timeout, --json, ...), and `kpthin help [SUBCOMMAND]` prints the same help
// as `kpthin [SUBCOMMAND] --help`.
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

#include "global_options.hpp"

namespace kpthin::cli {

// The formatter for kpthin's help. Set it on the main app before adding subcommands (they take
// their parent's formatter when created).
std::shared_ptr<CLI::Formatter> make_help_formatter();

// Declares `kpthin help [SUBCOMMAND]`: the help of kpthin or of SUBCOMMAND on stdout (exit 0); an
// unknown SUBCOMMAND is a usage error naming the nearest one. Add it after the other subcommands.
Command add_help_command(CLI::App& app);

}  // namespace kpthin::cli
