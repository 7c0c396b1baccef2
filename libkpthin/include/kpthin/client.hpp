// ThinClient: one connection to kpclientd. Handshake, session token, query-id correlation with
// many requests in flight, event fan-out, reconnect with backoff and replay, cancel, close.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "kpthin/bytes.hpp"
#include "kpthin/config.hpp"
#include "kpthin/messages.hpp"
#include "kpthin/status.hpp"

namespace kpthin {

using Duration = std::chrono::milliseconds;
inline constexpr Duration kWaitForever = Duration::max();

// Events delivered to subscribers: every daemon event (connection status, PKI document, message
// sent/reply, garbage-collected ids, shutdown) plus the client-local ones below.
struct DaemonDisconnectedEvent {  // socket to the daemon lost (never on the wire)
  bool is_graceful = false;       // a shutdown_event preceded the EOF
  std::string error;
};
struct DaemonReconnectedEvent {   // handshake redone after a loss
  bool instance_changed = false;  // the daemon restarted (new instance token)
  bool resumed = false;           // session_token_reply.resumed
  std::size_t replayed = 0;       // in-flight start-resending requests sent again
  // Start-resending requests the resumed daemon had seen: it drops a reply that completes while
  // the client is away (spec §2.3), so each is cancelled there and sent again once the daemon
  // confirms the cancel (unless its real reply arrives first).
  std::size_t reissued = 0;
};
using Event = std::variant<ConnectionStatusEvent, NewPkiDocumentEvent, MessageSentEvent,
                           MessageReplyEvent, MessageIdGarbageCollected, ShutdownEvent,
                           DaemonDisconnectedEvent, DaemonReconnectedEvent>;
using EventHandler = std::function<void(const Event&)>;

struct ClientOptions {
  DialTarget target;
  Duration connect_timeout{std::chrono::seconds(30)};  // dial + handshake
  bool reconnect = true;                                // redial after a loss
  Duration reconnect_initial{std::chrono::seconds(1)};  // backoff doubles up to the cap
  Duration reconnect_max{std::chrono::seconds(60)};
  std::optional<InstanceToken> client_instance_token;   // random if unset
  // connect() gives up with local_errc::cancelled within about 50 ms of this becoming true,
  // so a caller can abandon a handshake kpclientd holds back (it waits for a PKI document for up
  // to a minute), e.g. from a signal handler that sets the flag. Read only during connect().
  const std::atomic<bool>* interrupt = nullptr;
};

class ThinClient {
 public:
  // Dials, performs the handshake (spec §2.2, dispatching frames normally until
  // session_token_reply) and starts the I/O thread. The I/O thread blocks asynchronous signals
  // (SIGINT, SIGTERM, ...), so they are delivered to the application's own threads.
  static Result<std::unique_ptr<ThinClient>> connect(ClientOptions options);

  ~ThinClient();  // disconnect() if still open
  ThinClient(const ThinClient&) = delete;
  ThinClient& operator=(const ThinClient&) = delete;

  // Sends a request carrying a query_id (a fresh random one is set if absent) and waits up to
  // `timeout` for the reply with that query_id. Start-resending requests are remembered until
  // they complete: after a reconnect they are sent again, and those a resumed daemon had seen are
  // first cancelled there (it drops replies that complete while the client is away), so such a
  // call always gets an answer. On timeout the request is NOT cancelled at the daemon; use the
  // typed calls in pigeonhole.hpp, which do.
  Result<Response> call(Request request, Duration timeout);

  // Sends a request that has no reply (thin_close, send_message without SURB).
  Status send(const Request& request);

  // The two halves of call(), for operations that must survive their own timeout (a
  // start-resending call cancels at the daemon and then collects the cancelled reply).
  // begin_call() sets a random query_id if absent, registers the request and sends it; it fails
  // at once with local_errc::disconnected while the daemon socket is down.
  // await_reply() waits up to `timeout` (or until *interrupt becomes true) for its reply. On
  // timeout / interrupt it returns local_errc::timeout / cancelled and the request STAYS
  // registered (a late reply is kept for the next await_reply); forget_pending() drops it.
  Result<QueryId> begin_call(Request& request);
  Result<Response> await_reply(const QueryId& query_id, Duration timeout,
                               const std::atomic<bool>* interrupt = nullptr);

  // Asynchronous call: `on_reply` runs once, on the I/O thread, with the reply or an error
  // (local_errc::disconnected when the socket is lost and the request is not replayable,
  // local_errc::closed when the client closes). Keep it short and never block in it.
  using ReplyHandler = std::function<void(Result<Response>)>;
  Status call_async(Request request, ReplyHandler on_reply);

  // Forgets a pending request so it is not replayed (used by cancel). A caller still waiting for
  // it is woken with local_errc::cancelled. If the socket is down and the daemon had seen the
  // request, its cancel is sent after a reconnect that resumes the same daemon instance.
  void forget_pending(const QueryId& query_id);
  // Cancels pending start-resending requests by handle (the envelope hash of an encrypted
  // message, or write_cap_hash() of a copy command's write cap) on behalf of their owners: they
  // are not replayed, and the owner's await_reply() returns local_errc::cancelled. Returns how
  // many were cancelled.
  std::size_t forget_resending(const Hash256& handle);

  // Registers an event handler, called on the I/O thread; keep it short and never call a
  // blocking ThinClient method from it. Returns an id for unsubscribe(), which waits until no
  // call of that handler is running on another thread.
  std::uint64_t subscribe(EventHandler handler);
  void unsubscribe(std::uint64_t id);

  // Sends thin_close (all daemon state for this session is destroyed) and closes the socket.
  void close();
  // Closes the socket without thin_close so the session can be resumed within the grace period.
  void disconnect();

  bool daemon_connected() const;  // the socket to the daemon is up
  // Waits until the socket is up and the handshake is done (true), or the timeout passes or the
  // client is closed (false). For callers that retry after local_errc::disconnected.
  bool wait_until_connected(Duration timeout) const;
  bool mixnet_connected() const;  // last connection_status_event.is_connected
  InstanceToken daemon_instance_token() const;
  InstanceToken client_instance_token() const;  // pass to ClientOptions to resume this session
  SphinxGeometry sphinx_geometry() const;
  PigeonholeGeometry pigeonhole_geometry() const;
  std::optional<Bytes> pki_document() const;  // latest stripped document payload
  // Frames from the daemon that were well formed but carried no message this client knows (a
  // newer daemon's additions): ignored, counted here, logged at debug. Malformed frames are not
  // counted; they drop the connection.
  std::uint64_t ignored_frames() const;

  class Impl;

 private:
  explicit ThinClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A fresh random query id (libsodium CSPRNG).
QueryId random_query_id();

}  // namespace kpthin
