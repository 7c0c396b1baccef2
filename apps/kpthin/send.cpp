// kpthin send: a message to a mixnet service (default echo), printing the reply; --count N
// sends N and reports ping-style statistics.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <thread>

#include "duration.hpp"
#include "exit_codes.hpp"
#include "file_framing.hpp"
#include "global_options.hpp"
#include "input_splitter.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "pki_wait.hpp"
#include "session.hpp"

namespace kpthin::cli {
namespace {

struct SendOptions {
  std::optional<std::string> payload;
  std::string service = "echo";
  std::optional<std::uint64_t> count;
  std::string interval = "1s";
  bool raw = false;
  bool allow_empty = false;
};

// The payload as sent, and the reply as shown: CBOR-framed unless --raw.
Bytes frame(const Bytes& payload, bool raw) { return raw ? payload : encode_cbor_byte_string(view(payload)); }
Bytes unframe(Bytes reply, bool raw) {
  if (raw) return reply;
  if (std::optional<Bytes> inner = decode_cbor_byte_string(view(reply))) return *inner;
  return reply;  // not framed by the service: show it as it came
}

// send_with_reply has no interrupt hook: wait for it on a helper thread and, on Ctrl-C, close the
// session (thin_close) so the call returns and the daemon forgets it.
Result<Bytes> send_interruptibly(Session& session, const ServiceInfo& service, ByteView payload, Duration timeout) {
  Pigeonhole* pigeonhole = &session.pigeonhole();
  auto future = std::async(std::launch::async, [pigeonhole, service, payload, timeout] {
    block_interrupts_in_this_thread();
    return pigeonhole->send_with_reply(service, payload, timeout);
  });
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (interrupted()) {
      session.client().close();
      future.wait();
      fail(ExitCode::kInterrupted, "interrupted while waiting for the reply");
    }
  }
  return future.get();
}

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}

