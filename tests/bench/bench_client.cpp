// kpthin_bench_client: ThinClient round trips per second for a new_keypair-sized request/reply
// over a unix socket against an in-process peer, with 1 and with 64 requests in flight, and the
// process's peak RSS with 10,000 requests in flight. With --against, round trips against a real
// daemon or kpclientd-sim instead (see against()).
//
// The peer answers every request with a pre-encoded Go-form new_keypair_reply (1242-byte body,
// as kpclientd sends it) whose query_id it patches in, so the figures measure the client: its
// encoding, framing, socket I/O, reply decoding and query-id correlation.
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kpthin/client.hpp"
#include "kpthin/codec.hpp"
#include "kpthin/config.hpp"
#include "kpthin/frame.hpp"

using namespace kpthin;
using Clock = std::chrono::steady_clock;

namespace {

const Bytes kQueryIdKey = {0x68, 'q', 'u', 'e', 'r', 'y', '_', 'i', 'd', 0x50};

Bytes encoded(const Response& response) { return make_frame(encode_response(response, EnvelopeForm::kGoFull)); }

// The byte offset of the 16-byte query_id value inside an encoded frame, 0 if it has none.
std::size_t query_id_offset(ByteView frame) {
  auto it = std::search(frame.begin(), frame.end(), kQueryIdKey.begin(), kQueryIdKey.end());
  if (it == frame.end()) return 0;
  return static_cast<std::size_t>(it - frame.begin()) + kQueryIdKey.size();
}

class Peer {
 public:
  explicit Peer(std::string name) : name_(std::move(name)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path + 1, name_.data(), name_.size());
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_.size());
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&sa), length) != 0 || ::listen(listener_, 1) != 0) std::abort();

    NewKeypairReply reply;
    reply.query_id = QueryId{};
    reply.write_cap = SecretBytes(Bytes(kWriteCapSize, 0xa1));
    reply.read_cap = Bytes(kReadCapSize, 0xa2);
    reply.first_message_index = Bytes(kMessageBoxIndexSize, 0xa3);
    reply_template_ = encoded(reply);
    reply_query_offset_ = query_id_offset(reply_template_);
    thread_ = std::thread([this] { run(); });
  }
  ~Peer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  std::string address() const { return "@" + name_; }
  // While holding, requests are collected and not answered until release().
  void hold(bool on) { holding_ = on; }
  std::size_t held() const { return held_count_.load(); }

 private:
  void run() {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return;
    const int conn = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    ConnectionStatusEvent status;
    status.is_connected = true;
    status.sphinx_geometry = SphinxGeometry{};
    status.pigeonhole_geometry = PigeonholeGeometry{};
    write_all(conn, encoded(status));
    write_all(conn, encoded(NewPkiDocumentEvent{}));

    FrameDecoder decoder;
    std::vector<std::uint8_t> buffer(256 * 1024);
    std::vector<Bytes> held;
    Bytes out;
    bool greeted = false;
    while (!stop_) {
      pollfd c{conn, POLLIN, 0};
      if (::poll(&c, 1, 20) != 1) {
        if (!holding_ && !held.empty()) {
          for (const auto& frame : held) append_reply(out, frame);
          held.clear();
          held_count_ = 0;
          write_all(conn, out);
          out.clear();
        }
        continue;
      }
      const auto n = ::recv(conn, buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      decoder.feed(ByteView(buffer.data(), static_cast<std::size_t>(n)));
      for (;;) {
        auto next = decoder.next();
        if (!next.ok() || !next->has_value()) break;
        Bytes body = std::move(**next);
        if (!greeted) {  // the session token
          greeted = true;
          write_all(conn, encoded(SessionTokenReply{}));
          continue;
        }
        if (holding_) {
          held.push_back(std::move(body));
          held_count_ = held.size();
        } else {
          append_reply(out, body);
        }
      }
      if (!out.empty()) {
        write_all(conn, out);
        out.clear();
      }
    }
    ::close(conn);
  }

  void append_reply(Bytes& out, ByteView request) {
    const std::size_t from = query_id_offset(request);
    if (from == 0) return;  // thin_close
    const std::size_t at = out.size();
    out.insert(out.end(), reply_template_.begin(), reply_template_.end());
    std::memcpy(out.data() + at + reply_query_offset_, request.data() + from, 16);
  }

  static void write_all(int fd, ByteView bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const auto n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }

  std::string name_;
  int listener_ = -1;
  Bytes reply_template_;
  std::size_t reply_query_offset_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> holding_{false};
  std::atomic<std::size_t> held_count_{0};
  std::thread thread_;
};

Request keypair_request() { return NewKeypair{std::nullopt, SecretBytes(Bytes(kSeedSize, 0x42))}; }

