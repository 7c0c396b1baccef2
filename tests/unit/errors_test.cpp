// Error categories, names, the start_resending code ambiguity and expected outcomes (spec §5).
#include <doctest/doctest.h>

#include <ostream>  // doctest prints std::error_code through operator<<

#include "kpthin/errors.hpp"
#include "kpthin/status.hpp"

using namespace kpthin;

TEST_CASE("errors: thin-client names and messages follow the Go constants") {
  CHECK(std::string(thin_error_name(0)) == "ThinClientSuccess");
  CHECK(std::string(thin_error_name(3)) == "ThinClientErrorInvalidRequest");
  CHECK(std::string(thin_error_name(13)) == "ThinClientPropagationError");
  CHECK(std::string(thin_error_name(24)) == "ThinClientErrorStartResendingCancelled");
  CHECK(std::string(thin_error_name(32)) == "ThinClientErrorCourierInvalidEpoch");
  CHECK(std::string(thin_error_name(33)) == "ThinClientErrorUnknown");
  CHECK(make_error_code(thin_errc::invalid_request).message() == "Invalid request");
  CHECK(make_error_code(thin_errc::courier_invalid_epoch).message() ==
        "Courier rejected the envelope: replica epoch outside tolerance window");
  CHECK(std::error_code(200, thin_category()).message() == "Unknown thin client error code: 200");
  for (int code = 0; code <= 32; ++code) {
    CHECK(std::string(thin_error_name(static_cast<std::uint8_t>(code))).rfind("ThinClient", 0) == 0);
  }
}

TEST_CASE("errors: replica names and messages") {
  CHECK(std::string(replica_error_name(0)) == "ReplicaSuccess");
  CHECK(std::string(replica_error_name(1)) == "ReplicaErrorBoxIDNotFound");
  CHECK(std::string(replica_error_name(10)) == "ReplicaErrorBoxAlreadyExists");
  CHECK(std::string(replica_error_name(11)) == "ReplicaErrorTombstone");
  CHECK(std::string(replica_error_name(12)) == "ReplicaErrorUnknown");
  CHECK(make_error_code(replica_errc::tombstone).message() == "tombstone");
  CHECK(make_error_code(replica_errc::box_id_not_found).message() == "box not found");
}

TEST_CASE("errors: three distinct categories; enums convert implicitly") {
  std::error_code thin = thin_errc::timeout;
  std::error_code replica = replica_errc::invalid_box_id;  // both value 2
  std::error_code local = local_errc::timeout;
  CHECK(thin.value() == 2);
  CHECK(replica.value() == 2);
  CHECK(thin != replica);
  CHECK(&thin.category() == &thin_category());
  CHECK(&replica.category() == &replica_category());
  CHECK(&local.category() == &local_category());
  CHECK(std::string(thin_category().name()) != replica_category().name());
  CHECK(std::string(local_category().name()) != thin_category().name());
  CHECK(make_error_code(local_errc::config_invalid).message() == "invalid configuration");
}

TEST_CASE("errors: start_resending_error resolves the mixed namespace (spec 5.4)") {
  CHECK(!start_resending_error(0, false));
  CHECK(!start_resending_error(0, true));
  // 3 and 4 without courier fields: daemon-side validation / internal errors.
  CHECK(start_resending_error(3, false) == thin_errc::invalid_request);
  CHECK(start_resending_error(4, false) == thin_errc::internal_error);
  // With courier fields: the replica's verdict.
  CHECK(start_resending_error(3, true) == replica_errc::invalid_signature);
  CHECK(start_resending_error(4, true) == replica_errc::database_failure);
  // Other codes 1..11 are replica codes regardless.
  for (std::uint8_t code : {1, 2, 5, 6, 7, 8, 9, 10, 11}) {
    for (bool courier : {false, true}) {
      const std::error_code ec = start_resending_error(code, courier);
      CHECK(&ec.category() == &replica_category());
      CHECK(ec.value() == code);
    }
  }
  CHECK(start_resending_error(11, true) == replica_errc::tombstone);
  // Everything above 11 is a thin code.
  CHECK(start_resending_error(12, true) == thin_errc::courier_cache_corruption);
  CHECK(start_resending_error(22, true) == thin_errc::mkem_decryption_failed);
  CHECK(start_resending_error(24, false) == thin_errc::start_resending_cancelled);
  CHECK(start_resending_error(32, true) == thin_errc::courier_invalid_epoch);
}

TEST_CASE("errors: expected outcomes are tombstone, box-not-found, box-already-exists only") {
  CHECK(is_expected_outcome(replica_errc::tombstone));
  CHECK(is_expected_outcome(replica_errc::box_id_not_found));
  CHECK(is_expected_outcome(replica_errc::box_already_exists));
  CHECK(is_expected_outcome(start_resending_error(11, true)));
  CHECK(!is_expected_outcome(replica_errc::invalid_signature));
  CHECK(!is_expected_outcome(std::error_code(1, thin_category())));  // connection_lost shares value 1
  CHECK(!is_expected_outcome(std::error_code(10, thin_category())));
  CHECK(!is_expected_outcome(std::error_code()));
  CHECK(!is_expected_outcome(local_errc::not_found));
}

TEST_CASE("status: message combines context and code; Result carries values or failures") {
  CHECK(Status().ok());
  CHECK(Status().message() == "ok");
  const Status s(local_errc::malformed_message, "new_keypair_reply.write_cap: expected 168 bytes, got 12");
  CHECK(!s.ok());
  CHECK(s.message() == "new_keypair_reply.write_cap: expected 168 bytes, got 12: malformed message");
  CHECK(Status(thin_errc::invalid_request).message() == "Invalid request");
  Result<int> good(7);
  CHECK(good.ok());
  CHECK(*good == 7);
  CHECK(good.status().ok());
  Result<int> bad(local_errc::timeout, "waiting for reply");
  CHECK(!bad.ok());
  CHECK(bad.status().code() == make_error_code(local_errc::timeout));
}
