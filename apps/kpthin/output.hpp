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
// reason on failure (closed pipe, full disk).
void write_stdout(ByteView bytes);
void write_stdout(std::string_view text);
// Throws the same CliError as a failed write_stdout once nobody reads standard output any more
// (the read end of its pipe is closed), so a waiting command stops without writing first.
void fail_if_stdout_gone();

// One JSON object and a newline on stdout.
void write_json_line(const nlohmann::json& object);

// The one report of a failure, made by main() only: "kpthin: <message>" on stderr and, with
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

}  // namespace kpthin::cli
