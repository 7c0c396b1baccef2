// Listener, sessions (spec §2), faults, control socket and request dispatch.
#include "simulator.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>

#include <csignal>
#include <sstream>

#include "kpthin/codec.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/frame.hpp"
#include "simulator_internal.hpp"

namespace kpsim {

namespace asio = boost::asio;
using generic = asio::generic::stream_protocol;
using namespace kpthin;

namespace {

constexpr std::size_t kMaxQueuedWhileDisconnected = 1000;  // kpclientd's cap (spec §2.3)

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

template <class Reply, class Req>
Response error_of(const Req& request, std::uint8_t code) {
  Reply reply;
  reply.query_id = request.query_id;
  reply.error_code = code;
  return reply;
}

// "@name" is a Linux abstract socket: sun_path starts with NUL and is not NUL-terminated.
generic::endpoint unix_endpoint(const std::string& address) {
  if (!address.empty() && address[0] == '@')
    return generic::endpoint(asio::local::stream_protocol::endpoint(std::string(1, '\0') + address.substr(1)));
  return generic::endpoint(asio::local::stream_protocol::endpoint(address));
}

// Removes a stale socket file left by an earlier run, but never anything that is not a socket.
void remove_stale_socket(const std::string& path) {
  struct stat st {};
  if (!path.empty() && path[0] != '@' && ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
    ::unlink(path.c_str());
}

Status io_failure(const boost::system::system_error& e, const std::string& what) {
  return Status(std::error_code(e.code().value(), std::system_category()), what);
}

}  // namespace

Bytes frame_response(const Response& response) {
  return make_frame(encode_response(response, EnvelopeForm::kGoFull));
}

std::optional<Response> error_reply_for(const Request& request, std::uint8_t code) {
  return std::visit(
      Overloaded{
          [](const SessionToken&) -> std::optional<Response> { return std::nullopt; },
          [](const ThinClose&) -> std::optional<Response> { return std::nullopt; },
          [](const SendMessage&) -> std::optional<Response> { return std::nullopt; },
          [&](const NewKeypair& r) -> std::optional<Response> { return error_of<NewKeypairReply>(r, code); },
          [&](const EncryptRead& r) -> std::optional<Response> { return error_of<EncryptReadReply>(r, code); },
          [&](const EncryptWrite& r) -> std::optional<Response> { return error_of<EncryptWriteReply>(r, code); },
          [&](const StartResendingEncryptedMessage& r) -> std::optional<Response> {
            return error_of<StartResendingEncryptedMessageReply>(r, code);
          },
          [&](const CancelResendingEncryptedMessage& r) -> std::optional<Response> {
            return error_of<CancelResendingEncryptedMessageReply>(r, code);
          },
          [&](const StartResendingCopyCommand& r) -> std::optional<Response> {
            return error_of<StartResendingCopyCommandReply>(r, code);
          },
          [&](const CancelResendingCopyCommand& r) -> std::optional<Response> {
            return error_of<CancelResendingCopyCommandReply>(r, code);
          },
          [&](const NextMessageBoxIndex& r) -> std::optional<Response> { return error_of<NextMessageBoxIndexReply>(r, code); },
          [&](const GetMessageBoxIndexCounter& r) -> std::optional<Response> {
            return error_of<GetMessageBoxIndexCounterReply>(r, code);
          },
          [&](const GetPkiDocument& r) -> std::optional<Response> { return error_of<GetPkiDocumentReply>(r, code); },
          [&](const GetDirectoryAuthorities& r) -> std::optional<Response> {
            return error_of<GetDirectoryAuthoritiesReply>(r, code);
          },
          [&](const CreateCourierEnvelopesFromPayload& r) -> std::optional<Response> {
            return error_of<CreateCourierEnvelopesFromPayloadReply>(r, code);
          },
          [&](const CreateCourierEnvelopesFromMultiPayload& r) -> std::optional<Response> {
            return error_of<CreateCourierEnvelopesFromMultiPayloadReply>(r, code);
          },
          [&](const CreateCourierEnvelopesFromTombstoneRange& r) -> std::optional<Response> {
            return error_of<CreateCourierEnvelopesFromTombstoneRangeReply>(r, code);
          },
          [&](const VoucherMint& r) -> std::optional<Response> { return error_of<VoucherMintReply>(r, code); },
          [&](const VoucherInduct& r) -> std::optional<Response> { return error_of<VoucherInductReply>(r, code); },
          [&](const VoucherOpen& r) -> std::optional<Response> { return error_of<VoucherOpenReply>(r, code); },
          [&](const VoucherDeriveStream& r) -> std::optional<Response> { return error_of<VoucherDeriveStreamReply>(r, code); },
      },
      request);
}

Simulator::Simulator(asio::io_context& io, SimOptions options)
    : io_(io), options_(std::move(options)), network_(SimNetwork::current_epoch()), pacing_timer_(io) {
  randombytes_buf(instance_token_.data(), instance_token_.size());
  for (const auto& rule : options_.fail_rules) fail_next(rule.request_key, rule.code, rule.count);
}

Simulator::~Simulator() {
  if (!unlink_on_exit_.empty()) ::unlink(unlink_on_exit_.c_str());
  if (!unlink_control_on_exit_.empty()) ::unlink(unlink_control_on_exit_.c_str());
}

Status Simulator::start(bool handle_signals) {
  bound_ = options_.listen;
  if (options_.store_path) {
    if (auto status = store_.persist_to(*options_.store_path); !status.ok()) return status;
    spdlog::info("box store {}: {} box(es) loaded", *options_.store_path, store_.size());
  }
  try {
    if (options_.listen.kind == TransportKind::kUnix) {
      remove_stale_socket(options_.listen.address);
      acceptor_ = std::make_unique<GenericAcceptor>(io_, unix_endpoint(options_.listen.address));
      if (options_.listen.address[0] != '@') unlink_on_exit_ = options_.listen.address;
    } else if (options_.listen.kind == TransportKind::kTcp) {
      const std::string& address = options_.listen.address;
      const auto colon = address.rfind(':');
      if (colon == std::string::npos) return Status(make_error_code(local_errc::config_invalid), "tcp address needs host:port: " + address);
      std::string host = address.substr(0, colon);
      const std::string port = address.substr(colon + 1);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      asio::ip::tcp::resolver resolver(io_);
      auto flags = asio::ip::tcp::resolver::passive | asio::ip::tcp::resolver::numeric_service;
      asio::ip::tcp::endpoint endpoint;
      if (options_.listen.network == "tcp6")
        endpoint = *resolver.resolve(asio::ip::tcp::v6(), host, port, flags).begin();
      else if (options_.listen.network == "tcp4")
        endpoint = *resolver.resolve(asio::ip::tcp::v4(), host, port, flags).begin();
      else
        endpoint = *resolver.resolve(host, port, flags).begin();
      acceptor_ = std::make_unique<GenericAcceptor>(io_, generic::endpoint(endpoint));
      // Report the port actually bound (port 0 asks the kernel for a free one).
      const generic::endpoint local = acceptor_->local_endpoint();
      std::uint16_t bound_port = 0;
      if (local.data()->sa_family == AF_INET)
        bound_port = ntohs(reinterpret_cast<const sockaddr_in*>(local.data())->sin_port);
      else
        bound_port = ntohs(reinterpret_cast<const sockaddr_in6*>(local.data())->sin6_port);
      bound_.address = address.substr(0, colon) + ":" + std::to_string(bound_port);
    } else {
      return Status(make_error_code(local_errc::config_invalid), "kpclientd-sim listens on unix or tcp only");
    }
  } catch (const boost::system::system_error& e) {
    return io_failure(e, "cannot listen on " + options_.listen.address);
  }
  if (options_.control_path) {
    try {
      start_control();
    } catch (const boost::system::system_error& e) {
      return io_failure(e, "cannot listen on control socket " + *options_.control_path);
    }
  }
  if (handle_signals) watch_signals();
  if (options_.pacing.count() > 0) tick_pacing();
  accept_next();
  spdlog::info("listening on {} ({}), instance token {}", bound_.address,
               bound_.kind == TransportKind::kTcp ? "tcp" : "unix", to_hex(view(instance_token_)));
  return {};
}

void Simulator::accept_next() {
  if (!acceptor_ || stopping_) return;
  acceptor_->async_accept([this](const boost::system::error_code& ec, generic::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (!ec) on_accept(std::move(socket));
    else spdlog::warn("accept failed: {}", ec.message());
    accept_next();
  });
}

ConnectionStatusEvent Simulator::connection_status() const {
  ConnectionStatusEvent event;
  event.is_connected = !options_.offline;
  event.instance_token = instance_token_;
  event.sphinx_geometry = SimNetwork::sphinx_geometry();
  event.pigeonhole_geometry = SimNetwork::pigeonhole_geometry();
  return event;
}

void Simulator::on_accept(generic::socket socket) {
  if (bound_.kind == TransportKind::kTcp) {
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  const std::uint64_t id = next_connection_id_++;
  auto conn = std::make_shared<Connection>(
      std::move(socket), id,
      Connection::Handlers{[this](Connection& c, Bytes body) { on_frame(c, std::move(body)); },
                           [this](Connection& c, const std::string& reason) { on_closed(c, reason); }});
  randombytes_buf(conn->app_id.data(), conn->app_id.size());
  auto session = std::make_unique<Session>();
  session->app = conn->app_id;
  session->conn = conn;
  sessions_[conn->app_id] = std::move(session);
  connections_[id] = conn;
  ++accepted_;
  spdlog::debug("connection {} accepted", id);

  if (options_.hold_handshake) {
    held_.push_back(conn);
    spdlog::info("connection {} accepted; handshake held until 'release'", id);
  } else {
    send_handshake(*conn);
  }
  conn->start();
}

void Simulator::send_handshake(Connection& conn) {
  send(conn, connection_status());
  NewPkiDocumentEvent pki;
  if (!options_.no_pki) pki.payload = network_.document(true);
  send(conn, pki);
}

void Simulator::hold_handshakes(bool hold) {
  options_.hold_handshake = hold;
  if (hold) return;
  for (auto& weak : held_) {
    if (auto conn = weak.lock(); conn && conn->open()) send_handshake(*conn);
  }
  held_.clear();
}

void Simulator::send(Connection& conn, const Response& response) { conn.send(frame_response(response)); }

void Simulator::deliver(const AppId& app, Response response) {
  const auto it = sessions_.find(app);
  if (it == sessions_.end()) return;  // session destroyed: nobody to tell (thin_close, grace over)
  Session& session = *it->second;
  if (session.conn && session.conn->open()) {
    send(*session.conn, response);
    return;
  }
  // kpclientd queues only legacy replies and garbage-collection notices for a resume
  // (client/daemon.go, queueReplyForDisconnected); a message_sent_event needs a live connection
  // and a Pigeonhole ARQ reply returns early without one (spec §2.3).
  const bool legacy = std::holds_alternative<MessageReplyEvent>(response) ||
                      std::holds_alternative<MessageIdGarbageCollected>(response);
  const bool pigeonhole = std::holds_alternative<StartResendingEncryptedMessageReply>(response) ||
                          std::holds_alternative<StartResendingCopyCommandReply>(response);
  if (legacy || (pigeonhole && options_.keep_replies_while_disconnected)) {
    if (session.queued.size() < kMaxQueuedWhileDisconnected) {
      session.queued.push_back(frame_response(response));
    } else {
      spdlog::warn("dropping {} for a disconnected session: its queue is full", response_key(response));
    }
    return;
  }
  if (pigeonhole) ++replies_lost_;
  spdlog::info("dropping {} for a disconnected session (as kpclientd does)", response_key(response));
}

void Simulator::on_frame(Connection& conn, Bytes body) {
  auto decoded = decode_request(body);
  if (!decoded.ok()) {
    ++undecodable_;
    spdlog::warn("connection {}: closing: cannot decode request: {}", conn.id(), decoded.status().message());
    conn.close("undecodable request");
    return;
  }
  dispatch(conn, decoded.value());
}

void Simulator::on_closed(Connection& conn, const std::string& reason) {
  spdlog::debug("connection {} closed: {}", conn.id(), reason);
  if (reason.rfind("undecodable frame", 0) == 0) {
    ++undecodable_;
    spdlog::warn("connection {}: closing: {}", conn.id(), reason);
  }
  auto keep_alive = connections_[conn.id()];
  connections_.erase(conn.id());
  // Requests still in this connection's queue die with it, resumed session or not: a resume
  // binds a new connection with a new queue (client/listener.go handleSessionToken).
  drop_unsent(conn.id());
  const auto it = sessions_.find(conn.app_id);
  if (it != sessions_.end() && it->second->conn.get() == &conn) {
    Session& session = *it->second;
    session.conn.reset();
    if (conn.explicit_close || !session.client_token || stopping_) {
      destroy_session(session.app);
    } else {
      // kpclientd keeps a tokened session for its grace period (spec §2.3).
      session.grace = std::make_unique<asio::steady_timer>(io_, options_.grace);
      const AppId app = session.app;
      session.grace->async_wait([this, app](const boost::system::error_code& ec) {
        if (ec) return;
        spdlog::info("session grace period over; destroying its state");
        destroy_session(app);
      });
    }
  }
  if (stopping_ && connections_.empty()) {
    stop_timer_.reset();
    io_.stop();
  }
}

void Simulator::destroy_session(const AppId& app) {
  std::vector<std::uint64_t> doomed;
  for (const auto& [id, op] : ops_)
    if (op->app == app) doomed.push_back(id);
  for (auto id : doomed) erase_op(id);
  const auto it = sessions_.find(app);
  if (it == sessions_.end()) return;
  if (it->second->client_token) {
    const auto t = tokens_.find(*it->second->client_token);
    if (t != tokens_.end() && t->second == app) tokens_.erase(t);
  }
  sessions_.erase(it);
}

void Simulator::dispatch(Connection& conn, Request& request) {
  const char* key = request_key(request);
  ++requests_by_key_[key];
  const bool counted = !std::holds_alternative<SessionToken>(request);
  if (counted) ++requests_total_;
  spdlog::debug("connection {}: {}", conn.id(), key);
  if (!inject_failure(conn, request)) std::visit([&](auto& r) { handle(conn, r); }, request);
  if (counted) after_request();
}

bool Simulator::inject_failure(Connection& conn, const Request& request) {
  const auto it = failures_.find(request_key(request));
  if (it == failures_.end()) return false;
  FailState& fail = it->second;
  std::optional<Response> reply = error_reply_for(request, fail.code);
  if (const auto* message = std::get_if<SendMessage>(&request)) {
    if (message->with_surb && message->surbid) {
      MessageSentEvent sent;
      sent.message_id = message->id;
      sent.surbid = *message->surbid;
      sent.err = "injected failure (code " + std::to_string(fail.code) + ")";
      reply = sent;
    }
  } else if (!reply) {
    return false;
  }
  if (auto* resend = std::get_if<StartResendingEncryptedMessageReply>(&reply.value());
      resend && fail.code != 3 && fail.code != 4) {
    // Outcomes after a courier answered carry the courier fields (spec §5.4).
    const SimService& courier = network_.pick_courier();
    resend->courier_identity_hash = courier.destination_hash;
    resend->courier_queue_id = Bytes(courier.endpoint.begin(), courier.endpoint.end());
  }
  spdlog::info("injecting error {} into {}", fail.code, request_key(request));
  if (reply) send(conn, *reply);
  if (!fail.forever && --fail.remaining == 0) failures_.erase(it);
  return true;
}

void Simulator::after_request() {
  auto due = [this](std::optional<std::uint64_t>& after) {
    if (after && requests_total_ >= *after) {
      after.reset();
      return true;
    }
    return false;
  };
  // Posted, so the request that triggered the fault is fully handled first.
  if (due(options_.drop_after)) asio::post(io_, [this] { drop_connections(); });
  if (due(options_.restart_after)) asio::post(io_, [this] { restart(); });
  if (due(options_.shutdown_after)) asio::post(io_, [this] { shutdown(); });
}

void Simulator::handle(Connection& conn, SessionToken& r) {
  const auto known = tokens_.find(r.client_instance_token);
  if (known != tokens_.end() && known->second != conn.app_id && sessions_.count(known->second)) {
    // Resume (spec §2.3): adopt the old AppID, flush what was queued, then reply.
    const AppId old_app = known->second;
    Session& old_session = *sessions_[old_app];
    old_session.grace.reset();
    if (old_session.conn && old_session.conn.get() != &conn) {
      spdlog::info("connection {} displaces connection {} for a resumed session", conn.id(), old_session.conn->id());
      auto displaced = old_session.conn;
      old_session.conn.reset();
      displaced->close("displaced by a resumed session");
    }
    for (auto& [id, op] : ops_)
      if (op->app == conn.app_id) op->app = old_app;
    sessions_.erase(conn.app_id);
    conn.app_id = old_app;
    old_session.conn = connections_[conn.id()];
    while (!old_session.queued.empty()) {
      conn.send(std::move(old_session.queued.front()));
      old_session.queued.pop_front();
    }
    ++resumes_;
    spdlog::info("connection {}: session resumed", conn.id());
    send(conn, SessionTokenReply{old_app, true});
    return;
  }
  tokens_[r.client_instance_token] = conn.app_id;
  sessions_[conn.app_id]->client_token = r.client_instance_token;
  send(conn, SessionTokenReply{conn.app_id, false});
}

void Simulator::handle(Connection& conn, ThinClose&) {
  conn.explicit_close = true;
  conn.close("thin_close");
}

void Simulator::drop_connections() {
  ++drops_;
  spdlog::info("fault: dropping {} connection(s)", connections_.size());
  auto all = connections_;
  for (auto& [id, conn] : all) conn->close("dropped by fault injection");
}

void Simulator::restart() {
  ++restarts_;
  randombytes_buf(instance_token_.data(), instance_token_.size());
  spdlog::info("fault: restart; new instance token {}", to_hex(view(instance_token_)));
  std::vector<std::uint64_t> all_ops;
  for (const auto& [id, op] : ops_) all_ops.push_back(id);
  for (auto id : all_ops) erase_op(id);
  paced_.clear();
  sessions_.clear();
  tokens_.clear();
  auto all = connections_;
  for (auto& [id, conn] : all) conn->close("daemon restarted");
}

void Simulator::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("shutting down: notifying {} connection(s)", connections_.size());
  boost::system::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  if (control_acceptor_) control_acceptor_->close(ignored);
  if (signals_) signals_->cancel(ignored);
  pacing_timer_.cancel();
  std::vector<std::uint64_t> all_ops;
  for (const auto& [id, op] : ops_) all_ops.push_back(id);
  for (auto id : all_ops) erase_op(id);
  for (auto& [app, session] : sessions_) session->grace.reset();
  if (connections_.empty()) {
    io_.stop();
    return;
  }
  // kpclientd writes shutdown_event to every connection, then closes them (spec §2.5).
  auto all = connections_;
  for (auto& [id, conn] : all) {
    send(*conn, ShutdownEvent{});
    conn->close_after_flush("daemon shut down");
  }
  stop_timer_ = std::make_unique<asio::steady_timer>(io_, std::chrono::seconds(2));
  stop_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) io_.stop();
  });
}

