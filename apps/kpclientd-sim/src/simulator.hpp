// kpclientd-sim's daemon: listener, sessions, the request handlers of spec §3, the simulated
// mixnet operations (ARQ-like pending operations over the in-memory box store), fault
// injection, and the control socket. Single-threaded: everything runs on one io_context.
//
// Usage: construct on an io_context, start(), then run the io_context until it returns (after
// shutdown()).
#pragma once

#include <utility>  // Boost 1.74 asio under C++20 needs std::exchange first
#include <boost/asio.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "box_store.hpp"
#include "connection.hpp"
#include "kpthin/messages.hpp"
#include "kpthin/status.hpp"
#include "sim_network.hpp"
#include "sim_options.hpp"

namespace kpsim {

using AppId = kpthin::InstanceToken;

class Simulator {
 public:
  Simulator(boost::asio::io_context& io, SimOptions options);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Binds the listener (and the control socket if configured) and installs the signal
  // handlers (SIGUSR1 drop, SIGUSR2 restart, SIGTERM/SIGINT graceful shutdown).
  kpthin::Status start(bool handle_signals = true);

  // Where clients dial, with a tcp port 0 resolved to the bound port.
  kpthin::DialTarget dial_target() const { return bound_; }

  // Faults and controls; also reachable through the control socket and signals.
  void drop_connections();             // close every client socket; sessions enter grace
  void restart();                      // new instance token; in-flight work and sessions lost
  void shutdown();                     // shutdown_event to every client, then stop
  void fail_next(const std::string& request_key, std::uint8_t code, std::uint64_t count);
  void clear_failures();
  void set_offline(bool offline);      // broadcasts a connection_status_event
  // Goes offline by itself right after the next `writes` box writes complete (0: never). Lets a
  // test stop a multi-box operation part way without racing it from outside.
  void offline_after_writes(std::uint64_t writes);
  void hold_handshakes(bool hold);     // false: the held connections get their handshake now
  std::string stats() const;           // one line of key=value pairs
  // Executes one control-socket command line; returns the reply line (no newline).
  std::string control(const std::string& line);

  std::size_t stored_boxes() const { return store_.size(); }

 private:
  struct Session;
  struct PendingOp;

  // Listening and connections.
  void accept_next();
  void on_accept(Connection::Socket socket);
  void on_frame(Connection& conn, kpthin::Bytes body);
  void on_closed(Connection& conn, const std::string& reason);
  void send(Connection& conn, const kpthin::Response& response);
  void deliver(const AppId& app, kpthin::Response response);
  void destroy_session(const AppId& app);
  kpthin::ConnectionStatusEvent connection_status() const;
  void send_handshake(Connection& conn);  // frames 1 and 2 (spec §2.1)
  void start_control();
  void accept_control();
  void watch_signals();
  void after_request();  // by-flag faults

  // Requests (spec §3). Local ones answer inline; mixnet ones become PendingOps.
  void dispatch(Connection& conn, kpthin::Request& request);
  bool inject_failure(Connection& conn, const kpthin::Request& request);
  void handle(Connection& conn, kpthin::SessionToken& r);
  void handle(Connection& conn, kpthin::ThinClose& r);
  void handle(Connection& conn, kpthin::SendMessage& r);
  void handle(Connection& conn, kpthin::NewKeypair& r);
  void handle(Connection& conn, kpthin::EncryptRead& r);
  void handle(Connection& conn, kpthin::EncryptWrite& r);
  void handle(Connection& conn, kpthin::StartResendingEncryptedMessage& r);
  void handle(Connection& conn, kpthin::CancelResendingEncryptedMessage& r);
  void handle(Connection& conn, kpthin::StartResendingCopyCommand& r);
  void handle(Connection& conn, kpthin::CancelResendingCopyCommand& r);
  void handle(Connection& conn, kpthin::NextMessageBoxIndex& r);
  void handle(Connection& conn, kpthin::GetMessageBoxIndexCounter& r);
  void handle(Connection& conn, kpthin::GetPkiDocument& r);
  void handle(Connection& conn, kpthin::GetDirectoryAuthorities& r);
  void handle(Connection& conn, kpthin::CreateCourierEnvelopesFromPayload& r);
  void handle(Connection& conn, kpthin::CreateCourierEnvelopesFromMultiPayload& r);
  void handle(Connection& conn, kpthin::CreateCourierEnvelopesFromTombstoneRange& r);
  void handle(Connection& conn, kpthin::VoucherMint& r);
  void handle(Connection& conn, kpthin::VoucherInduct& r);
  void handle(Connection& conn, kpthin::VoucherOpen& r);
  void handle(Connection& conn, kpthin::VoucherDeriveStream& r);

