#include "session.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "kpthin/config.hpp"
#include "kpthin/errors.hpp"
#include "output.hpp"

namespace kpthin::cli {
namespace {

// kpclientd holds back the handshake until it has a PKI document: up to 30 s per connection, and
// about 60 s for the first connection after the daemon starts (measured with v0.0.99).
constexpr Duration kDefaultConnectTimeout = std::chrono::seconds(65);
constexpr Duration kLocalCap = std::chrono::seconds(60);

bool file_exists(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

std::string describe_target(const DialTarget& target) {
  switch (target.kind) {
    case TransportKind::kUnix: return "unix socket " + target.address;
    case TransportKind::kTcp: return "tcp " + target.address;
    case TransportKind::kWebSocket: return "websocket " + target.address;
  }
  return target.address;
}

}  // namespace

std::filesystem::path resolve_config_path(const std::string& flag) {
  if (!flag.empty()) {
    if (!file_exists(flag)) {
      fail(ExitCode::kConfig, "config file " + flag + " does not exist; pass the path of a thinclient.toml");
    }
    return flag;
  }
  std::string looked;
  if (const char* env = std::getenv("KPTHIN_CONFIG"); env && *env) {
    if (!file_exists(env)) {
      fail(ExitCode::kConfig, std::string("KPTHIN_CONFIG names ") + env +
                                  ", which does not exist; fix the variable or pass -c FILE");
    }
    return env;
  }
  if (file_exists("thinclient.toml")) return "thinclient.toml";
  looked = "./thinclient.toml";
  std::filesystem::path xdg;
  if (const char* env = std::getenv("XDG_CONFIG_HOME"); env && *env) {
    xdg = std::filesystem::path(env) / "kpthin" / "thinclient.toml";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    xdg = std::filesystem::path(home) / ".config" / "kpthin" / "thinclient.toml";
  }
  if (!xdg.empty()) {
    if (file_exists(xdg)) return xdg;
    looked += ", " + xdg.string();
  }
  fail(ExitCode::kConfig, "no thinclient.toml found (looked in $KPTHIN_CONFIG, " + looked +
                              "); pass -c FILE or set KPTHIN_CONFIG");
}

Session::Session(const GlobalOptions& global) {
  std::filesystem::path path = resolve_config_path(global.config);
  Result<DialTarget> target = load_config(path);
  if (!target) {
    fail(ExitCode::kConfig, "config " + path.string() + " is invalid: " + target.status().message() +
                                "; fix it (see thinclient.toml in kpthin(1))");
  }
  wait_ = global.timeout.value_or(kWaitForever);
  local_ = std::min(wait_, kLocalCap);
  ClientOptions options;
  options.target = *target;
  // A short command should notice a restarted daemon quickly rather than after 1-60 s.
  options.reconnect_initial = std::chrono::milliseconds(50);
  options.reconnect_max = std::chrono::seconds(2);
  options.connect_timeout = std::min(wait_, kDefaultConnectTimeout);
  info("connecting to kpclientd at " + describe_target(*target) + " (config " + path.string() + ")");
  // kpclientd may hold the handshake for a minute; Ctrl-C ends the wait (libkpthin's I/O thread
  // blocks signals, so the handler runs here and connect() sees the flag).
  options.interrupt = &cancel_flag();
  Result<std::unique_ptr<ThinClient>> client = ThinClient::connect(options);
  throw_if_interrupted();
  if (!client) {
    ExitCode code = exit_code_for(client.status());
    if (code == ExitCode::kOk || code == ExitCode::kOther || code == ExitCode::kProtocol ||
        code == ExitCode::kUsage) {
      code = ExitCode::kDaemonUnreachable;
    }
    if (code == ExitCode::kTimeout) {
      fail(code, "kpclientd at " + describe_target(*target) + " did not complete the handshake within " +
                     std::to_string(options.connect_timeout.count()) + " ms; check that it is a kpclientd");
    }
    fail(code, "cannot reach kpclientd at " + describe_target(*target) + ": " + client.status().message() +
                   "; check that the daemon is running and that " + path.string() + " points at it");
  }
  client_ = std::move(client).value();
  pigeonhole_ = std::make_unique<Pigeonhole>(*client_);
  // Offline, the real kpclientd answers encrypt_* with a bare "internal error" and reads wait
  // forever; name the reason in those failures.
  set_failure_cause([client = client_.get()] {
    return client->mixnet_connected() ? std::string()
                                      : std::string("kpclientd reports no connection to the mixnet; check its log");
  });
}

Session::~Session() { close(); }

std::size_t Session::box_payload_limit() const {
  return static_cast<std::size_t>(client_->pigeonhole_geometry().MaxPlaintextPayloadLength);
}

void Session::close() {
  set_failure_cause(nullptr);
  if (client_) {
    client_->close();
    pigeonhole_.reset();
    client_.reset();
  }
}

Duration Session::reconnect_grace() const { return std::min<Duration>(wait_, std::chrono::seconds(30)); }

bool Session::is_disconnect(const Status& status) {
  return status.code() == make_error_code(local_errc::disconnected) ||
         status.code() == make_error_code(thin_errc::connection_lost);
}

bool Session::wait_for_reconnect(std::chrono::steady_clock::time_point deadline) {
  // In short slices, so Ctrl-C is noticed while the library redials.
  while (!client_->wait_until_connected(std::chrono::milliseconds(50))) {
    if (interrupted() || std::chrono::steady_clock::now() >= deadline) return false;
  }
  return true;
}

SecretBytes random_seed() {
  Bytes seed(kSeedSize);
  std::size_t got = 0;
  while (got < seed.size()) {
    ssize_t n = ::getrandom(seed.data() + got, seed.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(ExitCode::kOther, std::string("cannot get random bytes: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  return SecretBytes(std::move(seed));
}

}  // namespace kpthin::cli
