#include "exit_codes.hpp"

#include <cerrno>

#include "duration.hpp"
#include "kpthin/errors.hpp"
#include "output.hpp"

namespace kpthin::cli {

void fail(ExitCode code, const std::string& message) { throw CliError(code, message); }

ExitCode exit_code_for(const Status& status) {
  const std::error_code& ec = status.code();
  if (!ec) return ExitCode::kOk;
  if (ec.category() == replica_category()) {
    switch (static_cast<replica_errc>(ec.value())) {
      case replica_errc::box_id_not_found: return ExitCode::kBoxNotFound;
      case replica_errc::tombstone: return ExitCode::kTombstone;
      case replica_errc::box_already_exists: return ExitCode::kBoxAlreadyExists;
      default: return ExitCode::kProtocol;
    }
  }
  if (ec.category() == thin_category()) {
    switch (static_cast<thin_errc>(ec.value())) {
      case thin_errc::connection_lost: return ExitCode::kDaemonUnreachable;
      case thin_errc::timeout: return ExitCode::kTimeout;
      case thin_errc::copy_command_failed: return ExitCode::kCopyFailed;
      case thin_errc::payload_too_large: return ExitCode::kUsage;
      default: return ExitCode::kProtocol;
    }
  }
  if (ec.category() == local_category()) {
    switch (static_cast<local_errc>(ec.value())) {
      case local_errc::timeout: return ExitCode::kTimeout;
      case local_errc::cancelled: return ExitCode::kInterrupted;
      case local_errc::disconnected:
      case local_errc::closed:
      case local_errc::dial_failed: return ExitCode::kDaemonUnreachable;
      case local_errc::config_invalid: return ExitCode::kConfig;
      case local_errc::malformed_frame:
      case local_errc::malformed_message:
      case local_errc::unexpected_message: return ExitCode::kProtocol;
      case local_errc::too_large: return ExitCode::kUsage;
      default: return ExitCode::kOther;
    }
  }
  // System errors come from the socket: refused, reset, missing path.
  if (ec.category() == std::system_category() || ec.category() == std::generic_category()) {
    switch (ec.value()) {
      case ECONNREFUSED:
      case ECONNRESET:
      case ENOENT:
      case EPIPE:
      case ENOTCONN:
      case ETIMEDOUT: return ExitCode::kDaemonUnreachable;
      default: return ExitCode::kOther;
    }
  }
  // Boost.Asio's own categories (misc, netdb, addrinfo) also only arise when dialing.
  return ExitCode::kDaemonUnreachable;
}

std::string_view exit_kind(ExitCode code) {
  switch (code) {
    case ExitCode::kOk: return "ok";
    case ExitCode::kOther: return "other";
    case ExitCode::kUsage: return "usage";
    case ExitCode::kConfig: return "config";
    case ExitCode::kDaemonUnreachable: return "daemon_unreachable";
    case ExitCode::kTimeout: return "timeout";
    case ExitCode::kBoxNotFound: return "box_not_found";
    case ExitCode::kTombstone: return "tombstone";
    case ExitCode::kBoxAlreadyExists: return "box_already_exists";
    case ExitCode::kCopyFailed: return "copy_failed";
    case ExitCode::kProtocol: return "protocol";
    case ExitCode::kInterrupted: return "interrupted";
    case ExitCode::kOutputClosed: return "output_closed";
  }
  return "other";
}

std::string_view hint_for(ExitCode code) {
  switch (code) {
    case ExitCode::kConfig: return "fix the file named above, or pass another with -c FILE";
    case ExitCode::kDaemonUnreachable:
      return "check that kpclientd is running and that [Dial] in thinclient.toml points at it";
    case ExitCode::kTimeout: return "retry later or raise --timeout";
    case ExitCode::kBoxNotFound: return "the box has not been written yet; retry later or drop --no-wait";
    case ExitCode::kProtocol: return "the daemon refused the request; run with -v for details";
    default: return {};
  }
}

namespace {
std::function<std::string()> g_failure_cause;
std::optional<std::chrono::milliseconds> g_timeout;
}  // namespace

// What went wrong, in words a user of kpthin knows: the library's text names the protocol
// request that failed ("start_resending_encrypted_message interrupted; ..."), which is detail.
std::string user_reason(const Status& status) {
  const std::error_code& ec = status.code();
  if (ec == make_error_code(local_errc::cancelled)) return "interrupted";
  if (ec == make_error_code(local_errc::timeout) || ec == make_error_code(thin_errc::timeout)) {
    return g_timeout ? "no answer within " + format_duration(*g_timeout) + " (--timeout)" : "no answer in time";
  }
  // The daemon's or a replica's reason, without the request it answered.
  if (ec.category() == thin_category() || ec.category() == replica_category()) return ec.message();
  // Local failures (config, dialing, malformed input) carry context the user needs: which file,
  // which socket, which field.
  return status.message();
}

void set_failure_cause(std::function<std::string()> cause) { g_failure_cause = std::move(cause); }

void set_timeout_for_messages(std::optional<std::chrono::milliseconds> timeout) { g_timeout = timeout; }

void fail_status(const Status& status, std::string_view doing) {
  ExitCode code = exit_code_for(status);
  std::string reason = user_reason(status);
  if (reason != status.message()) info(std::string(doing) + ": " + status.message() + " (detail of the failure below)");
  std::string message(doing);
  message += ": ";
  message += reason;
  if ((code == ExitCode::kProtocol || code == ExitCode::kTimeout) && g_failure_cause) {
    if (std::string cause = g_failure_cause(); !cause.empty()) message += " (" + cause + ")";
  }
  std::string_view hint = hint_for(code);
  if (!hint.empty()) {
    message += "; ";
    message += hint;
  }
  throw CliError(code, message);
}

}  // namespace kpthin::cli
