// A scripted kpclientd stand-in for the client tests: a blocking unix-socket listener that
// speaks frames through the real codec, so each test spells out exactly what the daemon says
// and checks exactly what the client sent. Every wait has a deadline.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kpthin/client.hpp"
#include "kpthin/codec.hpp"
#include "kpthin/frame.hpp"

namespace kpthin::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

inline constexpr auto kTestTimeout = std::chrono::milliseconds(5000);

inline InstanceToken token_of(std::uint8_t fill) {
  InstanceToken t;
  t.fill(fill);
  return t;
}

inline SphinxGeometry test_sphinx_geometry() {
  SphinxGeometry g;
  g.PacketLength = 3082;
  g.NrHops = 5;
  g.UserForwardPayloadLength = 2000;
  g.NIKEName = "x25519";
  return g;
}

inline PigeonholeGeometry test_pigeonhole_geometry() {
  PigeonholeGeometry g;
  g.MaxPlaintextPayloadLength = 1500;
  g.NIKEName = "CTIDH1024-X25519";
  g.SignatureSchemeName = "Ed25519";
  return g;
}

inline ConnectionStatusEvent status_event(const InstanceToken& instance, bool is_connected = true) {
  ConnectionStatusEvent event;
  event.is_connected = is_connected;
  event.instance_token = instance;
  event.sphinx_geometry = test_sphinx_geometry();
  event.pigeonhole_geometry = test_pigeonhole_geometry();
  return event;
}

// A unix stream socket address; "@name" is abstract with the exact length.
inline std::pair<sockaddr_un, socklen_t> unix_address(const std::string& address) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  socklen_t length;
  if (!address.empty() && address[0] == '@') {
    sa.sun_path[0] = '\0';
    std::memcpy(sa.sun_path + 1, address.data() + 1, address.size() - 1);
    length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  } else {
    std::memcpy(sa.sun_path, address.data(), address.size());
    length = static_cast<socklen_t>(sizeof(sockaddr_un));
  }
  return {sa, length};
}

class ScriptedPeer {
 public:
  // Listens on a fresh path in a private temporary directory, or on `address` if given.
  explicit ScriptedPeer(std::string address = {}) {
    if (address.empty()) {
      char dir[] = "/tmp/kpthin-client-test-XXXXXX";
      if (::mkdtemp(dir) == nullptr) std::abort();
      dir_ = dir;
      address = dir_ + "/kpclientd.sock";
    }
    address_ = std::move(address);
    listen();
  }
  ~ScriptedPeer() {
    drop();
    stop_listening();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;

  const std::string& address() const { return address_; }

  ClientOptions options() const {
    ClientOptions o;
    o.target.kind = TransportKind::kUnix;
    o.target.address = address_;
    o.connect_timeout = kTestTimeout;
    o.reconnect_initial = 20ms;
    o.reconnect_max = 200ms;
    return o;
  }

  void listen() {
    if (address_[0] != '@') ::unlink(address_.c_str());
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto [sa, length] = unix_address(address_);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&sa), length) != 0 || ::listen(listener_, 16) != 0) {
      std::abort();
    }
  }
  void stop_listening() {
    if (listener_ >= 0) ::close(listener_);
    listener_ = -1;
    if (address_[0] != '@') ::unlink(address_.c_str());
  }

  // Accepts the next connection (closing any current one).
  bool accept(std::chrono::milliseconds timeout = kTestTimeout) {
    drop();
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    conn_ = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    decoder_ = FrameDecoder();
    return conn_ >= 0;
  }

  // Closes the current connection (the daemon crashing, from the client's point of view).
  void drop() {
    if (conn_ >= 0) ::close(conn_);
    conn_ = -1;
  }

  // A crash and restart: the connection and the listener go away, then the listener returns.
  void restart() {
    drop();
    stop_listening();
    listen();
  }

  void send_raw(ByteView bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const auto n = ::send(conn_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }
  void send(const Response& response) {
    const Bytes body = encode_response(response, EnvelopeForm::kGoFull);
    send_raw(make_frame(body));
  }

  // The next frame body from the client, or nullopt on EOF / timeout.
  std::optional<Bytes> receive_frame(std::chrono::milliseconds timeout = kTestTimeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      auto next = decoder_.next();
      if (!next.ok()) return std::nullopt;
      if (next->has_value()) return std::move(**next);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{conn_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) != 1) return std::nullopt;
      std::uint8_t buffer[65536];
      const auto n = ::recv(conn_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        eof_ = true;
        return std::nullopt;
      }
      decoder_.feed(ByteView(buffer, static_cast<std::size_t>(n)));
    }
  }
  std::optional<Request> receive(std::chrono::milliseconds timeout = kTestTimeout) {
    auto body = receive_frame(timeout);
    if (!body) return std::nullopt;
    auto request = decode_request(*body);
    if (!request.ok()) return std::nullopt;
    return std::move(request).value();
  }
  // True once the client closed its end (EOF seen within the timeout).
  bool receive_eof(std::chrono::milliseconds timeout = kTestTimeout) {
    eof_ = false;
    while (!eof_) {
      if (!receive_frame(timeout) && !eof_) return false;
    }
    return true;
  }

  // Frames 1 and 2 of the handshake, then the client's session_token (returned).
  std::optional<SessionToken> open_handshake(const InstanceToken& instance, std::optional<Bytes> pki = Bytes{0xa0}) {
    send(status_event(instance));
    send(NewPkiDocumentEvent{std::move(pki)});
    auto request = receive();
    if (!request || !std::holds_alternative<SessionToken>(*request)) return std::nullopt;
    return std::get<SessionToken>(*request);
  }
  // The whole handshake.
  std::optional<SessionToken> handshake(const InstanceToken& instance, bool resumed = false) {
    auto token = open_handshake(instance);
    if (token) send(SessionTokenReply{token_of(0xaa), resumed});
    return token;
  }

 private:
  std::string dir_;
  std::string address_;
  int listener_ = -1;
  int conn_ = -1;
  bool eof_ = false;
  FrameDecoder decoder_;
};

// Collects events from a ThinClient and lets a test wait for one that matches.
class EventLog {
 public:
  explicit EventLog(ThinClient& client) : client_(client) {
    id_ = client.subscribe([this](const Event& event) {
      std::lock_guard lock(mu_);
      events_.push_back(event);
      used_.push_back(false);
      changed_.notify_all();
    });
  }
  ~EventLog() { client_.unsubscribe(id_); }

  // The first event of type T (matching `match`) not yet returned by an earlier wait_for.
  template <class T>
  std::optional<T> wait_for(std::function<bool(const T&)> match = nullptr,
                            std::chrono::milliseconds timeout = kTestTimeout) {
    std::unique_lock lock(mu_);
    std::optional<T> found;
    changed_.wait_for(lock, timeout, [&] {
      for (std::size_t i = 0; i < events_.size(); ++i) {
        const auto* e = std::get_if<T>(&events_[i]);
        if (e == nullptr || used_[i] || (match && !match(*e))) continue;
        used_[i] = true;
        found = *e;
        return true;
      }
      return false;
    });
    return found;
  }

  template <class T>
  std::size_t count() {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& e : events_) n += std::holds_alternative<T>(e) ? 1 : 0;
    return n;
  }

 private:
  ThinClient& client_;
  std::uint64_t id_ = 0;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Event> events_;
  std::vector<bool> used_;
};

// Waits until `condition` holds, up to the deadline (polling a cheap predicate on the client's
// state that has no event of its own).
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = kTestTimeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

}  // namespace kpthin::testing
