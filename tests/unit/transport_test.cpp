// Transport: unix paths and abstract names (exact address length), tcp with TCP_NODELAY,
// tcp4/tcp6, and the [Dial.Ws] rejection.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <boost/asio/io_context.hpp>
#include <future>

#include "client_test_peer.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/transport.hpp"
#include "transport.hpp"

namespace kpthin::testing {
namespace {

// A tcp listener on the loopback address of `family`; returns the fd and the port.
std::pair<int, std::uint16_t> tcp_listener(int family) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {-1, 0};
  sockaddr_storage storage{};
  socklen_t length;
  if (family == AF_INET) {
    auto* sa = reinterpret_cast<sockaddr_in*>(&storage);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof(sockaddr_in);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&storage);
    sa->sin6_family = AF_INET6;
    sa->sin6_addr = in6addr_loopback;
    length = sizeof(sockaddr_in6);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 || ::listen(fd, 4) != 0) {
    ::close(fd);
    return {-1, 0};
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  const std::uint16_t port = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port)
                                               : ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return {fd, port};
}

struct DialOutcome {
  Status status;
  std::unique_ptr<detail::StreamSocket> socket;
};

DialOutcome dial(boost::asio::io_context& io, const DialTarget& target) {
  DialOutcome outcome;
  detail::async_dial(io, target, std::chrono::milliseconds(2000),
                     [&](Status status, std::unique_ptr<detail::StreamSocket> socket) {
                       outcome.status = std::move(status);
                       outcome.socket = std::move(socket);
                     });
  io.run();
  io.restart();
  return outcome;
}

}  // namespace

TEST_CASE("transport: an abstract name has sun_path[0] = NUL and the exact address length") {
  auto endpoint = detail::unix_endpoint("@kpclientd");
  REQUIRE(endpoint.ok());
  CHECK(endpoint->size() == offsetof(sockaddr_un, sun_path) + 1 + std::strlen("kpclientd"));
  const auto* sa = reinterpret_cast<const sockaddr_un*>(endpoint->data());
  CHECK(sa->sun_family == AF_UNIX);
  CHECK(sa->sun_path[0] == '\0');
  CHECK(std::string(sa->sun_path + 1, 9) == "kpclientd");
}

TEST_CASE("transport: a filesystem path keeps its bytes") {
  auto endpoint = detail::unix_endpoint("/run/kpclientd.sock");
  REQUIRE(endpoint.ok());
  CHECK(endpoint->path() == "/run/kpclientd.sock");
}

TEST_CASE("transport: unusable unix addresses are rejected") {
  CHECK_FALSE(detail::unix_endpoint("").ok());
  CHECK_FALSE(detail::unix_endpoint("@").ok());
  CHECK_FALSE(detail::unix_endpoint(std::string(200, 'a')).ok());
  CHECK(detail::unix_endpoint("@" + std::string(107, 'a')).status().code() == make_error_code(local_errc::config_invalid));
  CHECK(detail::unix_endpoint("@" + std::string(106, 'a')).ok());
}

TEST_CASE("transport: ThinClient connects to an abstract socket bound with the exact length") {
  // The peer binds "\0name" with addrlen offsetof+1+strlen. A client that counted a trailing NUL
  // or the whole sun_path would address a different abstract name and be refused.
  ScriptedPeer peer("@kpthin-test-" + std::to_string(::getpid()) + "-abstract");
  auto options = peer.options();
  auto connecting = std::async(std::launch::async, [options] { return ThinClient::connect(options); });
  REQUIRE(peer.accept());
  REQUIRE(peer.handshake(token_of(3)));
  auto client = connecting.get();
  REQUIRE_MESSAGE(client.ok(), client.status().message());
  CHECK((*client)->daemon_instance_token() == token_of(3));
}

TEST_CASE("transport: host:port parsing") {
  auto v4 = detail::split_host_port("127.0.0.1:64331");
  REQUIRE(v4.ok());
  CHECK(v4->first == "127.0.0.1");
  CHECK(v4->second == "64331");
  auto v6 = detail::split_host_port("[::1]:80");
  REQUIRE(v6.ok());
  CHECK(v6->first == "::1");
  CHECK(v6->second == "80");
  auto name = detail::split_host_port("localhost:1");
  REQUIRE(name.ok());
  CHECK(name->first == "localhost");
  CHECK_FALSE(detail::split_host_port("localhost").ok());
  CHECK_FALSE(detail::split_host_port("::1:80").ok());
  CHECK_FALSE(detail::split_host_port("[::1]80").ok());
  CHECK_FALSE(detail::split_host_port("host:99999").ok());
  CHECK_FALSE(detail::split_host_port(":80").ok());
  CHECK_FALSE(detail::split_host_port("host:").ok());
}

