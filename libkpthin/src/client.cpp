// ThinClient: its lifecycle (start, the I/O thread, close), subscribers, accessors and the public
// face over ThinClient::Impl. The rest of Impl reads in client_handshake.cpp (dialling and the
// handshake), client_dispatch.cpp (frames to callers and subscribers), client_reconnect.cpp
// (loss, redial, replay and re-issue), client_writer.cpp (the outbox) and client_requests.cpp
// (sending, waiting, forgetting).
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/post.hpp>
#include <cstring>

#include "client_shared.hpp"
#include "kpthin/errors.hpp"
#include "system_random.hpp"

namespace kpthin {

namespace {

// How long close() waits for queued frames and thin_close to reach the socket.
constexpr Duration kCloseFlushTimeout = std::chrono::seconds(5);

}  // namespace

using detail::encode_frame;
using detail::kForever;
using detail::kInterruptPoll;
using detail::wipe_frames;

namespace detail {

std::size_t QueryIdHash::operator()(const QueryId& id) const noexcept {
  std::size_t h;
  std::memcpy(&h, id.data(), sizeof h);
  return h;
}

}  // namespace detail

QueryId random_query_id() {
  // Each fill is a getrandom() system call; drawing ids from a per-thread pool of CSPRNG output
  // keeps that off the per-request path. Bytes handed out are
  // wiped from the pool so they are never handed out twice.
  constexpr std::size_t kPoolSize = 1024;
  thread_local std::array<std::uint8_t, kPoolSize> pool;
  thread_local std::size_t used = kPoolSize;
  QueryId id;
  if (used + id.size() > kPoolSize) {
    detail::system_random(pool.data(), pool.size());
    used = 0;
  }
  std::memcpy(id.data(), pool.data() + used, id.size());
  wipe(pool.data() + used, id.size());
  used += id.size();
  return id;
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

ThinClient::Impl::Impl(ClientOptions options)
    : options_(std::move(options)),
      work_(asio::make_work_guard(io_)),
      handshake_timer_(io_),
      reconnect_timer_(io_),
      close_timer_(io_),
      read_buffer_(std::make_unique_for_overwrite<std::uint8_t[]>(detail::kReadChunk)),
      backoff_(options_.reconnect_initial) {
  if (options_.client_instance_token) {
    client_token_ = *options_.client_instance_token;
  } else {
    detail::system_random(client_token_.data(), client_token_.size());
  }
}

ThinClient::Impl::~Impl() { shut_down(false); }

Status ThinClient::Impl::start() {
  if (auto checked = check_dial_target(options_.target); !checked.ok()) return checked;
  // The handshake runs on the caller's thread: nothing else can use the client before connect()
  // returns, so handing it to an I/O thread would only add thread wake-ups to every connect (and
  // a thread to every failed one). The I/O thread takes over the event loop once it is up.
  begin_connect();
  // The handshake timer bounds this loop; the caller's interrupt flag may end it sooner.
  const std::atomic<bool>* interrupt = options_.interrupt;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (initial_result_) break;
    }
    if (interrupt == nullptr) {
      io_.run_one();
    } else if (interrupt->load()) {
      // Not up (the loop would have ended): there is no daemon session to close.
      abandon_connection();
      return Status(local_errc::cancelled, "interrupted while connecting to kpclientd");
    } else {
      io_.run_one_for(kInterruptPoll);
    }
  }
  Status result;
  {
    std::lock_guard lock(mu_);
    result = *initial_result_;
  }
  if (!result.ok()) {
    abandon_connection();
    return result;
  }
  thread_ = start_io_thread();
  return result;
}

void ThinClient::Impl::abandon_connection() {
  ++generation_;
  phase_ = Phase::kDown;
  close_socket();
  handshake_timer_.cancel();
  std::lock_guard lock(mu_);
  closing_ = true;
  closed_ = true;
  wipe_frames(outbox_);
}

std::thread ThinClient::Impl::start_io_thread() {
  // The thread inherits the creator's signal mask, so blocking the asynchronous signals around
  // its creation means it never takes one: a process-wide SIGINT interrupts the application's
  // blocking calls instead of vanishing into the event loop. Synchronous faults stay unblocked.
  sigset_t all, saved;
  sigfillset(&all);
  for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&all, fault);
  pthread_sigmask(SIG_BLOCK, &all, &saved);
  std::thread thread([this] { io_.run(); });
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  return thread;
}

void ThinClient::Impl::shut_down(bool send_thin_close) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    // Joining the I/O thread from itself would deadlock.
    spdlog::error("kpthin: close()/disconnect() called from an event or reply handler; ignored");
    return;
  }
  bool flush = false;  // the I/O thread has frames to write before it stops
  {
    std::lock_guard lock(mu_);
    if (closing_ || !thread_.joinable()) {
      closed_ = true;
      return;
    }
    closing_ = true;
    closed_ = true;
    if (send_thin_close && up_) {
      flush_requested_ = true;
      // Goes to the socket from this thread when nothing is queued ahead of it; otherwise it
      // joins the outbox, and the write that empties the outbox stops the I/O thread.
      enqueue_locked({encode_frame(ThinClose{}), std::nullopt});
      flush = write_posted_;
    }
    up_ = false;
  }
  // One hand-over to the I/O thread: it stops at once or once the outbox is flushed, so this
  // thread only waits in the join.
  asio::post(io_, [this, flush] {
    if (!flush) {
      stop_io();
      return;
    }
    close_timer_.expires_after(kCloseFlushTimeout);
    close_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) stop_io();
    });
  });
  thread_.join();

  std::vector<std::shared_ptr<detail::PendingRequest>> woken;
  std::vector<ReplyHandler> handlers;
  {
    std::lock_guard lock(mu_);
    wipe_frames(outbox_);
    for (auto& [id, pending] : pending_) {
      if (pending->on_reply) {
        handlers.push_back(std::move(pending->on_reply));
      } else if (!pending->result) {
        pending->result.emplace(Status(local_errc::closed, "the client was closed"));
        woken.push_back(pending);
      }
    }
    pending_.clear();
    state_changed_.notify_all();
  }
  for (auto& pending : woken) pending->ready.notify_all();
  for (auto& handler : handlers) handler(Status(local_errc::closed, "the client was closed"));
}

