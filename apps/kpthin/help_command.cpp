#include "help_command.hpp"

#include "exit_codes.hpp"
#include "nearest_name.hpp"
#include "output.hpp"
#include "usage_error.hpp"

namespace kpthin::cli {
namespace {

class HelpFormatter : public CLI::Formatter {
 public:
  // After a subcommand's own options (where its own subcommands would go, and kpthin's have
  // none), its parent's: they work after the subcommand's name too (fallthrough), and CLI11
  // alone would hide them there. make_groups is not virtual, hence this place.
  std::string make_subcommands(const CLI::App* app, CLI::AppFormatMode mode) const override {
    std::string out = CLI::Formatter::make_subcommands(app, mode);
    const CLI::App* parent = app->get_parent();
    if (parent == nullptr || mode == CLI::AppFormatMode::Sub) return out;
    std::vector<const CLI::Option*> globals = parent->get_options([parent](const CLI::Option* o) {
      return o->nonpositional() && !o->get_group().empty() && o != parent->get_help_ptr() &&
             o != parent->get_version_ptr();
    });
    if (!globals.empty()) out += make_group("Global options (before or after the subcommand)", false, globals);
    return out;
  }
};

}  // namespace

std::shared_ptr<CLI::Formatter> make_help_formatter() { return std::make_shared<HelpFormatter>(); }

Command add_help_command(CLI::App& app) {
  auto topic = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("help", "Show the help of kpthin or of a subcommand");
  sub->add_option("SUBCOMMAND", *topic, "the subcommand to explain (default: kpthin itself)");
  sub->footer("Examples:\n  kpthin help\n  kpthin help read     # the same as kpthin read --help");
  return {sub, [topic, &app] {
            if (topic->empty()) {
              write_stdout(app.get_formatter()->make_help(&app, "kpthin", CLI::AppFormatMode::Normal));
              return;
            }
            for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; })) {
              if (s->get_name() == *topic) {
                write_stdout(s->help("kpthin"));
                return;
              }
            }
            fail(ExitCode::kUsage, "no subcommand '" + *topic + "';" + did_you_mean(*topic, subcommand_names(app)) +
                                       " (see `kpthin help` for the list)");
          }};
}

}  // namespace kpthin::cli