  // Pending mixnet operations.
  std::uint64_t admit(PendingOp op);
  void release(std::uint64_t id);  // leaves the pacing queue: validate, then first attempt
  void schedule_attempt(std::uint64_t id, Millis delay);
  void attempt(std::uint64_t id);
  void attempt_write(std::uint64_t id, PendingOp& op);
  void attempt_read(std::uint64_t id, PendingOp& op);
  void attempt_copy(std::uint64_t id, PendingOp& op);
  void attempt_send(std::uint64_t id, PendingOp& op);
  void wait_for_box(std::uint64_t id, PendingOp& op, const BoxId& box);
  void box_written(const BoxId& box);
  void finish(std::uint64_t id, kpthin::Response reply);
  void erase_op(std::uint64_t id);
  void tick_pacing();
  bool waits_for_mixnet(const PendingOp& op) const;  // offline: stays queued, not sent
  void release_queued();                              // back online without pacing
  void drop_unsent(std::uint64_t conn_id);            // its connection died
  Millis sample_latency() const;
  bool cancel_op(Connection& conn, const kpthin::Hash256& handle, bool copy);

  boost::asio::io_context& io_;
  SimOptions options_;
  SimNetwork network_;
  BoxStore store_;
  kpthin::InstanceToken instance_token_{};
  kpthin::DialTarget bound_;

  std::unique_ptr<GenericAcceptor> acceptor_;
  std::unique_ptr<GenericAcceptor> control_acceptor_;
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::string unlink_on_exit_;
  std::string unlink_control_on_exit_;

  std::uint64_t next_connection_id_ = 1;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::map<AppId, std::unique_ptr<Session>> sessions_;
  std::map<kpthin::InstanceToken, AppId> tokens_;
  std::vector<std::weak_ptr<Connection>> held_;  // accepted, handshake not yet sent

  std::uint64_t next_op_id_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<PendingOp>> ops_;
  std::map<kpthin::Hash256, std::uint64_t> ops_by_handle_;  // envelope hash / write-cap hash
  std::unordered_multimap<BoxId, std::uint64_t, BoxIdHash> waiters_;
  std::deque<std::uint64_t> paced_;  // admitted, not yet sent: paced, or waiting while offline
  boost::asio::steady_timer pacing_timer_;
  bool pacing_armed_ = false;

  struct FailState { std::uint8_t code; std::uint64_t remaining; bool forever; };
  std::map<std::string, FailState> failures_;

  std::uint64_t writes_until_offline_ = 0;  // 0: no automatic offline pending

  bool stopping_ = false;
  std::unique_ptr<boost::asio::steady_timer> stop_timer_;

  // Counters for `stats`.
  std::uint64_t requests_total_ = 0;
  std::map<std::string, std::uint64_t> requests_by_key_;
  std::uint64_t accepted_ = 0, cancels_ = 0, cancels_matched_ = 0, drops_ = 0, restarts_ = 0;
  std::uint64_t resumes_ = 0, undecodable_ = 0, replies_lost_ = 0, copies_applied_ = 0, unsent_lost_ = 0;
};

}  // namespace kpsim