void run_send(const SendOptions& opt, const GlobalOptions& global) {
  auto interval = parse_duration(opt.interval);
  if (!interval) fail(ExitCode::kUsage, "--interval " + opt.interval + " is not a duration; use e.g. 200ms, 1s");
  if (opt.count && *opt.count == 0) fail(ExitCode::kUsage, "--count must be at least 1");
  // As for write and copy, an empty input is most likely a pipeline that produced nothing.
  auto refuse_empty = [&](const Bytes& payload, const char* source) {
    if (payload.empty() && !opt.allow_empty) {
      fail(ExitCode::kUsage, std::string(source) + " is empty; nothing was sent; pass --allow-empty to send an empty message");
    }
  };
  if (opt.payload) refuse_empty(Bytes(opt.payload->begin(), opt.payload->end()), "PAYLOAD");
  Session session(global);
  std::size_t limit = static_cast<std::size_t>(session.client().sphinx_geometry().UserForwardPayloadLength);
  Bytes payload;
  if (opt.payload) {
    payload.assign(opt.payload->begin(), opt.payload->end());
  } else if (opt.count) {
    std::string text = "kpthin ping";
    payload.assign(text.begin(), text.end());
  } else {
    hint_if_reading_terminal(STDIN_FILENO, "the message");
    payload = read_single_message(STDIN_FILENO, limit ? limit : SIZE_MAX, "standard input");
    refuse_empty(payload, "standard input");
  }
  payload = frame(payload, opt.raw);
  if (limit && payload.size() > limit) {
    fail(ExitCode::kUsage, "the payload is " + std::to_string(payload.size()) + " bytes, more than the limit of " +
                               std::to_string(limit) + " bytes for one service message");
  }
  ServiceInfo service = find_service(current_pki_document(session), opt.service, "; pick one with -s/--service");
  std::string where = service.name + "@" + service.node;

  if (!opt.count) {
    auto start = std::chrono::steady_clock::now();
    Result<Bytes> reply = send_interruptibly(session, service, view(payload), session.wait_timeout());
    if (!reply) fail_status(reply.status(), "sending to " + where);
    *reply = unframe(std::move(*reply), opt.raw);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (global.json) {
      // The same keys as each reply of --count, and "data" as read --json names message bytes.
      write_json_line({{"seq", 1}, {"service", service.name}, {"node", service.node}, {"bytes", reply->size()},
                       {"rtt_ms", ms}, {"data", to_base64(view(*reply))}});
    } else {
      write_stdout(view(*reply));
    }
    return;
  }

  // Like ping, every message gets a bounded wait even without --timeout.
  Duration per_message = global.timeout ? session.wait_timeout() : Duration(std::chrono::seconds(60));
  std::uint64_t sent = 0, received = 0;
  double min_ms = 0, max_ms = 0, sum_ms = 0;
  std::optional<Status> last_error;
  for (std::uint64_t i = 0; i < *opt.count && !interrupted(); ++i) {
    if (i > 0) {
      auto until = std::chrono::steady_clock::now() + *interval;
      while (!interrupted() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
            std::chrono::milliseconds(20),
            std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()) +
                std::chrono::milliseconds(1)));
      }
      if (interrupted()) break;
    }
    ++sent;
    auto start = std::chrono::steady_clock::now();
    Result<Bytes> reply = send_interruptibly(session, service, view(payload), per_message);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!reply) {
      last_error = reply.status();
      if (exit_code_for(reply.status()) != ExitCode::kTimeout) fail_status(reply.status(), "sending to " + where);
      if (global.json) {
        write_json_line({{"seq", i + 1}, {"service", service.name}, {"node", service.node}, {"lost", true}});
      } else {
        write_stdout("no reply from " + where + ": seq=" + std::to_string(i + 1) + " timed out\n");
      }
      continue;
    }
    *reply = unframe(std::move(*reply), opt.raw);
    ++received;
    min_ms = received == 1 ? ms : std::min(min_ms, ms);
    max_ms = std::max(max_ms, ms);
    sum_ms += ms;
    if (global.json) {
      write_json_line({{"seq", i + 1}, {"service", service.name}, {"node", service.node}, {"bytes", reply->size()},
                       {"rtt_ms", ms}, {"data", to_base64(view(*reply))}});
    } else {
      write_stdout(std::to_string(reply->size()) + " bytes from " + where + ": seq=" + std::to_string(i + 1) +
                   " time=" + ms_text(ms) + " ms\n");
    }
  }
  double loss = sent ? 100.0 * static_cast<double>(sent - received) / static_cast<double>(sent) : 0;
  double avg = received ? sum_ms / static_cast<double>(received) : 0;
  if (global.json) {
    write_json_line({{"service", service.name}, {"node", service.node}, {"sent", sent}, {"received", received},
                     {"loss_percent", loss}, {"rtt_min_ms", min_ms}, {"rtt_avg_ms", avg}, {"rtt_max_ms", max_ms}});
  } else {
    char line[200];
    std::snprintf(line, sizeof line, "--- %s statistics ---\n%llu sent, %llu received, %.1f%% loss\n", where.c_str(),
                  static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received), loss);
    std::string out = line;
    if (received) out += "rtt min/avg/max = " + ms_text(min_ms) + "/" + ms_text(avg) + "/" + ms_text(max_ms) + " ms\n";
    write_stdout(out);
  }
  throw_if_interrupted();
  if (received < sent) {
    fail(ExitCode::kTimeout, std::to_string(sent - received) + " of " + std::to_string(sent) +
                                 " messages got no reply within the timeout; the mixnet may be slow, raise --timeout");
  }
}

}  // namespace

Command add_send_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<SendOptions>();
  CLI::App* sub = app.add_subcommand("send", "Send a message to a mixnet service and print the reply");
  sub->add_option("PAYLOAD", opt->payload, "the message (default: stdin; with --count: \"kpthin ping\")");
  sub->add_option("-s,--service", opt->service, "service name from the PKI document (default echo)")
      ->type_name("NAME");
  sub->add_option("-n,--count", opt->count, "send N messages and print round-trip statistics like ping")
      ->type_name("N");
  sub->add_option("-i,--interval", opt->interval, "pause between messages with --count, e.g. 200ms; a bare number is seconds (default 1s)")
      ->type_name("DURATION");
  sub->add_flag("--raw", opt->raw,
                "send the payload as is and print the whole (padded) reply; by default both are a CBOR byte "
                "string, as katzenpost's ping does");
  sub->add_flag("--allow-empty", opt->allow_empty, "send an empty message instead of refusing it (exit 2)");
  sub->footer(R"(Examples:
  kpthin send hello                       # prints hello back from the echo service
  kpthin --timeout 60s send --count 5 --interval 200ms
  kpthin --json send -s echo ping)");
  return {sub, [opt, &global] { run_send(*opt, global); }};
}

}  // namespace kpthin::cli
