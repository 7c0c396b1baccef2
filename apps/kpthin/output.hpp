// stdout carries results only; stderr carries messages. These helpers write results either raw
// (message bytes unmodified) or as one JSON object per line (--json), and messages according to
// -q/-v.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kpthin/bytes.hpp"

namespace kpthin::cli {

// Writes every byte to stdout with write(2), so when it returns the bytes are with the kernel
// (that is what "delivered" means for read positions). Throws CliError(kOther) naming the
// reason on failure: kOutputClosed when the reader of a pipe has gone, kOther otherwise (e.g. a
// full disk).
void write_stdout(ByteView bytes);
void write_stdout(std::string_view text);
// Throws the same CliError as a failed write_stdout once nobody reads standard output any more
// (the read end of its pipe is closed), so a waiting command stops without writing first.
void fail_if_stdout_gone();

// One JSON object and a newline on stdout.
void write_json_line(const nlohmann::json& object);

// The one report of a failure, made by main() only: "kpthin: <message>" on stderr (on a line of
// its own: the progress line erased, a line stdout left open ended) and, with
// --json, one {"error": {"code", "kind", "message"}} object on stdout so a script reading stdout
// sees why (left out when stdout is gone).
void report_failure(int code, std::string_view kind, std::string_view message, bool json);

enum class Verbosity { kQuiet = -1, kNormal = 0, kVerbose = 1, kDebug = 2 };
void set_verbosity(Verbosity verbosity);
Verbosity verbosity();

// A message on stderr ("kpthin: ..."), shown unless -q.
void note(std::string_view message);
// Shown only with -v.
void info(std::string_view message);

// Before a command reads `what` (e.g. "the message") from `fd`: when that is a terminal, says so
// on stderr (unless -q), with how to end the input, so a forgotten pipe does not look like a hang.
void hint_if_reading_terminal(int fd, std::string_view what);

// The progress line on a terminal stderr (one at a time; see Progress). Data and messages must
// never share a screen line with it: write_stdout() and note()/info() clear it first, and it is
// not drawn while a message written to the same terminal's stdout has not ended its line (it
// would erase those bytes). Draws with "\r\e[K", or, when TERM is unset or dumb or NO_COLOR is
// set, with "\r" and spaces only.
void draw_status_line(std::string_view text);
void clear_status_line();

}  // namespace kpthin::cli
