// kpthin completion SHELL: prints a completion script for bash, zsh or fish, generated from the
// command-line definition (completion_model.hpp), so it always matches this kpthin.
#include "completion_model.hpp"
#include "exit_codes.hpp"
#include "global_options.hpp"
#include "output.hpp"

namespace kpthin::cli {

Command add_completion_command(CLI::App& app, const GlobalOptions&) {
  auto shell = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("completion", "Print a shell completion script (bash, zsh or fish)");
  sub->add_option("SHELL", *shell, "the shell to complete for")->type_name("bash|zsh|fish")->required();
  sub->footer(R"(Examples:
  source <(kpthin completion bash)                   # in ~/.bashrc
  kpthin completion zsh > ~/.zfunc/_kpthin           # a directory in $fpath, before compinit
  kpthin completion fish > ~/.config/fish/completions/kpthin.fish
cmake --install puts all three where the shells look for them.)");
  return {sub, [shell, &app] {
            CliSpec spec = describe_command_line(app);
            if (*shell == "bash") {
              write_stdout(bash_completion(spec));
            } else if (*shell == "zsh") {
              write_stdout(zsh_completion(spec));
            } else if (*shell == "fish") {
              write_stdout(fish_completion(spec));
            } else {
              fail(ExitCode::kUsage, "no completion for the shell '" + *shell + "'; choose bash, zsh or fish");
            }
          }};
}

}  // namespace kpthin::cli
