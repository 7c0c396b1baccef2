// Everything a kpclientd-sim instance can be told at start-up (see kpclientd-sim(1)).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kpthin/config.hpp"

namespace kpsim {

using Millis = std::chrono::milliseconds;

// "Answer the next `count` requests with key `request_key` with `code`" (count 0 = forever).
struct FailRule {
  std::string request_key;
  std::uint8_t code = 0;
  std::uint64_t count = 1;
};

struct SimOptions {
  kpthin::DialTarget listen{kpthin::TransportKind::kUnix, "@kpclientd-sim", ""};
  std::optional<std::string> control_path;  // unix path or @abstract
  Millis latency{0};                        // per mixnet round trip
  Millis jitter{0};                         // uniform extra delay in [0, jitter]
  Millis pacing{0};                         // 0 = off; else release one mixnet request per tick
  bool offline = false;                     // is_connected false; mixnet work waits
  bool no_pki = false;                      // handshake without a document (code 4/10 paths)
  // Accept connections but hold back handshake frames 1 and 2 until `release`, as kpclientd does
  // while it has no PKI document (up to a minute after it starts).
  bool hold_handshake = false;
  Millis grace{std::chrono::minutes(10)};   // session grace period (kpclientd default)
  // kpclientd drops a Pigeonhole reply that completes while its session is disconnected
  // (spec §2.3), and so does the sim. This switch instead queues such replies with the legacy
  // ones, to be flushed before session_token_reply on resume: not kpclientd's behaviour, only a
  // way to tell a client's reconnect bug from its handling of the loss.
  bool keep_replies_while_disconnected = false;
  // Append-only file the box store is kept in, so boxes outlive the simulator process (they live
  // on replicas, not in kpclientd); unset = memory only.
  std::optional<std::string> store_path;
  std::vector<FailRule> fail_rules;
  // Faults by flag: after the N-th request (session_token not counted), once.
  std::optional<std::uint64_t> drop_after;
  std::optional<std::uint64_t> restart_after;
  std::optional<std::uint64_t> shutdown_after;
};

}  // namespace kpsim
