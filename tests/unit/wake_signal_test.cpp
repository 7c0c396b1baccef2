// detail::WakeSignal, the per-request wake-up of a blocked call: no wake-up is lost between a
// waiter's check and its sleep, every sleeper wakes, and a deadline ends the wait.
#include "wake_signal.hpp"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

namespace kpthin::detail {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("WakeSignal: ping-pong hand-offs lose no wake-up") {
  // A lost wake-up leaves one side asleep until its deadline; both sides then stop.
  constexpr int kRounds = 20000;
  std::mutex mu;
  WakeSignal to_b, to_a;
  int turn = 0;          // even: a's move, odd: b's
  bool stalled = false;  // a wait ran to its deadline
  auto await_turn = [&](std::unique_lock<std::mutex>& lock, WakeSignal& signal, int parity) {
    const auto deadline = Clock::now() + 2s;
    while (turn % 2 != parity && !stalled) {
      if (Clock::now() >= deadline) stalled = true;
      else signal.wait_until(lock, deadline);
    }
    return !stalled;
  };
  std::thread b([&] {
    std::unique_lock lock(mu);
    for (int i = 0; i < kRounds && await_turn(lock, to_b, 1); ++i) {
      ++turn;
      lock.unlock();
      to_a.notify_all();
      lock.lock();
    }
    stalled = stalled || turn != 2 * kRounds;
    to_a.notify_all();
  });
  {
    std::unique_lock lock(mu);
    for (int i = 0; i < kRounds && !stalled; ++i) {
      ++turn;
      lock.unlock();
      to_b.notify_all();
      lock.lock();
      if (!await_turn(lock, to_a, 0)) break;
    }
    stalled = stalled || turn != 2 * kRounds;
    lock.unlock();
    to_b.notify_all();
  }
  b.join();
  CHECK_FALSE(stalled);
  CHECK(turn == 2 * kRounds);
}

TEST_CASE("WakeSignal: notify_all wakes every sleeper") {
  constexpr int kSleepers = 4;
  std::mutex mu;
  WakeSignal signal;
  bool ready = false;
  int waiting = 0;
  int woken = 0;
  std::vector<std::thread> sleepers;
  for (int i = 0; i < kSleepers; ++i) {
    sleepers.emplace_back([&] {
      std::unique_lock lock(mu);
      ++waiting;  // counted under the lock the wait releases only once it is committed to sleep
      const auto deadline = Clock::now() + 5s;
      while (!ready && Clock::now() < deadline) signal.wait_until(lock, deadline);
      if (ready) ++woken;
    });
  }
  const auto start = Clock::now();
  for (;;) {
    std::lock_guard lock(mu);
    REQUIRE(Clock::now() - start < 4s);
    if (waiting == kSleepers) {
      ready = true;
      break;
    }
  }
  signal.notify_all();
  for (auto& t : sleepers) t.join();
  CHECK(woken == kSleepers);
  CHECK(Clock::now() - start < 4s);  // a sleeper left out would have slept to its deadline
}

TEST_CASE("WakeSignal: wait_until returns at its deadline without a notify") {
  std::mutex mu;
  WakeSignal signal;
  std::unique_lock lock(mu);
  const auto start = Clock::now();
  const auto deadline = start + 50ms;
  while (Clock::now() < deadline) signal.wait_until(lock, deadline);
  const auto took = Clock::now() - start;
  CHECK(took >= 50ms);
  CHECK(took < 2s);
  CHECK(lock.owns_lock());
}

}  // namespace
}  // namespace kpthin::detail
