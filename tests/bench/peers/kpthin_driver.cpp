// kpthin_peer_driver: one workload of the side-by-side peer benchmark (scripts/bench --peers)
// through libkpthin. The Python, Rust and Go drivers beside this file run the same workloads with
// the same arguments and print the same line, so tests/bench/peers/peerbench.py can compare them.
//
// Usage: kpthin_peer_driver THINCLIENT_TOML WORKLOAD N
//   connect    N times: load the config, connect (handshake), one new_keypair, close
//   keypair1   N new_keypair round trips, one in flight
//   keypair64  N new_keypair round trips, 64 in flight
//   pair       N box write + read pairs on one channel (encrypt_write, start_resending write,
//              encrypt_read, start_resending read; the read must return what was written)
// Everything but `connect` connects and warms up first, outside the measured phase.
// Prints one JSON line: {"ops": N, "wall_s": W, "cpu_s": C}, C being this process's user+system
// CPU time (all threads) in the measured phase. Exits non-zero on any failed request.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <random>
#include <string>

#include "kpthin/client.hpp"
#include "kpthin/config.hpp"
#include "kpthin/pigeonhole.hpp"

using namespace kpthin;

namespace {

constexpr auto kTimeout = std::chrono::seconds(30);
constexpr int kWarmup = 50;
constexpr int kDepth = 64;

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "kpthin driver: %s: %s\n", what.c_str(), status.message().c_str());
  std::exit(1);
}

SecretBytes seed() { return SecretBytes(Bytes(kSeedSize, 0x42)); }

// A fresh channel per run: boxes from an earlier run must not turn writes into rewrites.
SecretBytes random_seed() {
  std::random_device device;
  Bytes bytes(kSeedSize);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(device());
  return SecretBytes(std::move(bytes));
}

std::unique_ptr<ThinClient> connect(const std::string& config) {
  auto target = load_config(config);
  if (!target.ok()) die("config", target.status());
  ClientOptions options;
  options.target = *target;
  options.reconnect = false;
  auto client = ThinClient::connect(options);
  if (!client.ok()) die("connect", client.status());
  return std::move(*client);
}

void keypair(ThinClient& client) {
  auto reply = Pigeonhole(client).new_keypair(seed(), kTimeout);
  if (!reply.ok()) die("new_keypair", reply.status());
}

void connect_cycles(const std::string& config, int n) {
  for (int i = 0; i < n; ++i) {
    auto client = connect(config);
    keypair(*client);
    client->close();
  }
}

// `total` new_keypair round trips with `depth` in flight through call_async, libkpthin's way of
// keeping many requests outstanding from one thread.
void keypairs_in_flight(ThinClient& client, int depth, int total) {
  std::mutex mu;
  std::condition_variable done_cv;
  int issued = 0, completed = 0, failed = 0;
  std::function<void(Result<Response>)> on_reply;
  auto issue = [&] {
    {
      std::lock_guard lock(mu);
      if (issued >= total) return;
      ++issued;
    }
    if (!client.call_async(NewKeypair{std::nullopt, seed()}, on_reply).ok()) std::abort();
  };
  on_reply = [&](Result<Response> reply) {
    const bool ok = reply.ok() && std::holds_alternative<NewKeypairReply>(reply.value());
    issue();  // before counting: the last count lets this function return
    std::lock_guard lock(mu);
    ++completed;
    if (!ok) ++failed;
    if (completed == total) done_cv.notify_all();
  };
  for (int i = 0; i < depth; ++i) issue();
  std::unique_lock lock(mu);
  done_cv.wait(lock, [&] { return completed == total; });
  if (failed != 0) die("new_keypair", Status());
}

struct Channel {
  Keypair keys;
  Bytes index;
};

void pairs(Pigeonhole& ph, Channel& channel, int n) {
  const Bytes payload(100, 'p');
  for (int i = 0; i < n; ++i) {
    auto write = ph.encrypt_write(payload, channel.keys.write_cap, channel.index, kTimeout);
    if (!write.ok()) die("encrypt_write", write.status());
    auto written = ph.start_resending_write(*write, channel.keys.write_cap, {}, kTimeout);
    if (!written.ok()) die("start_resending write", written.status());
    auto read = ph.encrypt_read(channel.keys.read_cap, channel.index, kTimeout);
    if (!read.ok()) die("encrypt_read", read.status());
    auto got = ph.start_resending_read(*read, channel.keys.read_cap, channel.index, {}, kTimeout);
    if (!got.ok()) die("start_resending read", got.status());
    if (!got->plaintext || *got->plaintext != payload) die("read", Status());
    channel.index = write->next_message_box_index;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: kpthin_peer_driver THINCLIENT_TOML connect|keypair1|keypair64|pair N\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  const std::string config = argv[1], workload = argv[2];
  const int n = std::atoi(argv[3]);

  std::function<void()> measured;
  std::unique_ptr<ThinClient> client;
  std::unique_ptr<Pigeonhole> ph;
  Channel channel;
  if (workload == "connect") {
    measured = [&] { connect_cycles(config, n); };
  } else {
    client = connect(config);
    ph = std::make_unique<Pigeonhole>(*client);
    if (workload == "keypair1") {
      for (int i = 0; i < kWarmup; ++i) keypair(*client);
      measured = [&] { for (int i = 0; i < n; ++i) keypair(*client); };
    } else if (workload == "keypair64") {
      keypairs_in_flight(*client, kDepth, kWarmup * 4);
      measured = [&] { keypairs_in_flight(*client, kDepth, n); };
    } else if (workload == "pair") {
      auto keys = ph->new_keypair(random_seed(), kTimeout);
      if (!keys.ok()) die("new_keypair", keys.status());
      channel.index = keys->first_message_index;
      channel.keys = std::move(*keys);
      pairs(*ph, channel, kWarmup / 5);
      measured = [&] { pairs(*ph, channel, n); };
    } else {
      std::fprintf(stderr, "kpthin driver: unknown workload %s\n", workload.c_str());
      return 2;
    }
  }
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  measured();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  if (client) client->close();
  std::printf("{\"ops\": %d, \"wall_s\": %.6f, \"cpu_s\": %.6f}\n", n, wall, cpu);
  return 0;
}
