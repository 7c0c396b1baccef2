#include "output.hpp"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

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

// What is on the terminal's screen line now: the progress line (its width; 0 when none is
// drawn) and whether stdout's last bytes, on the same terminal, ended mid-line.
std::mutex g_screen_mutex;
std::size_t g_status_width = 0;
bool g_stdout_mid_line = false;

// True when stdout and stderr are the same terminal, so data and the progress line share lines.
bool stdout_shares_terminal() {
  static const bool shared = [] {
    struct stat out {}, err {};
    return ::isatty(STDOUT_FILENO) == 1 && ::isatty(STDERR_FILENO) == 1 && ::fstat(STDOUT_FILENO, &out) == 0 &&
           ::fstat(STDERR_FILENO, &err) == 0 && out.st_rdev == err.st_rdev;
  }();
  return shared;
}

// No escape sequences for a terminal that may not know them (TERM unset or dumb, as git
// decides) or for a user who asked for plain output (NO_COLOR, https://no-color.org).
bool plain_terminal() {
  const char* term = std::getenv("TERM");
  const char* no_color = std::getenv("NO_COLOR");
  return term == nullptr || *term == '\0' || std::strcmp(term, "dumb") == 0 ||
         (no_color != nullptr && *no_color != '\0');
}

// Erases the progress line; the caller holds g_screen_mutex.
void erase_status_locked() {
  if (g_status_width == 0) return;
  if (plain_terminal()) {
    write_stderr("\r" + std::string(g_status_width, ' ') + "\r");
  } else {
    write_stderr("\r\033[K");
  }
  g_status_width = 0;
}

// Clears the progress line and ends a line stdout left open; the caller holds g_screen_mutex.
void begin_stderr_line_locked() {
  erase_status_locked();
  if (g_stdout_mid_line) {
    write_stderr("\n");
    g_stdout_mid_line = false;
  }
}

}  // namespace

void write_stdout(ByteView bytes) {
  std::unique_lock<std::mutex> screen(g_screen_mutex, std::defer_lock);
  if (stdout_shares_terminal() && !bytes.empty()) {
    screen.lock();
    erase_status_locked();
    g_stdout_mid_line = bytes.back() != '\n';
  }
  const std::uint8_t* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      fail(err == EPIPE ? ExitCode::kOutputClosed : ExitCode::kOther,
           std::string("cannot write to standard output: ") + std::strerror(err) +
               "; nothing was consumed past the last complete message");
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

void fail_if_stdout_gone() {
  pollfd p{STDOUT_FILENO, 0, 0};
  if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0) {
    fail(ExitCode::kOutputClosed, std::string("cannot write to standard output: ") + std::strerror(EPIPE) +
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
  {
    std::lock_guard<std::mutex> screen(g_screen_mutex);
    begin_stderr_line_locked();
    write_stderr("kpthin: " + std::string(message) + "\n");
  }
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
  std::lock_guard<std::mutex> screen(g_screen_mutex);
  begin_stderr_line_locked();
  write_stderr("kpthin: " + std::string(message) + "\n");
}

void info(std::string_view message) {
  if (g_verbosity < Verbosity::kVerbose) return;
  std::lock_guard<std::mutex> screen(g_screen_mutex);
  begin_stderr_line_locked();
  write_stderr("kpthin: " + std::string(message) + "\n");
}

void hint_if_reading_terminal(int fd, std::string_view what) {
  if (::isatty(fd) != 1) return;
  note("reading " + std::string(what) + " from the terminal; end it with Ctrl-D at the start of a line, or Ctrl-C to cancel");
}

void draw_status_line(std::string_view text) {
  std::lock_guard<std::mutex> screen(g_screen_mutex);
  if (g_stdout_mid_line) return;  // "\r" would go back over the data on this line
  if (plain_terminal()) {
    std::string line = "\r" + std::string(text);
    if (text.size() < g_status_width) line += std::string(g_status_width - text.size(), ' ');
    write_stderr(line);
    g_status_width = std::max({text.size(), g_status_width, std::size_t{1}});
  } else {
    write_stderr("\r\033[K" + std::string(text));
    g_status_width = std::max(text.size(), std::size_t{1});
  }
}

void clear_status_line() {
  std::lock_guard<std::mutex> screen(g_screen_mutex);
  erase_status_locked();
}

}  // namespace kpthin::cli
