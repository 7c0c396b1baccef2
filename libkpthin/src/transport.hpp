// Boost.Asio stream sockets for the daemon connection: unix (path or "@abstract") and tcp
// (TCP_NODELAY), both handed out as one generic stream socket so the client has one code path.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "kpthin/config.hpp"
#include "kpthin/status.hpp"
#include "kpthin/transport.hpp"

namespace kpthin::detail {

namespace asio = boost::asio;
using StreamSocket = asio::generic::stream_protocol::socket;

// The unix endpoint for a configured address. "@name" becomes the abstract name "\0name" with
// length offsetof(sun_path) + 1 + strlen(name) and no trailing NUL, as Go's net package does.
Result<asio::local::stream_protocol::endpoint> unix_endpoint(std::string_view address);

// Splits "host:port" or "[v6 literal]:port" into host and port.
Result<std::pair<std::string, std::string>> split_host_port(std::string_view address);

// Dials `target` on `io`, giving up after `timeout`. `done` runs exactly once on the io_context
// thread with either a connected socket or a failed Status (local_errc::dial_failed or timeout).
using DialHandler = std::function<void(Status, std::unique_ptr<StreamSocket>)>;
void async_dial(asio::io_context& io, const DialTarget& target, std::chrono::milliseconds timeout,
                DialHandler done);

}  // namespace kpthin::detail
