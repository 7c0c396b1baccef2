// A connected session with kpclientd for one command: resolves thinclient.toml (-c, then
// $KPTHIN_CONFIG, ./thinclient.toml, $XDG_CONFIG_HOME/kpthin/thinclient.toml), connects with a
// bounded handshake, and always ends with thin_close so the daemon drops this session's state.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <type_traits>

#include "global_options_fwd.hpp"
#include "kpthin/client.hpp"
#include "kpthin/pigeonhole.hpp"

namespace kpthin::cli {

// The config file to use; throws CliError(kConfig) listing where it looked.
std::filesystem::path resolve_config_path(const std::string& flag);

class Session {
 public:
  // Loads the config (errors: exit 3) and connects (errors: exit 4; --timeout also bounds the
  // handshake).
  explicit Session(const GlobalOptions& global);
  ~Session();  // close()
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  ThinClient& client() { return *client_; }
  Pigeonhole& pigeonhole() { return *pigeonhole_; }

  // Bound for waits on the mixnet (boxes, replies): --timeout, or forever.
  Duration wait_timeout() const { return wait_; }
  // Bound for local daemon requests (encrypt, keypair, envelopes): --timeout capped at 60 s.
  Duration local_timeout() const { return local_; }
  // How long a lost daemon connection may take to come back before the command gives up.
  Duration reconnect_grace() const;
  // The largest message one box holds (PigeonholeGeometry.MaxPlaintextPayloadLength).
  std::size_t box_payload_limit() const;

  // Sends thin_close and disconnects; idempotent.
  void close();

  // Runs `call` (returning a Result or Status) and, while it fails only because the daemon
  // socket is down (libkpthin is reconnecting), waits for the connection to return and runs it
  // again. Gives up (returning the failure, which maps to exit 4) after the reconnect grace:
  // 30 s, or --timeout if shorter. Safe for local requests and for start-resending requests,
  // which are not sent while the socket is down.
  template <class F>
  auto retrying(F&& call) -> decltype(call());

 private:
  static bool is_disconnect(const Status& status);
  // Waits until the socket is up again (true) or the grace ran out / Ctrl-C (false).
  bool wait_for_reconnect(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<ThinClient> client_;
  std::unique_ptr<Pigeonhole> pigeonhole_;
  Duration wait_;
  Duration local_;
};

template <class F>
auto Session::retrying(F&& call) -> decltype(call()) {
  auto deadline = std::chrono::steady_clock::time_point::max();
  for (;;) {
    auto result = call();
    Status status;
    if constexpr (std::is_same_v<decltype(result), Status>) {
      status = result;
    } else {
      status = result.status();
    }
    if (status.ok() || !is_disconnect(status)) return result;
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      deadline = std::chrono::steady_clock::now() + reconnect_grace();
    }
    if (!wait_for_reconnect(deadline)) return result;
  }
}

// Fills `seed` with 32 bytes from the kernel's CSPRNG.
SecretBytes random_seed();

}  // namespace kpthin::cli