void Simulator::fail_next(const std::string& request_key, std::uint8_t code, std::uint64_t count) {
  failures_[request_key] = FailState{code, count, count == 0};
}

void Simulator::clear_failures() { failures_.clear(); }

void Simulator::set_offline(bool offline) {
  if (options_.offline == offline) return;
  options_.offline = offline;
  spdlog::info("mixnet connectivity: {}", offline ? "offline" : "online");
  const auto event = connection_status();
  for (auto& [id, conn] : connections_) send(*conn, event);
  if (!offline) release_queued();
}

void Simulator::offline_after_writes(std::uint64_t writes) { writes_until_offline_ = writes; }

std::string Simulator::stats() const {
  std::size_t waiting = 0;
  for (const auto& [id, op] : ops_)
    if (op->waiting_for) ++waiting;
  std::ostringstream out;
  std::size_t held = 0;
  for (const auto& weak : held_)
    if (auto conn = weak.lock(); conn && conn->open()) ++held;
  out << "stats connections=" << connections_.size() << " sessions=" << sessions_.size() << " held=" << held
      << " pending=" << ops_.size() << " waiting=" << waiting << " paced=" << paced_.size()
      << " boxes=" << store_.size() << " requests=" << requests_total_ << " accepted=" << accepted_
      << " cancels=" << cancels_ << " cancels_matched=" << cancels_matched_ << " drops=" << drops_
      << " restarts=" << restarts_ << " resumes=" << resumes_ << " undecodable=" << undecodable_
      << " replies_lost=" << replies_lost_ << " unsent_lost=" << unsent_lost_ << " copies_applied=" << copies_applied_
      << " offline=" << (options_.offline ? 1 : 0) << " instance=" << to_hex(view(instance_token_));
  for (const auto& [key, count] : requests_by_key_) out << " req." << key << "=" << count;
  return out.str();
}

