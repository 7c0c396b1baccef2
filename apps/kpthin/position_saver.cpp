#include "position_saver.hpp"

#include "interrupt.hpp"

namespace kpthin::cli {

PositionSaver::PositionSaver(ChannelFile& file) : file_(file) {
  thread_ = std::thread([this] {
    block_interrupts_in_this_thread();
    run();
  });
}

PositionSaver::~PositionSaver() {
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

void PositionSaver::set(ByteView index) {
  std::lock_guard lock(mutex_);
  if (error_) std::rethrow_exception(error_);
  pending_ = Bytes(index.begin(), index.end());
  changed_.notify_all();
}

void PositionSaver::flush() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return (!pending_ && !busy_) || error_; });
  if (error_) std::rethrow_exception(error_);
}

void PositionSaver::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return pending_ || stopping_; });
    if (!pending_) return;
    Bytes index = std::move(*pending_);
    pending_.reset();
    busy_ = true;
    lock.unlock();
    std::exception_ptr error;
    try {
      file_.save_index(view(index));
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

}  // namespace kpthin::cli
