// SIGINT/SIGTERM handling. The handler only sets a flag; the long waits poll it (libkpthin's
// ResendOptions::interrupt points at it), cancel their operation at the daemon, and the command
// unwinds to main(), which closes the session and exits 130. A second signal exits at once.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>

namespace kpthin::cli {

// Installs the handlers (without SA_RESTART, so a blocking read of stdin returns EINTR) and
// ignores SIGPIPE so a closed stdout is an ordinary write error.
void install_interrupt_handlers();

// The flag long waits poll (ResendOptions::interrupt): set by a signal or by request_cancel().
const std::atomic<bool>& cancel_flag();
// Asks every in-flight operation to cancel itself at the daemon (used when one box of a
// pipeline failed and the others must stop).
void request_cancel();

// True once SIGINT or SIGTERM arrived.
bool interrupted();

// Declares the command's work done (e.g. the courier applied a copy): a signal that arrived, or
// arrives later, no longer turns the exit status into 130, because the user's request succeeded
// and saying otherwise would make them redo it. The command still reports its result. A second
// signal still exits at once.
void mark_work_done();

// True if a signal arrived and the command's work was not done by then (main() exits 130).
bool interrupted_before_done();

// Throws CliError(kInterrupted) if a signal arrived.
void throw_if_interrupted();

// read(2) of input that may be a terminal or a pipe: returns what read returned (0 at end of
// input, -1 with errno for an error other than EINTR), or throws CliError(kInterrupted) once a
// signal arrived. It waits in short poll(2) slices, so a signal that lands just before the read
// (when EINTR cannot report it) still stops it at the first Ctrl-C. After mark_work_done() a
// signal no longer stops it.
ssize_t read_unless_interrupted(int fd, void* buffer, std::size_t size);

// Blocks SIGINT/SIGTERM in the calling thread. Helper threads call this so the main thread is
// the one whose blocking system calls get interrupted (libkpthin's I/O thread does so itself).
void block_interrupts_in_this_thread();

// For tests: clears the flag.
void reset_interrupt_flag();

}  // namespace kpthin::cli
