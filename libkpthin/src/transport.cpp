#include "transport.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <iterator>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "kpthin/errors.hpp"

namespace kpthin {

namespace {

// sun_path holds 108 bytes; a filesystem path needs room for its NUL, an abstract name for its
// leading NUL.
constexpr std::size_t kMaxUnixPath = sizeof(sockaddr_un::sun_path) - 1;

}  // namespace

Status check_dial_target(const DialTarget& target) {
  switch (target.kind) {
    case TransportKind::kUnix: {
      auto endpoint = detail::unix_endpoint(target.address);
      return endpoint.status();
    }
    case TransportKind::kTcp: {
      if (!target.network.empty() && target.network != "tcp" && target.network != "tcp4" &&
          target.network != "tcp6") {
        return Status(local_errc::config_invalid,
                      "[Dial.Tcp] Network \"" + target.network + "\" is not tcp, tcp4 or tcp6");
      }
      return detail::split_host_port(target.address).status();
    }
    case TransportKind::kWebSocket:
      return Status(local_errc::config_invalid,
                    "[Dial.Ws] is not supported: kpthin is built without Boost.Beast, so it cannot "
                    "speak WebSocket; configure kpclientd with [Listen.Unix] or [Listen.Tcp]");
  }
  return Status(local_errc::config_invalid, "unknown transport kind");
}

std::string describe_dial_target(const DialTarget& target) {
  switch (target.kind) {
    case TransportKind::kUnix:
      return "unix:" + target.address;
    case TransportKind::kTcp:
      return (target.network.empty() ? std::string("tcp") : target.network) + ":" + target.address;
    case TransportKind::kWebSocket:
      return target.address;
  }
  return target.address;
}

namespace detail {

Result<asio::local::stream_protocol::endpoint> unix_endpoint(std::string_view address) {
  if (address.empty()) return Status(local_errc::config_invalid, "empty unix socket address");
  if (address.size() > kMaxUnixPath) {
    return Status(local_errc::config_invalid,
                  "unix socket address \"" + std::string(address) + "\" is longer than " +
                      std::to_string(kMaxUnixPath) + " bytes");
  }
  if (address.front() == '@') {
    if (address.size() == 1) return Status(local_errc::config_invalid, "empty abstract socket name \"@\"");
    // Asio counts exactly the bytes it is given and does not terminate a name that starts with
    // NUL, so this yields addrlen = offsetof(sun_path) + 1 + strlen(name).
    std::string abstract_name(address);
    abstract_name.front() = '\0';
    return asio::local::stream_protocol::endpoint(abstract_name);
  }
  if (address.find('\0') != std::string_view::npos) {
    return Status(local_errc::config_invalid, "unix socket path contains a NUL byte");
  }
  return asio::local::stream_protocol::endpoint(address);
}

Result<std::pair<std::string, std::string>> split_host_port(std::string_view address) {
  auto bad = [&](const char* why) {
    return Status(local_errc::config_invalid,
                  "tcp address \"" + std::string(address) + "\" " + why + " (want host:port or [v6]:port)");
  };
  std::string host;
  std::string_view rest;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos) return bad("has no closing ]");
    host = std::string(address.substr(1, close - 1));
    rest = address.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("has no :port after ]");
    rest.remove_prefix(1);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("has no port");
    host = std::string(address.substr(0, colon));
    if (host.find(':') != std::string::npos) return bad("has an IPv6 literal without brackets");
    rest = address.substr(colon + 1);
  }
  if (host.empty()) return bad("has no host");
  if (rest.empty() || rest.size() > 5 || rest.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad("has no valid port");
  }
  if (std::stoul(std::string(rest)) > 65535) return bad("has a port above 65535");
  return std::pair<std::string, std::string>(std::move(host), std::string(rest));
}

namespace {

// Opens `socket` for `protocol` close-on-exec from the start: asio's own open() leaves the flag
// off, and a child the application execs would then inherit the daemon connection (keeping it
// open after close(), so the daemon never sees the client leave).
template <class Socket, class Protocol>
boost::system::error_code open_close_on_exec(Socket& socket, const Protocol& protocol) {
  const int fd = ::socket(protocol.family(), protocol.type() | SOCK_CLOEXEC, protocol.protocol());
  if (fd < 0) return {errno, boost::system::system_category()};
  boost::system::error_code ec;
  socket.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return ec;
}

// One dial attempt. Callbacks keep it alive through shared_from_this; `finished` makes the
// first of (connected, failed, timed out) win and the others no-ops.
struct DialOperation : std::enable_shared_from_this<DialOperation> {
  DialOperation(asio::io_context& io, std::string what, DialHandler done)
      : io(io), timer(io), resolver(io), tcp_socket(io), what(std::move(what)), done(std::move(done)) {}

