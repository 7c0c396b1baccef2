// A connected session with kpclientd for one command: resolves thinclient.toml (-c, then
// $KPTHIN_CONFIG, ./thinclient.toml, $XDG_CONFIG_HOME/kpthin/thinclient.toml), connects with a
// bounded handshake, and always ends with thin_close so the daemon drops this session's state.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "global_options.hpp"
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
  // The largest message one box holds (PigeonholeGeometry.MaxPlaintextPayloadLength).
  std::size_t box_payload_limit() const;

  // Sends thin_close and disconnects; idempotent.
  void close();

 private:
  std::unique_ptr<ThinClient> client_;
  std::unique_ptr<Pigeonhole> pigeonhole_;
  Duration wait_;
  Duration local_;
};

// Fills `seed` with 32 bytes from the kernel's CSPRNG.
SecretBytes random_seed();

}  // namespace kpthin::cli
