// kpclientd-sim: a protocol-faithful kpclientd simulator for hermetic tests and demos.
// See kpclientd-sim(1).
#include <CLI/CLI.hpp>
#include <sodium.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <utility>  // Boost 1.74 asio under C++20 needs std::exchange first
#include <boost/asio.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "kpthin/config.hpp"
#include "simulator.hpp"

namespace {

// Splits on ':'.
std::vector<std::string> split_colons(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  while (true) {
    const auto colon = text.find(':', from);
    parts.push_back(text.substr(from, colon == std::string::npos ? std::string::npos : colon - from));
    if (colon == std::string::npos) return parts;
    from = colon + 1;
  }
}

bool parse_number(const std::string& text, std::uint64_t& value) {
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  value = std::stoull(text);
  return true;
}

// "MS" or "MS:JITTER" in milliseconds.
bool parse_latency(const std::string& text, kpsim::Millis& latency, kpsim::Millis& jitter) {
  const auto parts = split_colons(text);
  std::uint64_t ms = 0, extra = 0;
  if (parts.size() > 2 || !parse_number(parts[0], ms) || (parts.size() == 2 && !parse_number(parts[1], extra))) return false;
  latency = kpsim::Millis(ms);
  jitter = kpsim::Millis(extra);
  return true;
}

// "request_key:code[:count]"
bool parse_fail_rule(const std::string& text, kpsim::FailRule& rule) {
  const auto parts = split_colons(text);
  std::uint64_t code = 0, count = 1;
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() ||
      parts[0].find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos || !parse_number(parts[1], code) ||
      code > 255 || (parts.size() == 3 && !parse_number(parts[2], count)))
    return false;
  rule.request_key = parts[0];
  rule.code = static_cast<std::uint8_t>(code);
  rule.count = count;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kpclientd-sim: a protocol-faithful kpclientd simulator (unix or tcp thin-client socket, "
               "in-memory Pigeonhole store, echo service, fault injection)",
               "kpclientd-sim"};
  kpsim::SimOptions options;
  std::string listen_unix, listen_tcp, network = "tcp", write_config, control, latency, store, log_level = "info";
  std::vector<std::string> fail_rules;
  std::int64_t pacing_ms = 0, grace_s = 600;
  std::uint64_t drop_after = 0, restart_after = 0, shutdown_after = 0;
  bool version = false;

  auto* unix_opt = app.add_option("-u,--listen-unix", listen_unix, "Listen on a unix socket PATH, or @NAME for an abstract socket (default @kpclientd-sim)");
  app.add_option("-t,--listen-tcp", listen_tcp, "Listen on tcp HOST:PORT (port 0 picks a free port)")->excludes(unix_opt);
  app.add_option("--network", network, "tcp network for --listen-tcp: tcp, tcp4 or tcp6")->check(CLI::IsMember({"tcp", "tcp4", "tcp6"}));
  app.add_option("-w,--write-config", write_config, "Write a thinclient.toml for clients to FILE once listening");
  app.add_option("--control", control, "Control socket PATH or @NAME (commands: drop, restart, shutdown, fail KEY CODE [N], fail clear, offline, online, hold, release, stats)");
  app.add_option("--latency", latency, "Delay of every mixnet round trip, MS[:JITTER] (jitter uniform in [0,JITTER])");
  app.add_option("--pacing", pacing_ms, "Release one mixnet request per tick of MS milliseconds, as kpclientd's Poisson sender does (0 = off)")->check(CLI::NonNegativeNumber);
  app.add_flag("--offline", options.offline, "Report is_connected false; local requests work, mixnet requests wait for 'online'");
  app.add_flag("--no-pki", options.no_pki, "Start without a PKI document (null payload in the handshake, code 4/10 paths)");
  app.add_flag("--hold-handshake", options.hold_handshake,
               "Hold back the handshake of new connections until the control command 'release' (kpclientd without a PKI document)");
  app.add_option("--grace", grace_s, "Session grace period in seconds after a disconnect (default 600)")->check(CLI::NonNegativeNumber);
  bool lose_replies = false;
  app.add_flag("--keep-replies-while-disconnected", options.keep_replies_while_disconnected,
               "Queue Pigeonhole replies for a disconnected session and flush them on resume (kpclientd drops them; "
               "for isolating client bugs only)");
  app.add_flag("--lose-replies-while-disconnected", lose_replies,
               "Drop Pigeonhole replies for disconnected sessions, as kpclientd does (the default; kept for old scripts)")
      ->excludes("--keep-replies-while-disconnected");
  app.add_option("--store", store,
                 "Keep the boxes in FILE (append-only, created if missing) so they survive a kill and restart of the sim");
  app.add_option("--fail", fail_rules, "Answer the next N (default 1, 0 = all) requests KEY with error CODE: KEY:CODE[:N]; repeatable");
  app.add_option("--drop-after", drop_after, "Drop all connections once, after the N-th request");
  app.add_option("--restart-after", restart_after, "Simulate a restart once, after the N-th request");
  app.add_option("--shutdown-after", shutdown_after, "Shut down gracefully after the N-th request");
  app.add_option("--log-level", log_level, "stderr log level: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("-V,--version", version, "Print the version and exit");
  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::cout << "kpclientd-sim 0.1.0 (speaks the kpclientd v0.0.99 thin-client protocol)\n";
    return 0;
  }
  auto logger = spdlog::stderr_color_mt("kpclientd-sim");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ kpclientd-sim: %v");
  if (sodium_init() < 0) {
    spdlog::critical("libsodium failed to initialise");
    return 1;
  }

  if (!listen_tcp.empty()) options.listen = {kpthin::TransportKind::kTcp, listen_tcp, network};
  else if (!listen_unix.empty()) options.listen = {kpthin::TransportKind::kUnix, listen_unix, ""};
  if (!control.empty()) options.control_path = control;
  if (!store.empty()) options.store_path = store;
  if (!latency.empty() && !parse_latency(latency, options.latency, options.jitter)) {
    std::cerr << "kpclientd-sim: --latency expects MS or MS:JITTER, got '" << latency << "'\n";
    return 2;
  }
  for (const auto& text : fail_rules) {
    kpsim::FailRule rule;
    if (!parse_fail_rule(text, rule)) {
      std::cerr << "kpclientd-sim: --fail expects request_key:code[:count], got '" << text << "'\n";
      return 2;
    }
    options.fail_rules.push_back(rule);
  }
  options.pacing = kpsim::Millis(pacing_ms);
  options.grace = std::chrono::seconds(grace_s);
  if (drop_after) options.drop_after = drop_after;
  if (restart_after) options.restart_after = restart_after;
  if (shutdown_after) options.shutdown_after = shutdown_after;

  boost::asio::io_context io;
  kpsim::Simulator sim(io, options);
  if (auto status = sim.start(); !status.ok()) {
    spdlog::error("{}", status.message());
    return 1;
  }
  const kpthin::DialTarget target = sim.dial_target();
  if (!write_config.empty()) {
    std::ofstream out(write_config, std::ios::trunc);
    out << kpthin::format_config(target);
    if (!out.flush()) {
      spdlog::error("cannot write {}", write_config);
      return 1;
    }
  }
  // The one line a parent process waits for.
  std::printf("ready %s %s\n", target.kind == kpthin::TransportKind::kTcp ? "tcp" : "unix", target.address.c_str());
  std::fflush(stdout);
  io.run();
  spdlog::info("stopped");
  return 0;
}