  void arm_timeout(std::chrono::milliseconds timeout) {
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this(), timeout](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled because the dial finished
      self->fail(Status(local_errc::timeout, "dialling " + self->what + " took longer than " +
                                                 std::to_string(timeout.count()) + " ms"));
      self->resolver.cancel();
      boost::system::error_code ignored;
      self->tcp_socket.close(ignored);
      if (self->unix_socket) self->unix_socket->close(ignored);
    });
  }

  void fail(Status status) { finish(std::move(status), nullptr); }

  void finish(Status status, std::unique_ptr<StreamSocket> socket) {
    if (finished) return;
    finished = true;
    timer.cancel();
    auto handler = std::move(done);
    handler(std::move(status), std::move(socket));
  }

  void dial_unix(const asio::local::stream_protocol::endpoint& endpoint) {
    unix_socket = std::make_unique<StreamSocket>(io);
    if (const auto ec = open_close_on_exec(*unix_socket, asio::generic::stream_protocol(AF_UNIX, 0))) {
      asio::post(io, [self = shared_from_this(), ec] {
        self->fail(Status(local_errc::dial_failed, "connecting to " + self->what + ": " + ec.message()));
      });
      return;
    }
    unix_socket->async_connect(asio::generic::stream_protocol::endpoint(endpoint),
                               [self = shared_from_this()](const boost::system::error_code& ec) {
                                 if (self->finished) return;
                                 if (ec) {
                                   self->fail(Status(local_errc::dial_failed,
                                                     "connecting to " + self->what + ": " + ec.message()));
                                   return;
                                 }
                                 self->finish(Status(), std::move(self->unix_socket));
                               });
  }

  void dial_tcp(const std::string& host, const std::string& port, const std::string& network) {
    auto on_resolved = [self = shared_from_this()](const boost::system::error_code& ec,
                                                   asio::ip::tcp::resolver::results_type results) {
      if (self->finished) return;
      if (ec) {
        self->fail(Status(local_errc::dial_failed, "resolving " + self->what + ": " + ec.message()));
        return;
      }
      self->connect_tcp(results, results.begin(), asio::error::not_found);
    };
    if (network == "tcp4") {
      resolver.async_resolve(asio::ip::tcp::v4(), host, port, on_resolved);
    } else if (network == "tcp6") {
      resolver.async_resolve(asio::ip::tcp::v6(), host, port, on_resolved);
    } else {
      resolver.async_resolve(host, port, on_resolved);
    }
  }

  // Tries the resolved addresses in turn, as asio::async_connect does, but on sockets opened
  // close-on-exec; `last` is the error to report if none is left.
  void connect_tcp(const asio::ip::tcp::resolver::results_type& results,
                   asio::ip::tcp::resolver::results_type::const_iterator next, boost::system::error_code last) {
    if (next == results.end()) {
      fail(Status(local_errc::dial_failed, "connecting to " + what + ": " + last.message()));
      return;
    }
    const asio::ip::tcp::endpoint peer = next->endpoint();
    boost::system::error_code ignored;
    tcp_socket.close(ignored);
    if (const auto ec = open_close_on_exec(tcp_socket, peer.protocol())) {
      connect_tcp(results, std::next(next), ec);
      return;
    }
    tcp_socket.async_connect(peer, [self = shared_from_this(), results, next, peer](const boost::system::error_code& ec) {
      if (self->finished) return;
      if (ec) {
        self->connect_tcp(results, std::next(next), ec);
        return;
      }
      self->tcp_connected(peer);
    });
  }

  void tcp_connected(const asio::ip::tcp::endpoint& peer) {
    boost::system::error_code ec;
    // Frames are small and latency-bound; Nagle would hold a request back waiting for an ACK.
    tcp_socket.set_option(asio::ip::tcp::no_delay(true), ec);
    if (ec) {
      fail(Status(local_errc::dial_failed, "setting TCP_NODELAY on " + what + ": " + ec.message()));
      return;
    }
    const int family = peer.address().is_v6() ? AF_INET6 : AF_INET;
    const auto fd = tcp_socket.release(ec);
    if (ec) {
      fail(Status(local_errc::dial_failed, "taking over the socket for " + what + ": " + ec.message()));
      return;
    }
    auto socket = std::make_unique<StreamSocket>(io, asio::generic::stream_protocol(family, IPPROTO_TCP), fd);
    finish(Status(), std::move(socket));
  }

  asio::io_context& io;
  asio::steady_timer timer;
  asio::ip::tcp::resolver resolver;
  asio::ip::tcp::socket tcp_socket;
  std::unique_ptr<StreamSocket> unix_socket;
  std::string what;
  DialHandler done;
  bool finished = false;
};

}  // namespace

void async_dial(asio::io_context& io, const DialTarget& target, std::chrono::milliseconds timeout,
                DialHandler done) {
  auto op = std::make_shared<DialOperation>(io, describe_dial_target(target), std::move(done));
  if (auto checked = check_dial_target(target); !checked.ok()) {
    asio::post(io, [op, checked] { op->fail(checked); });
    return;
  }
  op->arm_timeout(timeout);
  if (target.kind == TransportKind::kUnix) {
    auto endpoint = unix_endpoint(target.address);
    op->dial_unix(endpoint.value());
    return;
  }
  auto host_port = split_host_port(target.address);
  op->dial_tcp(host_port->first, host_port->second, target.network);
}

}  // namespace detail
}  // namespace kpthin