std::string Simulator::control(const std::string& line) {
  std::istringstream in(line);
  std::string command;
  in >> command;
  if (command == "drop") {
    drop_connections();
    return "ok";
  }
  if (command == "restart") {
    restart();
    return "ok instance=" + to_hex(view(instance_token_));
  }
  if (command == "shutdown") {
    asio::post(io_, [this] { shutdown(); });
    return "ok";
  }
  if (command == "stats") return stats();
  if (command == "offline" || command == "online") {
    set_offline(command == "offline");
    return "ok";
  }
  if (command == "offline-after-writes") {
    std::uint64_t writes = 0;
    if (!(in >> writes) || writes == 0) return "error usage: offline-after-writes <N>  (N >= 1)";
    offline_after_writes(writes);
    return "ok";
  }
  if (command == "hold" || command == "release") {
    hold_handshakes(command == "hold");
    return "ok";
  }
  if (command == "fail") {
    std::string key;
    in >> key;
    if (key == "clear") {
      clear_failures();
      return "ok";
    }
    unsigned code = 0;
    std::uint64_t count = 1;
    if (!(in >> code) || code > 255) return "error usage: fail <request_key> <code> [count] | fail clear";
    if (!(in >> count)) count = 1;
    fail_next(key, static_cast<std::uint8_t>(code), count);
    return "ok";
  }
  if (command == "help" || command.empty())
    return "ok commands: drop restart shutdown stats offline online offline-after-writes <N> hold release fail <request_key> <code> [count] | fail clear";
  return "error unknown command: " + command;
}

