// kpclientd-sim benchmark: operations per second the simulator sustains with 64 requests in
// flight and zero latency (new keypair; write+read pairs, each pair being encrypt_write,
// start_resending write, encrypt_read, start_resending read), and its RSS holding 100,000
// stored boxes. Prints figures; exits non-zero only if something fails.
//
// Usage: kpclientd_sim_bench [keypairs] [pairs] [boxes]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <iterator>
#include <sstream>
#include <string>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "../sim_harness.hpp"

using namespace kpthin;
using namespace kpsim_test;

namespace {

constexpr int kInFlight = 64;

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// CPU seconds (user + system) the process has used: the figures below are also given per
// simulator CPU second, which stays meaningful on a loaded machine.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(content.substr(content.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Response next_reply(RawClient& client) {
  auto r = client.receive(30s);
  if (!r) throw std::runtime_error("simulator stopped answering");
  return std::move(*r);
}

std::uint8_t error_code_of(const Response& r) {
  return std::visit([](const auto& x) -> std::uint8_t {
    if constexpr (requires { x.error_code; }) return static_cast<std::uint8_t>(x.error_code);
    else return 0;
  }, r);
}

double bench_keypairs(RawClient& client, int total) {
  int sent = 0, done = 0;
  const auto start = Clock::now();
  while (done < total) {
    while (sent < total && sent - done < kInFlight) {
      Bytes seed(32, 0);
      std::memcpy(seed.data(), &sent, sizeof sent);
      client.send(NewKeypair{fresh_query_id(), SecretBytes(std::move(seed))});
      ++sent;
    }
    if (error_code_of(next_reply(client)) != 0) throw std::runtime_error("new_keypair failed");
    ++done;
  }
  return total / seconds_since(start);
}

// One write+read chain per slot; each step's reply triggers the next request.
struct Slot {
  SecretBytes write_cap;
  Bytes read_cap;
  Bytes index;
  int stage = 0;
  EncryptWriteReply written;
  EncryptReadReply readable;
};

double bench_pairs(RawClient& client, int total_pairs, bool reads) {
  std::vector<Slot> slots(kInFlight);
  for (int i = 0; i < kInFlight; ++i) {
    Bytes seed(32, static_cast<std::uint8_t>(i));
    seed[1] = reads ? 1 : 2;
    client.send(NewKeypair{fresh_query_id(), SecretBytes(std::move(seed))});
    auto reply = std::get<NewKeypairReply>(next_reply(client));
    slots[static_cast<std::size_t>(i)] = Slot{std::move(reply.write_cap), std::move(reply.read_cap),
                                             std::move(reply.first_message_index), 0, {}, {}};
  }
  std::map<QueryId, int> owner;
  int started = 0, completed = 0;
  auto step = [&](int s) {
    Slot& slot = slots[static_cast<std::size_t>(s)];
    const QueryId q = fresh_query_id();
    owner[q] = s;
    switch (slot.stage) {
      case 0: client.send(EncryptWrite{q, Bytes(64, 'b'), slot.write_cap, slot.index}); break;
      case 1: {
        StartResendingEncryptedMessage r;
        r.query_id = q;
        r.write_cap = slot.write_cap;
        r.envelope_descriptor = slot.written.envelope_descriptor;
        r.message_ciphertext = slot.written.message_ciphertext;
        r.envelope_hash = slot.written.envelope_hash;
        client.send(r);
        break;
      }
      case 2: client.send(EncryptRead{q, slot.read_cap, slot.index}); break;
      case 3: {
        StartResendingEncryptedMessage r;
        r.query_id = q;
        r.read_cap = slot.read_cap;
        r.message_box_index = slot.index;
        r.envelope_descriptor = slot.readable.envelope_descriptor;
        r.message_ciphertext = slot.readable.message_ciphertext;
        r.envelope_hash = slot.readable.envelope_hash;
        r.no_retry_on_box_id_not_found = true;
        client.send(r);
        break;
      }
    }
  };
  const auto start = Clock::now();
  for (int s = 0; s < kInFlight && started < total_pairs; ++s, ++started) step(s);
  while (completed < total_pairs) {
    Response r = next_reply(client);
    if (error_code_of(r) != 0) throw std::runtime_error(std::string("request failed: ") + response_key(r));
    const auto it = owner.find(*response_query_id(r));
    const int s = it->second;
    owner.erase(it);
    Slot& slot = slots[static_cast<std::size_t>(s)];
    bool pair_done = false;
    switch (slot.stage) {
      case 0: slot.written = std::get<EncryptWriteReply>(std::move(r)); slot.stage = 1; break;
      case 1: slot.stage = reads ? 2 : 0; pair_done = !reads; break;
      case 2: slot.readable = std::get<EncryptReadReply>(std::move(r)); slot.stage = 3; break;
      case 3: slot.stage = 0; pair_done = true; break;
    }
    if (pair_done) {
      slot.index = slot.written.next_message_box_index;
      ++completed;
      if (started >= total_pairs) continue;
      ++started;
    }
    step(s);
  }
  return total_pairs / seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  const int keypairs = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int pairs = argc > 2 ? std::atoi(argv[2]) : 10000;
  const int boxes = argc > 3 ? std::atoi(argv[3]) : 100000;
  try {
    SimProcess sim({"--log-level", "warn"});
    RawClient client(sim.target());
    client.handshake(fresh_query_id());
    const long rss_start = rss_kib(sim.pid());

    double cpu = cpu_seconds(sim.pid());
    const double kp = bench_keypairs(client, keypairs);
    double used = cpu_seconds(sim.pid()) - cpu;
    std::printf("new_keypair:       %9.0f ops/s wall, %9.0f ops per sim CPU second  (%d requests, %d in flight, latency 0)\n",
                kp, keypairs / used, keypairs, kInFlight);
    cpu = cpu_seconds(sim.pid());
    const double wr = bench_pairs(client, pairs, true);
    used = cpu_seconds(sim.pid()) - cpu;
    std::printf("write+read pairs:  %9.0f pairs/s wall, %9.0f pairs per sim CPU second  (%d pairs = 4 requests each, %d in flight)\n",
                wr, pairs / used, pairs, kInFlight);
    const long rss_before_fill = rss_kib(sim.pid());
    const std::uint64_t stored_before = sim.stat("boxes");
    const auto fill_start = Clock::now();
    bench_pairs(client, boxes, false);
    const double fill = boxes / seconds_since(fill_start);
    const std::uint64_t stored = sim.stat("boxes");
    const long rss_full = rss_kib(sim.pid());
    std::printf("writes (fill):          %9.0f boxes/s\n", fill);
    std::printf("RSS: %ld KiB at start, %ld KiB before the fill, %ld KiB holding %llu boxes (%.0f bytes/box, 64-byte payloads)\n",
                rss_start, rss_before_fill, rss_full, static_cast<unsigned long long>(stored),
                (rss_full - rss_before_fill) * 1024.0 / static_cast<double>(stored - stored_before));
    sim.terminate(SIGTERM);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kpclientd_sim_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
