// Test harness for kpclientd-sim: starts the simulator binary as a child process (waiting for
// its ready line), talks to its control socket, and speaks raw protocol frames to it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kpthin/codec.hpp"
#include "kpthin/config.hpp"
#include "kpthin/messages.hpp"

namespace kpsim_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One simulator process, listening on a fresh abstract unix socket with a control socket.
class SimProcess {
 public:
  explicit SimProcess(std::vector<std::string> extra_args = {});
  ~SimProcess();  // SIGKILL if still running

  const kpthin::DialTarget& target() const { return target_; }
  pid_t pid() const { return pid_; }
  // Sends one control command and returns the reply line.
  std::string control(const std::string& command);
  // Value of `key` in the `stats` line (0 if absent).
  std::uint64_t stat(const std::string& key);
  // Waits (bounded) until stat(key) >= value.
  bool wait_stat(const std::string& key, std::uint64_t value, std::chrono::milliseconds deadline = 5s);
  // Waits (bounded) until stat(key) == value.
  bool wait_stat_equal(const std::string& key, std::uint64_t value, std::chrono::milliseconds deadline = 5s);
  // Sends a signal; waits for exit and returns the exit status (-1 on timeout).
  int terminate(int signal, std::chrono::milliseconds deadline = 5s);
  std::string stderr_text() const;  // everything the simulator logged

 private:
  pid_t pid_ = -1;
  kpthin::DialTarget target_;
  std::string control_path_;
  std::string stderr_path_;
};

// A raw protocol connection: frames in, frames out, nothing hidden.
class RawClient {
 public:
  explicit RawClient(const kpthin::DialTarget& target);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Reads the two handshake frames, sends session_token, reads until session_token_reply.
  // Frames that arrive before the reply are kept in `early` (resume flushes).
  void handshake(const kpthin::InstanceToken& token);

  void send(const kpthin::Request& request, kpthin::EnvelopeForm form = kpthin::EnvelopeForm::kMinimal);
  void send_raw(const kpthin::Bytes& bytes);
  // Next response; nullopt on timeout or EOF (closed() tells which).
  std::optional<kpthin::Response> receive(std::chrono::milliseconds timeout = 5s);
  // Next response satisfying `match`, skipping others (kept in `skipped`).
  std::optional<kpthin::Response> receive_until(const std::function<bool(const kpthin::Response&)>& match,
                                                std::chrono::milliseconds timeout = 5s);
  // A request with a fresh query id, and the reply with that id.
  template <class Reply, class Req>
  std::optional<Reply> call(Req request, std::chrono::milliseconds timeout = 5s);
  bool closed() const { return closed_; }

  kpthin::ConnectionStatusEvent status;
  kpthin::NewPkiDocumentEvent pki;
  kpthin::SessionTokenReply token_reply;
  std::vector<kpthin::Response> early;
  std::vector<kpthin::Response> skipped;
  kpthin::Bytes last_body;  // the CBOR body of the frame receive() returned last (for shape checks)

 private:
  int fd_ = -1;
  bool closed_ = false;
  kpthin::Bytes buffer_;
};

kpthin::QueryId fresh_query_id();
std::optional<kpthin::QueryId> reply_query_id(const kpthin::Response& response);

template <class Reply, class Req>
std::optional<Reply> RawClient::call(Req request, std::chrono::milliseconds timeout) {
  const kpthin::QueryId id = fresh_query_id();
  request.query_id = id;
  send(kpthin::Request{std::move(request)});
  auto response = receive_until(
      [&](const kpthin::Response& r) { return std::holds_alternative<Reply>(r) && reply_query_id(r) == id; }, timeout);
  if (!response) return std::nullopt;
  return std::get<Reply>(std::move(*response));
}

// Caps etc. through raw calls, for brevity in tests.
struct RawChannel {
  kpthin::SecretBytes write_cap;
  kpthin::Bytes read_cap;
  kpthin::Bytes first_index;
};
RawChannel raw_keypair(RawClient& client, std::uint8_t seed_byte);
kpthin::SecretBytes seed_of(std::uint8_t byte);

}  // namespace kpsim_test
