#include "completion_model.hpp"

#include <algorithm>
#include <cctype>

#include <CLI/CLI.hpp>

namespace kpthin::cli {
namespace {

bool all_lower(const std::string& word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) {
    return std::islower(c) || std::isdigit(c) || c == '-' || c == '_';
  });
}

// The type name CLI11 shows, without the validators it appends after ':'.
std::string bare_type_name(const CLI::Option& option) {
  std::string name = option.get_type_name();
  return name.substr(0, name.find(':'));
}

void classify(const CLI::Option& option, ArgumentSpec& spec) {
  if (!option.get_positional() && option.get_items_expected_max() == 0) {
    spec.value = ValueKind::kFlag;
    return;
  }
  const std::string type = bare_type_name(option);
  if (type.find('|') != std::string::npos) {
    for (std::size_t start = 0; start <= type.size();) {
      std::size_t end = std::min(type.find('|', start), type.size());
      std::string word = type.substr(start, end - start);
      if (all_lower(word)) spec.words.push_back(word);
      start = end + 1;
    }
    spec.value = spec.words.empty() ? ValueKind::kText : ValueKind::kWords;
  } else if (type == "FILE") {
    spec.value = ValueKind::kFile;
  } else if (type == "DIR") {
    spec.value = ValueKind::kDirectory;
  } else if (type == "DURATION") {
    spec.value = ValueKind::kDuration;
  } else if (type == "CHANNEL" || (option.get_positional() && option.get_name() == "CHANNEL")) {
    const std::string& d = option.get_description();
    bool read = d.find("NAME.read") != std::string::npos || d.find("read channel") != std::string::npos;
    spec.value = read ? ValueKind::kReadChannel : ValueKind::kWriteChannel;
  } else {
    spec.value = ValueKind::kText;
  }
}

ArgumentSpec describe(const CLI::Option& option) {
  ArgumentSpec spec;
  if (option.get_positional()) {
    spec.names.push_back(option.get_name());
  } else {
    for (const std::string& s : option.get_snames()) spec.names.push_back("-" + s);
    for (const std::string& l : option.get_lnames()) spec.names.push_back("--" + l);
  }
  spec.description = option.get_description();
  classify(option, spec);
  spec.repeatable = option.get_items_expected_max() > 1 ||
                    option.get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
  return spec;
}

void describe_options(CLI::App& app, std::vector<ArgumentSpec>& options, std::vector<ArgumentSpec>* positionals) {
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    if (option->get_positional()) {
      if (positionals) positionals->push_back(describe(*option));
      continue;
    }
    // -h/--help belongs to every command; it is completed once, with the global options.
    if (positionals && option == app.get_help_ptr()) continue;
    options.push_back(describe(*option));
  }
}

}  // namespace

CliSpec describe_command_line(CLI::App& root) {
  CliSpec spec;
  spec.program = root.get_name();
  describe_options(root, spec.options, nullptr);
  for (CLI::App* sub : root.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_group().empty()) continue;  // hidden
    CommandSpec command;
    command.name = sub->get_name();
    command.description = sub->get_description();
    describe_options(*sub, command.options, &command.positionals);
    spec.commands.push_back(std::move(command));
  }
  // A positional named SUBCOMMAND (kpthin help SUBCOMMAND) takes the subcommands' names.
  std::vector<std::string> names;
  for (const CommandSpec& c : spec.commands) names.push_back(c.name);
  for (CommandSpec& c : spec.commands) {
    for (ArgumentSpec& p : c.positionals) {
      if (p.names.front() == "SUBCOMMAND") {
        p.value = ValueKind::kWords;
        p.words = names;
      }
    }
  }
  return spec;
}

std::vector<std::string> names_taking_values(const std::vector<ArgumentSpec>& options) {
  std::vector<std::string> names;
  for (const ArgumentSpec& option : options) {
    if (option.value != ValueKind::kFlag) names.insert(names.end(), option.names.begin(), option.names.end());
  }
  return names;
}

const std::vector<std::string>& example_durations() {
  static const std::vector<std::string> durations = {"500ms", "5s", "30s", "2m", "10m"};
  return durations;
}

}  // namespace kpthin::cli
