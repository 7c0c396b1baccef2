// What shell completion needs to know about kpthin's command line (subcommands, options, what
// each value is), read from the CLI11 definition itself, so the generated completion scripts
// cannot drift from the program (`kpthin completion bash|zsh|fish`).
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace kpthin::cli {

// What completes an option's value or a positional argument.
enum class ValueKind {
  kFlag,          // an option without a value
  kText,          // anything: nothing to offer (a count, a message)
  kFile,          // type name FILE
  kDirectory,     // type name DIR
  kDuration,      // type name DURATION: a few typical durations
  kWords,         // type name "a|b|c": its lower-case alternatives; a positional SUBCOMMAND: the subcommands
  kReadChannel,   // a channel file whose description says NAME.read / read channel
  kWriteChannel,  // any other channel file (type name or positional name CHANNEL)
};

struct ArgumentSpec {
  std::vector<std::string> names;  // an option's "-c", "--config"; a positional's name ("CHANNEL")
  std::string description;
  ValueKind value = ValueKind::kFlag;
  std::vector<std::string> words;  // kWords: the choices
  bool repeatable = false;         // may be given more than once (-v, copy --to)
};

struct CommandSpec {
  std::string name;
  std::string description;
  std::vector<ArgumentSpec> options;      // without -h/--help (added to every command by CLI11)
  std::vector<ArgumentSpec> positionals;  // in order
};

struct CliSpec {
  std::string program;
  std::vector<ArgumentSpec> options;  // global options, accepted before and after the subcommand
  std::vector<CommandSpec> commands;
};

// Reads the whole definition of `root` (its options and every subcommand's). Hidden options (no
// group) are left out; help and version flags are kept as they are.
CliSpec describe_command_line(CLI::App& root);

// The options of `options` that take a value, every name of each ("-c", "--config", ...).
std::vector<std::string> names_taking_values(const std::vector<ArgumentSpec>& options);

// The value kinds' shell-neutral parts: typical durations offered for a DURATION.
const std::vector<std::string>& example_durations();

// The completion scripts. Each completes subcommands, every option (global options also after
// the subcommand) and the values the definition describes.
std::string bash_completion(const CliSpec& spec);
std::string zsh_completion(const CliSpec& spec);
std::string fish_completion(const CliSpec& spec);

}  // namespace kpthin::cli
