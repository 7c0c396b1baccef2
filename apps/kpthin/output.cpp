#include "output.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exit_codes.hpp"

namespace kpthin::cli {
namespace {

Verbosity g_verbosity = Verbosity::kNormal;

void write_stderr(std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

void write_stdout(ByteView bytes) {
  const std::uint8_t* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      fail(ExitCode::kOther, std::string("cannot write to standard output: ") + std::strerror(err) +
                                 "; nothing was consumed past the last complete message");
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

void fail_if_stdout_gone() {
  pollfd p{STDOUT_FILENO, 0, 0};
  if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0) {
    fail(ExitCode::kOther, std::string("cannot write to standard output: ") + std::strerror(EPIPE) +
                               "; nothing was consumed past the last complete message");
  }
}

void write_stdout(std::string_view text) {
  write_stdout(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void write_json_line(const nlohmann::json& object) {
  write_stdout(object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void report_failure(int code, std::string_view kind, std::string_view message, bool json) {
  write_stderr("kpthin: " + std::string(message) + "\n");
  if (!json) return;
  try {
    write_json_line({{"error", {{"code", code}, {"kind", kind}, {"message", message}}}});
  } catch (const CliError&) {
    // Nobody reads stdout any more; stderr already has the reason.
  }
}

void set_verbosity(Verbosity verbosity) { g_verbosity = verbosity; }
Verbosity verbosity() { return g_verbosity; }

void note(std::string_view message) {
  if (g_verbosity == Verbosity::kQuiet) return;
  write_stderr("kpthin: " + std::string(message) + "\n");
}

void info(std::string_view message) {
  if (g_verbosity < Verbosity::kVerbose) return;
  write_stderr("kpthin: " + std::string(message) + "\n");
}

}  // namespace kpthin::cli
