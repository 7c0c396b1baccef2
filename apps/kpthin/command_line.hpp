// kpthin's command line: the global options, the subcommands, and what runs them.
#pragma once

namespace kpthin::cli {

// Runs kpthin with argv; returns the exit code. main() is just this.
int run_kpthin(int argc, char** argv);

}  // namespace kpthin::cli
