// kpthin: the command-line suite. Everything lives in the kpthin_cli library; see
// command_line.cpp for the global options and one file per subcommand.
#include "command_line.hpp"

int main(int argc, char** argv) { return kpthin::cli::run_kpthin(argc, argv); }
