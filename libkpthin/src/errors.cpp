#include "kpthin/errors.hpp"

#include <array>
#include <string>

namespace kpthin {

namespace {

struct CodeText {
  const char* name;     // the Go constant name
  const char* message;  // the Go string (ThinClientErrorToString / ReplicaErrorToString)
};

constexpr std::array<CodeText, 33> kThinCodes{{
    {"ThinClientSuccess", "Success"},
    {"ThinClientErrorConnectionLost", "Connection lost"},
    {"ThinClientErrorTimeout", "Timeout"},
    {"ThinClientErrorInvalidRequest", "Invalid request"},
    {"ThinClientErrorInternalError", "Internal error"},
    {"ThinClientErrorMaxRetries", "Maximum retries exceeded"},
    {"ThinClientErrorInvalidChannel", "Invalid channel"},
    {"ThinClientErrorChannelNotFound", "Channel not found"},
    {"ThinClientErrorPermissionDenied", "Permission denied"},
    {"ThinClientErrorInvalidPayload", "Invalid payload"},
    {"ThinClientErrorServiceUnavailable", "Service unavailable"},
    {"ThinClientErrorDuplicateCapability", "Duplicate capability"},
    {"ThinClientErrorCourierCacheCorruption", "Courier cache corruption"},
    {"ThinClientPropagationError", "Propagation error"},
    {"ThinClientErrorInvalidWriteCapability", "Invalid write capability"},
    {"ThinClientErrorInvalidReadCapability", "Invalid read capability"},
    {"ThinClientErrorInvalidResumeWriteChannelRequest", "Invalid resume write channel request"},
    {"ThinClientErrorInvalidResumeReadChannelRequest", "Invalid resume read channel request"},
    {"ThinClientImpossibleHashError", "Impossible hash error"},
    {"ThinClientImpossibleNewWriteCapError", "Failed to create new write capability"},
    {"ThinClientImpossibleNewStatefulWriterError", "Failed to create new stateful writer"},
    {"ThinClientCapabilityAlreadyInUse", "Capability already in use"},
    {"ThinClientErrorMKEMDecryptionFailed", "MKEM decryption failed"},
    {"ThinClientErrorBACAPDecryptionFailed", "BACAP decryption failed"},
    {"ThinClientErrorStartResendingCancelled", "Start resending cancelled"},
    {"ThinClientErrorInvalidTombstoneSig", "Invalid tombstone signature"},
    {"ThinClientErrorCopyCommandFailed", "Copy command failed"},
    {"ThinClientErrorPayloadTooLarge", "Payload too large"},
    {"ThinClientErrorVoucherHashMismatch", "Voucher payload does not hash to the voucher"},
    {"ThinClientErrorVoucherSignatureInvalid", "Voucher signed please-add did not verify"},
    {"ThinClientErrorVoucherSealOpenFailed", "Voucher sealed reply could not be opened"},
    {"ThinClientErrorCourierInvalidEnvelope", "Courier rejected the envelope as malformed"},
    {"ThinClientErrorCourierInvalidEpoch",
     "Courier rejected the envelope: replica epoch outside tolerance window"},
}};

constexpr std::array<CodeText, 12> kReplicaCodes{{
    {"ReplicaSuccess", "success"},
    {"ReplicaErrorBoxIDNotFound", "box not found"},
    {"ReplicaErrorInvalidBoxID", "invalid box ID"},
    {"ReplicaErrorInvalidSignature", "invalid signature"},
    {"ReplicaErrorDatabaseFailure", "database failure"},
    {"ReplicaErrorInvalidPayload", "invalid payload"},
    {"ReplicaErrorStorageFull", "storage full"},
    {"ReplicaErrorInternalError", "internal error"},
    {"ReplicaErrorInvalidEpoch", "invalid epoch"},
    {"ReplicaErrorReplicationFailed", "replication failed"},
    {"ReplicaErrorBoxAlreadyExists", "box already exists"},
    {"ReplicaErrorTombstone", "tombstone"},
}};

class ThinCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kpthin.thin_client"; }
  std::string message(int code) const override {
    if (code >= 0 && static_cast<std::size_t>(code) < kThinCodes.size()) {
      return kThinCodes[static_cast<std::size_t>(code)].message;
    }
    return "Unknown thin client error code: " + std::to_string(code);
  }
};

class ReplicaCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kpthin.replica"; }
  std::string message(int code) const override {
    if (code >= 0 && static_cast<std::size_t>(code) < kReplicaCodes.size()) {
      return kReplicaCodes[static_cast<std::size_t>(code)].message;
    }
    return "unknown replica error " + std::to_string(code);
  }
};

class LocalCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kpthin"; }
  std::string message(int code) const override {
    switch (static_cast<local_errc>(code)) {
      case local_errc::ok: return "ok";
      case local_errc::malformed_frame: return "malformed frame";
      case local_errc::malformed_message: return "malformed message";
      case local_errc::unexpected_message: return "unexpected message";
      case local_errc::timeout: return "timed out";
      case local_errc::disconnected: return "disconnected from the daemon";
      case local_errc::closed: return "client closed";
      case local_errc::cancelled: return "cancelled";
      case local_errc::config_invalid: return "invalid configuration";
      case local_errc::dial_failed: return "cannot connect to the daemon";
      case local_errc::too_large: return "payload too large";
      case local_errc::not_found: return "not found";
      case local_errc::io_error: return "I/O error";
      case local_errc::unknown_message: return "unknown message";
    }
    return "unknown kpthin error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& thin_category() {
  static const ThinCategory category;
  return category;
}

const std::error_category& replica_category() {
  static const ReplicaCategory category;
  return category;
}

const std::error_category& local_category() {
  static const LocalCategory category;
  return category;
}

std::error_code make_error_code(thin_errc e) { return {static_cast<int>(e), thin_category()}; }
std::error_code make_error_code(replica_errc e) { return {static_cast<int>(e), replica_category()}; }
std::error_code make_error_code(local_errc e) { return {static_cast<int>(e), local_category()}; }

const char* thin_error_name(std::uint8_t code) {
  return code < kThinCodes.size() ? kThinCodes[code].name : "ThinClientErrorUnknown";
}

const char* replica_error_name(std::uint8_t code) {
  return code < kReplicaCodes.size() ? kReplicaCodes[code].name : "ReplicaErrorUnknown";
}

std::error_code start_resending_error(std::uint8_t code, bool has_courier_fields) {
  if (code == 0) return {};
  // 3 and 4 collide (spec §5.4): early daemon-side failures are sent before any courier was
  // involved, so they carry no courier fields; replica verdicts always do.
  if (code == 3 || code == 4) {
    if (!has_courier_fields) return {code, thin_category()};
    return {code, replica_category()};
  }
  if (code <= 11) return {code, replica_category()};
  return {code, thin_category()};
}

bool is_expected_outcome(const std::error_code& ec) {
  return ec == replica_errc::tombstone || ec == replica_errc::box_id_not_found ||
         ec == replica_errc::box_already_exists;
}

}  // namespace kpthin
