// Helpers around the daemon's PKI document for send/watch/services: wait for one (bounded),
// parse it, find a service, print a queue id.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kpthin/pki.hpp"
#include "session.hpp"

namespace kpthin::cli {

// The current PKI document, waiting for the daemon to push one if it has none yet (bounded by
// --timeout). Throws CliError: 5 on timeout, 10 if it does not parse.
PkiDocument current_pki_document(Session& session);

// The first node offering `name`; throws CliError(kOther) listing the services there are, then
// `hint` (what to do about it where the caller is, e.g. "; pick one with -s/--service").
ServiceInfo find_service(const PkiDocument& document, const std::string& name, std::string_view hint);

// Queue ids are usually short ASCII names; hex otherwise.
std::string printable_queue_id(ByteView queue_id);

}  // namespace kpthin::cli
