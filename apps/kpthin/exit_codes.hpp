// The stable exit codes of kpthin (listed in kpthin(1)) and the one exception type every part of
// the CLI uses to stop with one of them.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "kpthin/status.hpp"

namespace kpthin::cli {

enum class ExitCode : int {
  kOk = 0,
  kOther = 1,
  kUsage = 2,
  kConfig = 3,
  kDaemonUnreachable = 4,
  kTimeout = 5,
  kBoxNotFound = 6,
  kTombstone = 7,
  kBoxAlreadyExists = 8,
  kCopyFailed = 9,
  kProtocol = 10,
  kInterrupted = 130,
  // Standard output's reader went away (`kpthin read --follow | head`): 128 + SIGPIPE, the status
  // tail and git end with there; main() prints nothing (-v: the reason).
  kOutputClosed = 141,
};

// Thrown to end the command: main() prints "kpthin: <message>" on stderr and exits with code().
// The message names what was wrong and what to do about it, on one line.
class CliError : public std::runtime_error {
 public:
  CliError(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

[[noreturn]] void fail(ExitCode code, const std::string& message);

// The exit code for a failed libkpthin Status (tombstone -> 7, box-not-found -> 6, timeout -> 5,
// dial/disconnect -> 4, config -> 3, daemon error codes -> 10, ...).
ExitCode exit_code_for(const Status& status);

// A short stable name for each exit code ("usage", "timeout", "box_not_found", ...): the "kind"
// of the --json error object, documented in kpthin(1) next to the code.
std::string_view exit_kind(ExitCode code);

// A hint for what to do next, for the codes where there is a useful one ("" otherwise).
std::string_view hint_for(ExitCode code);

// The failure in words a kpthin user knows (no protocol request names); the library's full text
// is for -v.
std::string user_reason(const Status& status);

// Throws CliError for a failed status: "<doing>: <reason> (<cause>); <hint>". The reason is in
// the user's words ("interrupted", "no answer within 2s", the daemon's or replica's reason); the
// library's own text, which names protocol messages, is shown before it with -v.
[[noreturn]] void fail_status(const Status& status, std::string_view doing);

// The --timeout given, so a timeout can say how long was waited. nullopt: none given.
void set_timeout_for_messages(std::optional<std::chrono::milliseconds> timeout);

// A known state that explains daemon refusals and timeouts (kpclientd has no mixnet connection),
// asked at failure time; returns "" when there is none. nullptr removes it.
void set_failure_cause(std::function<std::string()> cause);

}  // namespace kpthin::cli
