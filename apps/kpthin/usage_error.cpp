#include "usage_error.hpp"

#include "nearest_name.hpp"

namespace kpthin::cli {
namespace {

// An option name as typed ("--folow", "-X"), without any "=value".
std::string option_name(const std::string& token) {
  if (token.rfind("--", 0) == 0) return token.substr(0, token.find('='));
  return token.substr(0, 2);
}

CLI::App* find_subcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; })) {
    if (s->check_name(name)) return s;
  }
  return nullptr;
}

// Whether the option takes a value (flags such as --json, -v take none).
bool takes_value(const CLI::Option* o) { return o->get_expected_max() > 0 && o->get_type_size_max() > 0; }

const CLI::Option* find_option(CLI::App* sub, CLI::App& app, const std::string& name) {
  if (sub != nullptr) {
    if (const CLI::Option* o = sub->get_option_no_throw(name); o != nullptr && o->nonpositional()) return o;
  }
  const CLI::Option* o = app.get_option_no_throw(name);
  return o != nullptr && o->nonpositional() ? o : nullptr;
}

// The long option names (without dashes) a user could have meant in this place.
std::vector<std::string> long_names(CLI::App* sub, CLI::App& app) {
  std::vector<std::string> names;
  for (CLI::App* a : {sub, &app}) {
    if (a == nullptr) continue;
    for (const CLI::Option* o : a->get_options()) {
      if (!o->nonpositional()) continue;
      for (const std::string& l : o->get_lnames()) names.push_back(l);
    }
  }
  return names;
}

std::string help_pointer(CLI::App* sub) {
  return sub == nullptr ? "see `kpthin --help`" : "see `kpthin " + sub->get_name() + " --help`";
}

std::string unknown_option(const std::string& name, CLI::App* sub, CLI::App& app) {
  std::string where = sub == nullptr ? "" : " for `kpthin " + sub->get_name() + "`";
  std::string message = "unknown option " + name + where + ";";
  if (name.rfind("--", 0) == 0) {
    std::string suggestion = did_you_mean(name.substr(2), long_names(sub, app), "--");
    if (!suggestion.empty()) return message + suggestion + " (" + help_pointer(sub) + ")";
  }
  if (sub == nullptr) {
    // An option of a subcommand given before the subcommand's name.
    for (const std::string& s : subcommand_names(app)) {
      CLI::App* owner = find_subcommand(app, s);
      if (const CLI::Option* o = owner->get_option_no_throw(name); o != nullptr && o->nonpositional()) {
        return message + " " + name + " is an option of `kpthin " + s + "`: put it after the subcommand (kpthin " +
               s + " " + name + " ...)";
      }
    }
  }
  return message + " " + help_pointer(sub);
}

}  // namespace

std::vector<std::string> subcommand_names(CLI::App& app) {
  std::vector<std::string> names;
  for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(s->get_name());
  return names;
}

std::string explain_usage_error(CLI::App& app, const std::vector<std::string>& args, const CLI::ParseError& error) {
  CLI::App* sub = nullptr;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& token = args[i];
    if (token == "--") break;  // the rest are operands
    if (token.size() > 1 && token[0] == '-') {
      if (token.rfind("--", 0) == 0) {
        const std::string name = option_name(token);
        const CLI::Option* o = find_option(sub, app, name);
        if (o == nullptr) return unknown_option(name, sub, app);
        if (takes_value(o) && token.find('=') == std::string::npos) ++i;  // its value
        continue;
      }
      // A cluster of short options (-vv, -n5, -c FILE): each letter until one takes a value.
      for (std::size_t k = 1; k < token.size(); ++k) {
        const std::string name = std::string("-") + token[k];
        const CLI::Option* o = find_option(sub, app, name);
        if (o == nullptr) return unknown_option(name, sub, app);
        if (takes_value(o)) {
          if (k + 1 == token.size()) ++i;  // the value is the next argument
          break;
        }
      }
      continue;
    }
    if (sub != nullptr) continue;  // an operand of the subcommand
    sub = find_subcommand(app, token);
    if (sub == nullptr) {
      std::string suggestion = did_you_mean(token, subcommand_names(app));
      return "unknown subcommand '" + token + "';" + suggestion + " (see `kpthin help` for the list)";
    }
  }
  if (sub == nullptr) {
    std::string list;
    for (const std::string& s : subcommand_names(app)) list += (list.empty() ? "" : ", ") + s;
    return "no subcommand given; use one of " + list + " (see `kpthin help`)";
  }
  return std::string(error.what()) + "; " + help_pointer(sub);
}

}  // namespace kpthin::cli
