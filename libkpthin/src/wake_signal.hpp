// A condition variable for one waiting caller per request, without the extra system call a
// std::condition_variable costs on every wake-up (glibc marks the mutex contended when a waiter
// takes it back, so its next unlock always enters the kernel). Internal; not installed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>
#else
#include <condition_variable>
#endif

namespace kpthin::detail {

// Used like std::condition_variable with a std::mutex: the waiter checks its condition under
// the lock and calls wait/wait_until, which release the lock while asleep and take it back
// before returning (wake-ups may be spurious); the notifier changes the condition under the same
// lock and calls notify_all, with or without holding it. A notify_all without sleepers costs no
// system call.
class WakeSignal {
 public:
  using Clock = std::chrono::steady_clock;

#if defined(__linux__)
  void notify_all() {
    sequence_.fetch_add(1);
    if (sleepers_.load() != 0) futex(FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
  }

  void wait(std::unique_lock<std::mutex>& lock) { sleep(lock, nullptr); }

  void wait_until(std::unique_lock<std::mutex>& lock, Clock::time_point deadline) {
    // steady_clock is CLOCK_MONOTONIC, the clock of FUTEX_WAIT_BITSET's absolute timeout.
    const auto since_epoch = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch());
    timespec at{};
    at.tv_sec = static_cast<time_t>(since_epoch.count() / 1'000'000'000);
    at.tv_nsec = static_cast<long>(since_epoch.count() % 1'000'000'000);
    sleep(lock, &at);
  }

 private:
  // The sequence number is read while the lock is held, so a notify_all after the lock is
  // released changes it and the futex wait returns at once instead of missing the wake-up; a
  // notifier that saw no sleeper ran before the sleeper counted itself, and so before it read
  // the sequence.
  void sleep(std::unique_lock<std::mutex>& lock, const timespec* deadline) {
    sleepers_.fetch_add(1);
    const std::uint32_t seen = sequence_.load();
    lock.unlock();
    futex(FUTEX_WAIT_BITSET_PRIVATE, seen, deadline);
    sleepers_.fetch_sub(1);
    lock.lock();
  }

  long futex(int op, std::uint32_t value, const timespec* deadline) {
    return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&sequence_), op, value, deadline, nullptr,
                     FUTEX_BITSET_MATCH_ANY);
  }

  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  std::atomic<std::uint32_t> sequence_{0};
  std::atomic<std::uint32_t> sleepers_{0};
#else
  void notify_all() { ready_.notify_all(); }
  void wait(std::unique_lock<std::mutex>& lock) { ready_.wait(lock); }
  void wait_until(std::unique_lock<std::mutex>& lock, Clock::time_point deadline) {
    ready_.wait_until(lock, deadline);
  }

 private:
  std::condition_variable ready_;
#endif
};

}  // namespace kpthin::detail
