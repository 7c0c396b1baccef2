// Saves the newest of a stream of values on a background thread, so fsync latency (milliseconds
// per atomic replace) does not limit how many boxes per second a pipeline moves. Values handed
// over must already be true (a confirmed/delivered position, a state naming only confirmed
// boxes): the file then lags reality after a crash but is never ahead of it. Values that arrive
// while a save runs are coalesced; only the newest is written next. flush() (and the destructor)
// waits until the newest value is on disk.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "interrupt.hpp"

namespace kpthin::cli {

template <class T>
class LatestSaver {
 public:
  // `save` runs on the saver's thread, one call at a time; a throw is rethrown to the caller by
  // the next set() or flush().
  explicit LatestSaver(std::function<void(const T&)> save) : save_(std::move(save)) {
    thread_ = std::thread([this] {
      block_interrupts_in_this_thread();
      run();
    });
  }

  ~LatestSaver() {
    try {
      flush();
    } catch (...) {
      // The caller already failed or flushed; a second report would only repeat it.
    }
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  LatestSaver(const LatestSaver&) = delete;
  LatestSaver& operator=(const LatestSaver&) = delete;

  // Hands over a new value (returns at once). Rethrows an earlier save failure.
  void set(T value) {
    std::lock_guard lock(mutex_);
    if (error_) std::rethrow_exception(error_);
    pending_ = std::move(value);
    changed_.notify_all();
  }

  // Waits until the newest value is saved; rethrows a save failure.
  void flush() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return (!pending_ && !busy_) || error_; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return pending_ || stopping_; });
      if (!pending_) return;
      T value = std::move(*pending_);
      pending_.reset();
      busy_ = true;
      lock.unlock();
      std::exception_ptr error;
      try {
        save_(value);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      busy_ = false;
      if (error) {
        error_ = error;
        pending_.reset();
      }
      changed_.notify_all();
    }
  }

  std::function<void(const T&)> save_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<T> pending_;
  bool busy_ = false;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace kpthin::cli
