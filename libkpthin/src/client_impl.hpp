// ThinClient internals. One I/O thread runs the io_context and owns the socket, the frame
// decoder and the handshake state (the first handshake runs on the connecting thread, before the
// I/O thread exists); callers share the pending-request table and the outbox with it under one
// mutex.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "kpthin/client.hpp"
#include "kpthin/frame.hpp"
#include "transport.hpp"
#include "wake_signal.hpp"

namespace kpthin {

namespace asio = boost::asio;

namespace detail {

// Query ids are 16 random bytes, so their first word is already a good hash.
struct QueryIdHash {
  std::size_t operator()(const QueryId& id) const noexcept;
};

// A request waiting for its reply: a blocked caller (woken through `ready`) or an asynchronous
// handler. Start-resending requests also keep their exact frame for replay after a reconnect.
struct PendingRequest {
  std::uint64_t order = 0;  // issue order, so replays go out in the original order
  std::optional<Result<Response>> result;
  detail::WakeSignal ready;
  ThinClient::ReplyHandler on_reply;
  std::optional<SecretBytes> replay_frame;
  std::optional<Hash256> handle;  // envelope hash / write-cap hash, for forget_resending()
  bool copy_command = false;      // cancelled with cancel_resending_copy_command
  // The frame was handed to the socket of the current connection, so the daemon may have seen
  // it (a write cut off by the loss may still have reached it).
  bool written = false;
  // The cancel sent for this request after a resumed reconnect, before it is re-issued (its
  // query id). Until that cancel's reply arrives, a code-24 reply for this request is the
  // cancelled first run answering, not the request.
  std::optional<QueryId> reconnect_cancel;
  bool owner_cancelling = false;  // its owner sent a cancel: never re-issued, code 24 reaches it
};

// A cancel owed to the daemon for a start-resending request forgotten while the socket was
// down; sent after a reconnect that resumed the same daemon instance (which still retries it).
struct DeferredCancel {
  Hash256 handle{};
  bool copy_command = false;
};

// A frame waiting to be written. Frames carry caps and seeds, so they are wiped once written.
struct OutgoingFrame {
  Bytes bytes;
  std::optional<QueryId> replayable;  // marks PendingRequest::written when handed to the socket
};

}  // namespace detail

class ThinClient::Impl {
 public:
  explicit Impl(ClientOptions options);
  ~Impl();

  // Dial + handshake on the calling thread, then the I/O thread takes over; blocks until done
  // or failed.
  Status start();
  void shut_down(bool send_thin_close);

  Status send(const Request& request);
  Result<QueryId> begin_call(Request& request, ReplyHandler on_reply);
  Result<Response> await_reply(const QueryId& query_id, Duration timeout,
                               const std::atomic<bool>* interrupt);
  void forget_pending(const QueryId& query_id);
  std::size_t forget_resending(const Hash256& handle);

  std::uint64_t subscribe(EventHandler handler);
  void unsubscribe(std::uint64_t id);

  bool daemon_connected() const;
  bool wait_until_connected(Duration timeout) const;
  bool mixnet_connected() const;
  InstanceToken daemon_instance_token() const;
  InstanceToken client_instance_token() const { return client_token_; }
  SphinxGeometry sphinx_geometry() const;
  PigeonholeGeometry pigeonhole_geometry() const;
  std::optional<Bytes> pki_document() const;
  std::uint64_t ignored_frames() const { return ignored_frames_.load(); }

 private:
  enum class Phase { kDown, kDialing, kStatusFrame, kPkiFrame, kAwaitingToken, kUp };

  std::thread start_io_thread();  // with asynchronous signals blocked
  void abandon_connection();      // start() failed or was interrupted: no I/O thread runs