void Simulator::start_control() {
  const std::string& path = *options_.control_path;
  remove_stale_socket(path);
  control_acceptor_ = std::make_unique<GenericAcceptor>(io_, unix_endpoint(path));
  if (path[0] != '@') unlink_control_on_exit_ = path;
  accept_control();
}

namespace {

// One control-socket client: line in, line out, until it hangs up.
class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  ControlSession(generic::socket socket, std::function<std::string(const std::string&)> execute)
      : socket_(std::move(socket)), execute_(std::move(execute)) {}
  void read() {
    asio::async_read_until(socket_, input_, '\n', [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
      if (ec) return;
      std::string line(asio::buffers_begin(self->input_.data()), asio::buffers_begin(self->input_.data()) + static_cast<std::ptrdiff_t>(n));
      self->input_.consume(n);
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      self->output_ = self->execute_(line) + "\n";
      asio::async_write(self->socket_, asio::buffer(self->output_), [self](const boost::system::error_code& wec, std::size_t) {
        if (!wec) self->read();
      });
    });
  }

 private:
  generic::socket socket_;
  std::function<std::string(const std::string&)> execute_;
  asio::streambuf input_;
  std::string output_;
};

}  // namespace

void Simulator::accept_control() {
  control_acceptor_->async_accept([this](const boost::system::error_code& ec, generic::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (!ec) {
      auto session = std::make_shared<ControlSession>(std::move(socket), [this](const std::string& line) {
        spdlog::info("control: {}", line);
        return control(line);
      });
      session->read();
    }
    accept_control();
  });
}

void Simulator::watch_signals() {
  if (!signals_) {
    signals_ = std::make_unique<asio::signal_set>(io_, SIGUSR1, SIGUSR2, SIGTERM);
    signals_->add(SIGINT);
  }
  signals_->async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (signal == SIGUSR1) drop_connections();
    else if (signal == SIGUSR2) restart();
    else {
      shutdown();
      return;
    }
    watch_signals();
  });
}

}  // namespace kpsim
