// ThinClient::Impl: the outbox. A frame queued while nothing is waiting to be written goes to the
// socket at once from the queuing thread; otherwise (and whatever the socket does not take at
// once) the I/O thread writes everything queued so far in one gathered write, one write at a time.
#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "client_shared.hpp"
#include "kpthin/errors.hpp"

namespace kpthin {

using detail::wipe_frames;

namespace {

// Writes what the socket takes without blocking; returns how many bytes that was. Failures
// return 0: the frame is then queued, and the I/O thread's write meets the same error and
// handles the loss.
std::size_t send_now(int fd, const Bytes& bytes) {
  for (;;) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return 0;
  }
}

}  // namespace

void ThinClient::Impl::enqueue_locked(detail::OutgoingFrame frame) {
  if (direct_fd_ >= 0 && outbox_.empty() && !write_posted_) {
    // Nothing is queued or being written, so this frame is next on the wire: the caller writes
    // it and the I/O thread is not woken (one thread hand-off less per request).
    const std::size_t sent = send_now(direct_fd_, frame.bytes);
    if (sent > 0 && frame.replayable) {
      if (auto it = pending_.find(*frame.replayable); it != pending_.end()) it->second->written = true;
    }
    if (sent == frame.bytes.size()) {
      wipe(frame.bytes.data(), frame.bytes.size());
      return;
    }
    if (sent > 0) {
      Bytes rest(frame.bytes.begin() + static_cast<std::ptrdiff_t>(sent), frame.bytes.end());
      wipe(frame.bytes.data(), frame.bytes.size());
      frame.bytes = std::move(rest);
    }
  }
  outbox_.push_back(std::move(frame));
  if (!write_posted_) {
    write_posted_ = true;
    asio::post(io_, [this] { write_next(); });
  }
}

void ThinClient::Impl::write_next() {
  if (writing_) return;  // the running write's completion calls back here
  auto batch = std::make_shared<std::vector<detail::OutgoingFrame>>();
  {
    std::lock_guard lock(mu_);
    const bool writable = socket_ && (phase_ == Phase::kAwaitingToken || phase_ == Phase::kUp);
    if (outbox_.empty() || !writable) {
      write_posted_ = false;
      // close() is waiting for the flush: the I/O thread stops once thin_close is out.
      if (outbox_.empty() && flush_requested_) asio::post(io_, [this] { stop_io(); });
      return;
    }
    batch->swap(outbox_);
    // From here the daemon may see these frames, even if the write is cut off by a loss.
    for (const auto& frame : *batch) {
      if (!frame.replayable) continue;
      if (auto it = pending_.find(*frame.replayable); it != pending_.end()) it->second->written = true;
    }
  }
  // Everything queued since the last write goes out in one gathered write.
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(batch->size());
  for (const auto& frame : *batch) buffers.emplace_back(frame.bytes.data(), frame.bytes.size());
  writing_ = true;
  const std::uint64_t generation = generation_;
  asio::async_write(*socket_, buffers,
                    [this, batch, generation](const boost::system::error_code& ec, std::size_t) {
                      wipe_frames(*batch);
                      if (generation != generation_) {
                        // close_socket() already cleared writing_ for this dead socket; a
                        // write_next() posted meanwhile returned early, so write_posted_ is still
                        // set and only this completion can move the outbox on.
                        write_next();
                        return;
                      }
                      writing_ = false;
                      if (ec) {
                        drop_connection(Status(local_errc::io_error, "writing to kpclientd: " + ec.message()));
                        // The socket is gone, so this only clears write_posted_; left set, the
                        // next connection's session_token would never be written (the
                        // handshake then stalls until the connect timeout).
                        write_next();
                        return;
                      }
                      write_next();
                    });
}

}  // namespace kpthin