// Round trips per second with `depth` requests kept in flight through call_async.
double pipelined(ThinClient& client, int depth, int total) {
  std::mutex mu;
  std::condition_variable done_cv;
  std::atomic<int> issued{0};
  int completed = 0;
  int failed = 0;
  std::function<void(Result<Response>)> on_reply;
  auto issue = [&] {
    if (issued.fetch_add(1) >= total) return;
    if (!client.call_async(keypair_request(), on_reply).ok()) std::abort();
  };
  on_reply = [&](Result<Response> reply) {
    const bool ok = reply.ok() && std::holds_alternative<NewKeypairReply>(reply.value());
    // Issue the next request before counting this reply: once the count reaches `total`,
    // pipelined() returns and every local captured here is gone.
    issue();
    std::lock_guard lock(mu);
    ++completed;
    if (!ok) ++failed;
    if (completed == total) done_cv.notify_all();
  };
  const auto start = Clock::now();
  for (int i = 0; i < depth; ++i) issue();
  std::unique_lock lock(mu);
  done_cv.wait(lock, [&] { return completed == total; });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (failed != 0) {
    std::fprintf(stderr, "%d replies failed\n", failed);
    std::exit(1);
  }
  return total / seconds;
}

// Round trips per second with one blocking call() at a time.
double blocking(ThinClient& client, int total) {
  const auto start = Clock::now();
  for (int i = 0; i < total; ++i) {
    auto reply = client.call(keypair_request(), std::chrono::seconds(10));
    if (!reply.ok()) {
      std::fprintf(stderr, "call failed: %s\n", reply.status().message().c_str());
      std::exit(1);
    }
  }
  return total / std::chrono::duration<double>(Clock::now() - start).count();
}

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

// --against CONFIG N: N blocking new_keypair round trips against the daemon CONFIG names (a
// kpclientd-sim), nothing else in the process; tests/bench/instructions.py counts its
// instructions under callgrind for two values of N to price one round trip.
static int against(const char* config, int rounds) {
  auto target = load_config(config);
  if (!target.ok()) {
    std::fprintf(stderr, "config: %s\n", target.status().message().c_str());
    return 1;
  }
  ClientOptions options;
  options.target = *target;
  options.reconnect = false;
  auto connected = ThinClient::connect(options);
  if (!connected.ok()) {
    std::fprintf(stderr, "connect: %s\n", connected.status().message().c_str());
    return 1;
  }
  blocking(**connected, rounds);
  (*connected)->close();
  return 0;
}

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  if (argc == 4 && std::string(argv[1]) == "--against") return against(argv[2], std::atoi(argv[3]));
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  Peer peer("kpthin-bench-" + std::to_string(::getpid()));
  ClientOptions options;
  options.target.address = peer.address();
  options.reconnect = false;
  auto connected = ThinClient::connect(options);
  if (!connected.ok()) {
    std::fprintf(stderr, "connect: %s\n", connected.status().message().c_str());
    return 1;
  }
  ThinClient& client = **connected;
  const int rounds = quick ? 2000 : 200000;

  blocking(client, quick ? 200 : 2000);  // warm up
  const double one = blocking(client, rounds / 4);
  const double one_async = pipelined(client, 1, rounds / 4);
  const double cpu_before = cpu_seconds();
  const double sixty_four = pipelined(client, 64, rounds);
  // Round trips per CPU-second of the whole process (client and peer together): what one
  // dedicated core would sustain, independent of other load on the machine.
  const double sixty_four_per_cpu = rounds / (cpu_seconds() - cpu_before);

  const long rss_before = peak_rss_kib();
  const int in_flight = 10000;
  peer.hold(true);
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  for (int i = 0; i < in_flight; ++i) {
    auto sent = client.call_async(keypair_request(), [&](Result<Response> reply) {
      std::lock_guard lock(mu);
      if (reply.ok()) ++answered;
      cv.notify_all();
    });
    if (!sent.ok()) return 1;
  }
  while (peer.held() < static_cast<std::size_t>(in_flight)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const long rss_in_flight = peak_rss_kib();
  peer.hold(false);
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return answered == in_flight; });
  }

  std::printf("kpthin client benchmark (unix socket, new_keypair request %s, Go-form reply 1246 bytes)\n",
              "83 bytes");
  std::printf("  1 in flight, blocking call():   %10.0f round trips/s\n", one);
  std::printf("  1 in flight, call_async():      %10.0f round trips/s\n", one_async);
  std::printf("  64 in flight, call_async():     %10.0f round trips/s (wall clock)\n", sixty_four);
  std::printf("  64 in flight, per CPU-second:   %10.0f round trips/s  (goal >= 50000 on one core)\n",
              sixty_four_per_cpu);
  std::printf("  peak RSS before:                %10.1f MB\n", rss_before / 1024.0);
  std::printf("  peak RSS, 10000 in flight:      %10.1f MB  (goal < 30 MB)\n", rss_in_flight / 1024.0);
  client.close();
  return 0;
}
