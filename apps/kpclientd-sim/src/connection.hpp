// One accepted thin-client socket: reads length-prefixed frames in order and hands each body to
// its owner, writes frames in the order they were queued (several per system call when they
// pile up). Lives on the simulator's single io_context thread.
#pragma once

#include <utility>  // Boost 1.74 asio under C++20 needs std::exchange first
#include <boost/asio.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kpthin/bytes.hpp"
#include "kpthin/frame.hpp"

namespace kpsim {

using GenericAcceptor = boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Socket = boost::asio::generic::stream_protocol::socket;
  struct Handlers {
    std::function<void(Connection&, kpthin::Bytes body)> on_frame;
    std::function<void(Connection&, const std::string& reason)> on_closed;
  };

  Connection(Socket socket, std::uint64_t id, Handlers handlers);

  void start();
  // Queues a whole frame (prefix included). Ignored once the connection is closing.
  void send(kpthin::Bytes frame);
  // Closes now; queued frames are discarded.
  void close(const std::string& reason);
  // Closes once every queued frame has been written.
  void close_after_flush(const std::string& reason);

  std::uint64_t id() const { return id_; }
  bool open() const { return !closed_; }

  // Session binding, owned by the simulator.
  kpthin::InstanceToken app_id{};
  bool explicit_close = false;  // thin_close received

 private:
  void read_more();
  void write_more();

  Socket socket_;
  std::uint64_t id_;
  Handlers handlers_;
  kpthin::FrameDecoder decoder_;
  std::array<std::uint8_t, 64 * 1024> read_buffer_{};
  std::deque<kpthin::Bytes> queue_;
  std::vector<kpthin::Bytes> in_flight_;
  bool writing_ = false;
  bool closed_ = false;
  bool closing_ = false;
  std::string close_reason_;
};

}  // namespace kpsim
