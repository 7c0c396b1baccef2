#include "pki_wait.hpp"

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "output.hpp"

namespace kpthin::cli {

PkiDocument current_pki_document(Session& session) {
  std::optional<Bytes> raw = session.client().pki_document();
  if (!raw) {
    info("waiting for the daemon's PKI document");
    std::mutex mutex;
    std::condition_variable arrived;
    bool have = false;
    std::uint64_t id = session.client().subscribe([&](const Event& event) {
      if (std::holds_alternative<NewPkiDocumentEvent>(event)) {
        std::lock_guard lock(mutex);
        have = true;
        arrived.notify_all();
      }
    });
    auto deadline = session.wait_timeout() == kWaitForever
                        ? std::chrono::steady_clock::time_point::max()
                        : std::chrono::steady_clock::now() + session.wait_timeout();
    {
      std::unique_lock lock(mutex);
      while (!have && !session.client().pki_document()) {
        if (interrupted()) break;
        if (std::chrono::steady_clock::now() >= deadline) break;
        arrived.wait_for(lock, std::chrono::milliseconds(50));
      }
    }
    session.client().unsubscribe(id);
    throw_if_interrupted();
    raw = session.client().pki_document();
    if (!raw) {
      fail(ExitCode::kTimeout, "the daemon has no PKI document yet (is it connected to the mixnet?); retry later or raise --timeout");
    }
  }
  Result<PkiDocument> document = parse_pki_document(view(*raw));
  if (!document) fail_status(document.status(), "reading the daemon's PKI document");
  return std::move(document).value();
}

ServiceInfo find_service(const PkiDocument& document, const std::string& name, std::string_view hint) {
  std::vector<ServiceInfo> found = document.services(name);
  if (!found.empty()) return found.front();
  std::set<std::string> names;
  for (const ServiceInfo& s : document.all_services()) names.insert(s.name);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  fail(ExitCode::kOther, "no service \"" + name + "\" in the PKI document of epoch " + std::to_string(document.epoch) +
                             (known.empty() ? std::string(" (it lists none)") : " (it lists: " + known + ")") +
                             std::string(hint));
}

std::string printable_queue_id(ByteView queue_id) {
  for (std::uint8_t c : queue_id) {
    if (c < 0x21 || c > 0x7e) return to_hex(queue_id);
  }
  return std::string(queue_id.begin(), queue_id.end());
}

}  // namespace kpthin::cli
