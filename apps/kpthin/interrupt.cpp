#include "interrupt.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exit_codes.hpp"

namespace kpthin::cli {
namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<bool> g_cancel{false};
std::atomic<bool> g_work_done{false};

void on_signal(int) {
  g_cancel.store(true);
  if (g_interrupted.exchange(true)) {
    // Second Ctrl-C: the user insists; do not wait for the daemon any longer.
    static const char message[] = "kpthin: interrupted again, exiting without cleanup\n";
    ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    (void)ignored;
    ::_exit(130);
  }
}

sigset_t interrupt_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking reads must return EINTR
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

const std::atomic<bool>& cancel_flag() { return g_cancel; }
void request_cancel() { g_cancel.store(true); }
bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

void mark_work_done() { g_work_done.store(true); }

bool interrupted_before_done() { return interrupted() && !g_work_done.load(); }

void throw_if_interrupted() {
  if (interrupted()) fail(ExitCode::kInterrupted, "interrupted");
}

ssize_t read_unless_interrupted(int fd, void* buffer, std::size_t size) {
  for (;;) {
    if (interrupted_before_done()) fail(ExitCode::kInterrupted, "interrupted");
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 100);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    // poll errors (and POLLNVAL/POLLERR/POLLHUP) are left for read to report.
    ssize_t n = ::read(fd, buffer, size);
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

void block_interrupts_in_this_thread() {
  sigset_t set = interrupt_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void reset_interrupt_flag() {
  g_interrupted.store(false);
  g_cancel.store(false);
  g_work_done.store(false);
}

}  // namespace kpthin::cli
