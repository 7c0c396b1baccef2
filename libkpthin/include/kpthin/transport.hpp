// Dial targets as the transport layer sees them: which ones kpthin can dial, and a readable
// name for messages. The sockets themselves live inside ThinClient (one I/O thread owns them).
#pragma once

#include <string>

#include "kpthin/config.hpp"
#include "kpthin/status.hpp"

namespace kpthin {

// Ok when `target` can be dialled: a unix path or "@abstract" name that fits sun_path, or a
// tcp "host:port" / "[v6]:port" with network "", "tcp", "tcp4" or "tcp6". [Dial.Ws] is rejected
// (local_errc::config_invalid) because kpthin is built without Boost.Beast.
Status check_dial_target(const DialTarget& target);

// "unix:/run/kpclientd.sock", "unix:@kpclientd", "tcp:127.0.0.1:64331", "ws://..." for messages.
std::string describe_dial_target(const DialTarget& target);

}  // namespace kpthin
