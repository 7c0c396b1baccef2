// kpthin watch: print daemon events (connection status, PKI documents, replies, disconnects)
// as text or JSON lines until interrupted, or until a condition (--until connected|pki), which
// makes it a readiness gate for scripts.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>

#include "duration.hpp"
#include "exit_codes.hpp"
#include "global_options.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "pki_wait.hpp"
#include "session.hpp"

namespace kpthin::cli {
namespace {

struct WatchOptions {
  std::string until;
};

struct Printed {
  nlohmann::json json;
  std::string text;
  bool connected = false;  // a connection status saying the daemon is on the mixnet
  bool pki = false;        // a PKI document
};

Printed pki_event(const std::optional<Bytes>& payload) {
  Printed p;
  p.pki = true;
  p.json = {{"event", "new_pki_document"}};
  p.text = "pki";
  if (!payload) return p;
  Result<PkiDocument> doc = parse_pki_document(view(*payload));
  if (!doc) {
    p.json["reason"] = doc.status().message();
    p.text += " (unparsable: " + doc.status().message() + ")";
    return p;
  }
  std::set<std::string> names;
  for (const ServiceInfo& s : doc->all_services()) names.insert(s.name);
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ",") + n;
  p.json["epoch"] = doc->epoch;
  p.json["services"] = names;
  p.text += " epoch=" + std::to_string(doc->epoch) + " services=" + (list.empty() ? "-" : list);
  return p;
}

Printed describe(const Event& event) {
  Printed p;
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ConnectionStatusEvent>) {
          p.connected = e.is_connected;
          p.json = {{"event", "connection_status"}, {"connected", e.is_connected},
                    {"instance_token", to_hex(view(e.instance_token))}};
          p.text = std::string("connection ") + (e.is_connected ? "connected" : "offline") +
                   " instance=" + to_hex(view(e.instance_token));
        } else if constexpr (std::is_same_v<T, NewPkiDocumentEvent>) {
          p = pki_event(e.payload);
        } else if constexpr (std::is_same_v<T, MessageSentEvent>) {
          p.json = {{"event", "message_sent"}, {"surbid", to_hex(view(e.surbid))}};
          p.text = "sent surbid=" + to_hex(view(e.surbid));
          if (e.err) {
            p.json["reason"] = *e.err;
            p.text += " error=" + *e.err;
          }
        } else if constexpr (std::is_same_v<T, MessageReplyEvent>) {
          p.json = {{"event", "message_reply"}, {"surbid", to_hex(view(e.surbid))}, {"bytes", e.payload.size()},
                    {"data", to_base64(view(e.payload))}, {"error_code", e.error_code}};
          p.text = "reply surbid=" + to_hex(view(e.surbid)) + " bytes=" + std::to_string(e.payload.size());
        } else if constexpr (std::is_same_v<T, MessageIdGarbageCollected>) {
          p.json = {{"event", "message_id_garbage_collected"}, {"message_id", to_hex(view(e.message_id))}};
          p.text = "garbage-collected message_id=" + to_hex(view(e.message_id));
        } else if constexpr (std::is_same_v<T, ShutdownEvent>) {
          p.json = {{"event", "shutdown"}};
          p.text = "shutdown (the daemon is stopping)";
        } else if constexpr (std::is_same_v<T, DaemonDisconnectedEvent>) {
          p.json = {{"event", "disconnected"}, {"graceful", e.is_graceful}, {"reason", e.error}};
          p.text = std::string("disconnected ") + (e.is_graceful ? "gracefully" : "unexpectedly") +
                   (e.error.empty() ? "" : ": " + e.error);
        } else if constexpr (std::is_same_v<T, DaemonReconnectedEvent>) {
          p.json = {{"event", "reconnected"}, {"instance_changed", e.instance_changed}, {"resumed", e.resumed},
                    {"replayed", e.replayed}, {"reissued", e.reissued}};
          p.text = std::string("reconnected") + (e.instance_changed ? " to a restarted daemon" : "") +
                   " resumed=" + (e.resumed ? "true" : "false") + " replayed=" + std::to_string(e.replayed) +
                   " reissued=" + std::to_string(e.reissued);
        }
      },
      event);
  return p;
}

void run_watch(const WatchOptions& opt, const GlobalOptions& global) {
  if (!opt.until.empty() && opt.until != "connected" && opt.until != "pki") {
    fail(ExitCode::kUsage, "--until takes \"connected\" or \"pki\", not \"" + opt.until + "\"");
  }
  Session session(global);
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Event> queue;
  std::uint64_t id = session.client().subscribe([&](const Event& event) {
    std::lock_guard lock(mutex);
    queue.push_back(event);
    changed.notify_all();
  });
  struct Unsubscribe {
    Session& s;
    std::uint64_t id;
    ~Unsubscribe() { s.client().unsubscribe(id); }
  } unsubscribe{session, id};

  auto emit = [&](const Printed& p) {
    if (global.json) {
      write_json_line(p.json);
    } else {
      write_stdout(p.text + "\n");
    }
  };
  auto done = [&](const Printed& p) {
    return (opt.until == "connected" && p.connected) || (opt.until == "pki" && p.pki);
  };
  // The state the handshake already delivered, so a late watcher sees it too.
  ConnectionStatusEvent status;
  status.is_connected = session.client().mixnet_connected();
  status.instance_token = session.client().daemon_instance_token();
  Printed first = describe(Event(status));
  emit(first);
  if (done(first)) return;
  if (std::optional<Bytes> doc = session.client().pki_document()) {
    Printed p = pki_event(doc);
    emit(p);
    if (done(p)) return;
  }

  auto deadline = session.wait_timeout() == kWaitForever
                      ? std::chrono::steady_clock::time_point::max()
                      : std::chrono::steady_clock::now() + session.wait_timeout();
  for (;;) {
    std::optional<Event> event;
    {
      std::unique_lock lock(mutex);
      changed.wait_for(lock, std::chrono::milliseconds(50), [&] { return !queue.empty(); });
      if (!queue.empty()) {
        event = std::move(queue.front());
        queue.pop_front();
      }
    }
    if (event) {
      Printed p = describe(*event);
      emit(p);
      if (done(p)) return;
      continue;
    }
    throw_if_interrupted();
    if (std::chrono::steady_clock::now() >= deadline) {
      if (opt.until.empty()) return;  // --timeout without --until just bounds the watch
      fail(ExitCode::kTimeout, "the daemon did not report " +
                                   std::string(opt.until == "pki" ? "a PKI document" : "a mixnet connection") +
                                   " within " + format_duration(session.wait_timeout()) +
                                   "; check the daemon's log and its mixnet connectivity");
    }
  }
}

}  // namespace

Command add_watch_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<WatchOptions>();
  CLI::App* sub = app.add_subcommand("watch", "Print daemon events until interrupted (or until a condition)");
  sub->add_option("--until", opt->until, "exit 0 as soon as the daemon is connected to the mixnet, or has a PKI document")
      ->type_name("connected|pki");
  sub->footer(R"(Examples:
  kpthin watch                                  # until Ctrl-C
  kpthin --timeout 2m watch --until pki && run-tests   # CI readiness gate (5 on timeout)
  kpthin --json watch | jq .event)");
  return {sub, [opt, &global] { run_watch(*opt, global); }};
}

}  // namespace kpthin::cli