void ThinClient::Impl::stop_io() {
  ++generation_;
  phase_ = Phase::kDown;
  close_socket();
  handshake_timer_.cancel();
  reconnect_timer_.cancel();
  close_timer_.cancel();
  io_.stop();
}

// ---------------------------------------------------------------------------------------------
// Subscribers and accessors

std::uint64_t ThinClient::Impl::subscribe(EventHandler handler) {
  std::lock_guard lock(subscribers_mu_);
  const auto id = next_subscriber_++;
  subscribers_.emplace(id, std::make_shared<EventHandler>(std::move(handler)));
  return id;
}

void ThinClient::Impl::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(subscribers_mu_);
  subscribers_.erase(id);
}

bool ThinClient::Impl::daemon_connected() const {
  std::lock_guard lock(mu_);
  return up_;
}

bool ThinClient::Impl::wait_until_connected(Duration timeout) const {
  std::unique_lock lock(mu_);
  auto ready = [this] { return up_ || closing_; };
  if (timeout >= kForever) {
    state_changed_.wait(lock, ready);
  } else {
    state_changed_.wait_for(lock, timeout, ready);
  }
  return up_;
}

bool ThinClient::Impl::mixnet_connected() const {
  std::lock_guard lock(mu_);
  return mixnet_connected_;
}

InstanceToken ThinClient::Impl::daemon_instance_token() const {
  std::lock_guard lock(mu_);
  return daemon_token_;
}

SphinxGeometry ThinClient::Impl::sphinx_geometry() const {
  std::lock_guard lock(mu_);
  return sphinx_geometry_;
}

PigeonholeGeometry ThinClient::Impl::pigeonhole_geometry() const {
  std::lock_guard lock(mu_);
  return pigeonhole_geometry_;
}

std::optional<Bytes> ThinClient::Impl::pki_document() const {
  std::lock_guard lock(mu_);
  return pki_document_;
}

// ---------------------------------------------------------------------------------------------
// ThinClient: the public face

Result<std::unique_ptr<ThinClient>> ThinClient::connect(ClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto status = impl->start(); !status.ok()) return status;
  return std::unique_ptr<ThinClient>(new ThinClient(std::move(impl)));
}

ThinClient::ThinClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ThinClient::~ThinClient() { disconnect(); }

Result<Response> ThinClient::call(Request request, Duration timeout) {
  auto query_id = impl_->begin_call(request, nullptr);
  if (!query_id.ok()) return query_id.status();
  auto reply = impl_->await_reply(*query_id, timeout, nullptr);
  if (!reply.ok() && reply.status().code() == make_error_code(local_errc::timeout)) {
    impl_->forget_pending(*query_id);
  }
  return reply;
}

Status ThinClient::send(const Request& request) { return impl_->send(request); }

Result<QueryId> ThinClient::begin_call(Request& request) { return impl_->begin_call(request, nullptr); }

Result<Response> ThinClient::await_reply(const QueryId& query_id, Duration timeout,
                                         const std::atomic<bool>* interrupt) {
  return impl_->await_reply(query_id, timeout, interrupt);
}

Status ThinClient::call_async(Request request, ReplyHandler on_reply) {
  if (!on_reply) return Status(local_errc::unexpected_message, "call_async needs a reply handler");
  return impl_->begin_call(request, std::move(on_reply)).status();
}

void ThinClient::forget_pending(const QueryId& query_id) { impl_->forget_pending(query_id); }
std::size_t ThinClient::forget_resending(const Hash256& handle) { return impl_->forget_resending(handle); }
std::uint64_t ThinClient::subscribe(EventHandler handler) { return impl_->subscribe(std::move(handler)); }
void ThinClient::unsubscribe(std::uint64_t id) { impl_->unsubscribe(id); }
void ThinClient::close() { impl_->shut_down(true); }
void ThinClient::disconnect() { impl_->shut_down(false); }
bool ThinClient::daemon_connected() const { return impl_->daemon_connected(); }
bool ThinClient::mixnet_connected() const { return impl_->mixnet_connected(); }
bool ThinClient::wait_until_connected(Duration timeout) const { return impl_->wait_until_connected(timeout); }
InstanceToken ThinClient::daemon_instance_token() const { return impl_->daemon_instance_token(); }
InstanceToken ThinClient::client_instance_token() const { return impl_->client_instance_token(); }
SphinxGeometry ThinClient::sphinx_geometry() const { return impl_->sphinx_geometry(); }
PigeonholeGeometry ThinClient::pigeonhole_geometry() const { return impl_->pigeonhole_geometry(); }
std::optional<Bytes> ThinClient::pki_document() const { return impl_->pki_document(); }
std::uint64_t ThinClient::ignored_frames() const { return impl_->ignored_frames(); }

}  // namespace kpthin