  // --- I/O thread only -------------------------------------------------------------------
  void begin_connect();
  void on_dialled(std::uint64_t generation, Status status, std::unique_ptr<detail::StreamSocket> socket);
  void start_read();
  void on_read(std::uint64_t generation, const boost::system::error_code& ec, std::size_t n);
  void handle_frame(Response response);
  void accept_status_frame(Response& response);
  void accept_pki_frame(Response& response);
  void complete_handshake(const SessionTokenReply& reply);
  void dispatch(Response response);
  void complete_pending(const QueryId& query_id, Response response);
  void drop_connection(const Status& why);
  void attempt_failed(const Status& why, bool dial_failed);
  void connection_lost(const Status& why);
  void close_socket();
  void schedule_reconnect();
  void write_next();
  void emit(const Event& event);
  void stop_io();  // ends the I/O thread's loop: close()/disconnect() is joining it

  // --- any thread, mu_ held ----------------------------------------------------------------
  // Queues a frame, or writes it at once when nothing is queued and the session is up.
  void enqueue_locked(detail::OutgoingFrame frame);
  void resume_resending_locked(bool daemon_forgot, DaemonReconnectedEvent& reconnected);
  bool finish_reconnect_cancel_locked(const QueryId& cancel_id, const Response& reply);
  void note_owner_cancel_locked(const Request& request);
  void drop_pending(const QueryId& query_id, bool erase);
  void record_status_locked(const ConnectionStatusEvent& event);

  ClientOptions options_;
  InstanceToken client_token_{};

  asio::io_context io_;  // first member: everything bound to it is destroyed before it
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer handshake_timer_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer close_timer_;  // bounds close()'s flush of thin_close
  std::thread thread_;

  // I/O thread state.
  std::unique_ptr<detail::StreamSocket> socket_;
  std::uint64_t generation_ = 0;  // bumped whenever a connection attempt ends; stale callbacks compare
  Phase phase_ = Phase::kDown;
  FrameDecoder decoder_;
  // Not zero-filled: a page of it costs memory only once a read reaches it, and a connect pays
  // no 64 KiB memset.
  std::unique_ptr<std::uint8_t[]> read_buffer_;
  bool writing_ = false;          // an async_write is outstanding on socket_
  bool saw_shutdown_ = false;     // shutdown_event on this connection: the EOF is graceful
  bool ever_connected_ = false;
  std::atomic<std::uint64_t> ignored_frames_{0};  // written by the I/O thread, read by anyone
  Duration backoff_;
  std::optional<InstanceToken> previous_instance_;

  // Shared state.
  mutable std::mutex mu_;
  mutable std::condition_variable state_changed_;
  std::optional<Status> initial_result_;
  bool up_ = false;                // handshake complete on a live socket
  bool closing_ = false;           // close()/disconnect() started: new requests refused
  bool closed_ = false;
  bool write_posted_ = false;      // write_next() is queued or running
  // The socket's descriptor while the session is up, for writing a frame straight from the
  // queuing thread when nothing is queued before it (no hand-off to the I/O thread). The I/O
  // thread sets it after the handshake and clears it before closing the socket.
  int direct_fd_ = -1;
  bool flush_requested_ = false;   // close() waits for the outbox (and thin_close) to drain
  std::vector<detail::OutgoingFrame> outbox_;
  std::unordered_map<QueryId, std::shared_ptr<detail::PendingRequest>, detail::QueryIdHash> pending_;
  std::uint64_t next_order_ = 0;
  std::vector<detail::DeferredCancel> deferred_cancels_;
  // Cancels sent after a resumed reconnect and not yet answered: cancel query id -> the
  // request to re-issue once the daemon confirms. Forgotten with the connection.
  std::unordered_map<QueryId, QueryId, detail::QueryIdHash> reissue_after_cancel_;
  bool mixnet_connected_ = false;
  InstanceToken daemon_token_{};
  SphinxGeometry sphinx_geometry_;
  PigeonholeGeometry pigeonhole_geometry_;
  std::optional<Bytes> pki_document_;

  // Subscribers. Recursive so a handler may (un)subscribe; unsubscribe() from another thread
  // waits for a running dispatch to finish.
  std::recursive_mutex subscribers_mu_;
  std::map<std::uint64_t, std::shared_ptr<EventHandler>> subscribers_;
  std::uint64_t next_subscriber_ = 1;
};

}  // namespace kpthin
