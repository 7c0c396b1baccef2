// What was wrong with a command line CLI11 refused, in the user's words: an unknown subcommand or
// option is named as such, with the nearest known name ("did you mean read?"), instead of CLI11's
// "A subcommand is required" for every kind of mistake.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace kpthin::cli {

// The one-line message (without the "kpthin: " prefix) for `args` (argv without the program
// name), which `app` refused with `error`. It ends by pointing at the --help of the subcommand
// concerned. Falls back to CLI11's own text for mistakes it does not recognise (a missing
// argument, a value of the wrong type, ...).
std::string explain_usage_error(CLI::App& app, const std::vector<std::string>& args, const CLI::ParseError& error);

// The subcommand names of `app` (in definition order), for messages and suggestions.
std::vector<std::string> subcommand_names(CLI::App& app);

}  // namespace kpthin::cli
