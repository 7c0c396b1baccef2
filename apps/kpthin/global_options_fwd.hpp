// The options every subcommand shares, without CLI11: code that only reads them (a session, the
// box pipeline) includes this, and so constructs none of the validator objects every translation
// unit including CLI11 builds and destroys in each kpthin process (CLI11 2.1 defines them per
// unit, ~7k instructions each).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace kpthin::cli {

struct GlobalOptions {
  std::string config;                              // -c/--config; empty = fallback chain
  std::optional<std::chrono::milliseconds> timeout;  // --timeout; unset = wait as long as it takes
  bool json = false;                               // --json
  int verbose = 0;                                 // -v count
  bool quiet = false;                              // -q
};

}  // namespace kpthin::cli