TEST_CASE("transport: tcp dial sets TCP_NODELAY") {
  auto [listener, port] = tcp_listener(AF_INET);
  REQUIRE(listener >= 0);
  boost::asio::io_context io;
  DialTarget target{TransportKind::kTcp, "127.0.0.1:" + std::to_string(port), "tcp4"};
  auto outcome = dial(io, target);
  REQUIRE_MESSAGE(outcome.status.ok(), outcome.status.message());
  int nodelay = 0;
  socklen_t length = sizeof nodelay;
  REQUIRE(::getsockopt(outcome.socket->native_handle(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &length) == 0);
  CHECK(nodelay != 0);
  ::close(listener);
}

TEST_CASE("transport: the daemon socket is close-on-exec, unix and tcp") {
  // A child the application starts (fork + exec) must not inherit the connection: it would keep
  // the daemon's end open after close(), and the daemon would never see the client leave.
  auto close_on_exec = [](const DialOutcome& outcome) {
    const int flags = ::fcntl(outcome.socket->native_handle(), F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC) != 0;
  };
  {
    ScriptedPeer peer;
    boost::asio::io_context io;
    auto outcome = dial(io, peer.options().target);
    REQUIRE_MESSAGE(outcome.status.ok(), outcome.status.message());
    CHECK(close_on_exec(outcome));
  }
  auto [listener, port] = tcp_listener(AF_INET);
  REQUIRE(listener >= 0);
  boost::asio::io_context io;
  auto outcome = dial(io, DialTarget{TransportKind::kTcp, "127.0.0.1:" + std::to_string(port), "tcp4"});
  REQUIRE_MESSAGE(outcome.status.ok(), outcome.status.message());
  CHECK(close_on_exec(outcome));
  ::close(listener);
}

TEST_CASE("transport: tcp6 dials the IPv6 loopback, tcp4 refuses an IPv6 literal") {
  auto [listener, port] = tcp_listener(AF_INET6);
  if (listener < 0) {
    MESSAGE("no IPv6 loopback here; skipping");
    return;
  }
  boost::asio::io_context io;
  auto outcome = dial(io, DialTarget{TransportKind::kTcp, "[::1]:" + std::to_string(port), "tcp6"});
  REQUIRE_MESSAGE(outcome.status.ok(), outcome.status.message());
  CHECK(outcome.socket->local_endpoint().protocol().family() == AF_INET6);
  auto wrong = dial(io, DialTarget{TransportKind::kTcp, "[::1]:" + std::to_string(port), "tcp4"});
  CHECK(wrong.status.code() == make_error_code(local_errc::dial_failed));
  ::close(listener);
}

TEST_CASE("transport: unknown tcp network names are rejected") {
  CHECK(check_dial_target(DialTarget{TransportKind::kTcp, "127.0.0.1:1", "udp"}).code() ==
        make_error_code(local_errc::config_invalid));
  CHECK(check_dial_target(DialTarget{TransportKind::kTcp, "127.0.0.1:1", ""}).ok());
}

TEST_CASE("transport: [Dial.Ws] is rejected naming Boost.Beast") {
  DialTarget ws{TransportKind::kWebSocket, "ws://127.0.0.1:8080/", ""};
  auto checked = check_dial_target(ws);
  CHECK(checked.code() == make_error_code(local_errc::config_invalid));
  CHECK(checked.message().find("Boost.Beast") != std::string::npos);
  ClientOptions options;
  options.target = ws;
  auto client = ThinClient::connect(options);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().message().find("[Dial.Ws]") != std::string::npos);
}

TEST_CASE("transport: describe_dial_target names the transport") {
  CHECK(describe_dial_target(DialTarget{TransportKind::kUnix, "@kpclientd", ""}) == "unix:@kpclientd");
  CHECK(describe_dial_target(DialTarget{TransportKind::kTcp, "localhost:64331", ""}) == "tcp:localhost:64331");
  CHECK(describe_dial_target(DialTarget{TransportKind::kTcp, "[::1]:1", "tcp6"}) == "tcp6:[::1]:1");
}

}  // namespace kpthin::testing
