#include "connection.hpp"

#include <spdlog/spdlog.h>

namespace kpsim {

namespace asio = boost::asio;

Connection::Connection(Socket socket, std::uint64_t id, Handlers handlers)
    : socket_(std::move(socket)), id_(id), handlers_(std::move(handlers)) {}

void Connection::start() { read_more(); }

void Connection::read_more() {
  if (closed_) return;
  socket_.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
    if (self->closed_) return;
    if (ec) {
      self->close(ec == asio::error::eof ? "peer closed the connection" : ec.message());
      return;
    }
    self->decoder_.feed({self->read_buffer_.data(), n});
    while (!self->closed_ && !self->closing_) {
      auto next = self->decoder_.next();
      if (!next.ok()) {
        // What kpclientd does with a frame it cannot read: drop the connection, no reply.
        self->close("undecodable frame: " + next.status().message());
        return;
      }
      if (!next.value()) break;
      self->handlers_.on_frame(*self, std::move(*next.value()));
    }
    self->read_more();
  });
}

void Connection::send(kpthin::Bytes frame) {
  if (closed_ || closing_) return;
  queue_.push_back(std::move(frame));
  if (!writing_) write_more();
}

void Connection::write_more() {
  if (closed_) return;
  if (queue_.empty()) {
    writing_ = false;
    if (closing_) close(close_reason_);
    return;
  }
  writing_ = true;
  in_flight_.clear();
  std::vector<asio::const_buffer> buffers;
  std::size_t total = 0;
  while (!queue_.empty() && buffers.size() < 64 && total < 1024 * 1024) {
    in_flight_.push_back(std::move(queue_.front()));
    queue_.pop_front();
    total += in_flight_.back().size();
    buffers.emplace_back(asio::buffer(in_flight_.back()));
  }
  asio::async_write(socket_, buffers, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    if (self->closed_) return;
    if (ec) {
      self->close("write failed: " + ec.message());
      return;
    }
    self->write_more();
  });
}

void Connection::close_after_flush(const std::string& reason) {
  if (closed_ || closing_) return;
  closing_ = true;
  close_reason_ = reason;
  if (!writing_) close(reason);
}

void Connection::close(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  queue_.clear();
  // The handlers stay alive: close() may run inside on_frame, whose closure must outlive it.
  if (handlers_.on_closed) handlers_.on_closed(*this, reason);
}

}  // namespace kpsim
