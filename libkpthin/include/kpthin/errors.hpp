// Error categories: thin-client codes (spec §5.1), replica codes (§5.2), and kpthin's own
// local conditions (wire decoding, transport, config, timeouts).
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace kpthin {

// Thin-client namespace, spec §5.1 (values are the wire codes).
enum class thin_errc : std::uint8_t {
  success = 0,
  connection_lost = 1,
  timeout = 2,
  invalid_request = 3,
  internal_error = 4,
  max_retries = 5,
  invalid_channel = 6,
  channel_not_found = 7,
  permission_denied = 8,
  invalid_payload = 9,
  service_unavailable = 10,
  duplicate_capability = 11,
  courier_cache_corruption = 12,
  propagation_error = 13,
  invalid_write_capability = 14,
  invalid_read_capability = 15,
  invalid_resume_write_channel_request = 16,
  invalid_resume_read_channel_request = 17,
  impossible_hash_error = 18,
  impossible_new_write_cap_error = 19,
  impossible_new_stateful_writer_error = 20,
  capability_already_in_use = 21,
  mkem_decryption_failed = 22,
  bacap_decryption_failed = 23,
  start_resending_cancelled = 24,
  invalid_tombstone_sig = 25,
  copy_command_failed = 26,
  payload_too_large = 27,
  voucher_hash_mismatch = 28,
  voucher_signature_invalid = 29,
  voucher_seal_open_failed = 30,
  courier_invalid_envelope = 31,
  courier_invalid_epoch = 32,
};

// Pigeonhole replica namespace, spec §5.2.
enum class replica_errc : std::uint8_t {
  success = 0,
  box_id_not_found = 1,
  invalid_box_id = 2,
  invalid_signature = 3,
  database_failure = 4,
  invalid_payload = 5,
  storage_full = 6,
  internal_error = 7,
  invalid_epoch = 8,
  replication_failed = 9,
  box_already_exists = 10,
  tombstone = 11,
};

// Conditions detected by kpthin itself.
enum class local_errc {
  ok = 0,
  malformed_frame = 1,      // bad length prefix (zero or > 40 MiB)
  malformed_message = 2,    // CBOR or schema violation
  unexpected_message = 3,   // valid message at the wrong time (e.g. during the handshake)
  timeout = 4,              // a caller's deadline passed
  disconnected = 5,         // the daemon socket is down
  closed = 6,               // the client was closed
  cancelled = 7,            // the caller cancelled the operation
  config_invalid = 8,
  dial_failed = 9,
  too_large = 10,           // payload exceeds the geometry's limit
  not_found = 11,           // e.g. service not in the PKI document
  io_error = 12,
  unknown_message = 13,     // well formed, but no message key this client knows (a newer daemon)
};

const std::error_category& thin_category();
const std::error_category& replica_category();
const std::error_category& local_category();

std::error_code make_error_code(thin_errc e);
std::error_code make_error_code(replica_errc e);
std::error_code make_error_code(local_errc e);

// The Go constant-style name of a code ("ThinClientErrorInvalidRequest", "ReplicaErrorTombstone").
const char* thin_error_name(std::uint8_t code);
const char* replica_error_name(std::uint8_t code);

// Maps a start_resending_encrypted_message_reply error_code (mixed namespace, spec §5.4) to an
// error_code. Codes 1-11 are replica codes except 3 and 4, which are daemon-side
// (invalid_request / internal_error) when the reply carries no courier fields and replica codes
// (invalid_signature / database_failure) when it does; everything else is a thin code.
std::error_code start_resending_error(std::uint8_t code, bool has_courier_fields);

// True for the outcomes that are results rather than failures (spec §5.6): tombstone,
// box-id-not-found, box-already-exists.
bool is_expected_outcome(const std::error_code& ec);

}  // namespace kpthin

template <>
struct std::is_error_code_enum<kpthin::thin_errc> : std::true_type {};
template <>
struct std::is_error_code_enum<kpthin::replica_errc> : std::true_type {};
template <>
struct std::is_error_code_enum<kpthin::local_errc> : std::true_type {};
