// Codec golden vectors: spec §11 frames byte for byte, and every message in both envelope forms.
#include <doctest/doctest.h>

#include "kpthin/codec.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/frame.hpp"
#include "wire_test_util.hpp"

using namespace kpthin;
using namespace kpthin::test;

namespace {

// The cap vector of spec §11.3 (hpqc layout.json "cap_fixed").
Bytes spec_index() {
  return concat({unhex("0100000000000000"), filled(32, 0xaa), filled(32, 0xbb), filled(32, 0xcc)});
}
Bytes spec_pubkey() { return unhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"); }
Bytes spec_write_cap() { return concat({counting_bytes(32, 0x00), spec_pubkey(), spec_index()}); }
Bytes spec_read_cap() { return concat({spec_pubkey(), spec_index()}); }

}  // namespace

TEST_CASE("spec 11.2: NewKeypair request, minimal form, byte for byte") {
  NewKeypair m;
  m.query_id = counting<16>(0x00);
  m.seed = SecretBytes(counting_bytes(32, 0x20));
  const Bytes frame = make_frame(encode_request(Request(std::move(m)), EnvelopeForm::kMinimal));
  CHECK(to_hex(frame) == to_hex(golden("new_keypair.min.hex")));

  auto decoded = decode_request(golden_body("new_keypair.min.hex"));
  REQUIRE(decoded.ok());
  REQUIRE(std::holds_alternative<NewKeypair>(*decoded));
  const auto& d = std::get<NewKeypair>(*decoded);
  CHECK(d.query_id == counting<16>(0x00));
  CHECK(to_hex(d.seed.reveal()) == to_hex(counting_bytes(32, 0x20)));
}

TEST_CASE("spec 11.2: the Go form of the NewKeypair request is a 592-byte frame of 21 keys") {
  NewKeypair m;
  m.query_id = counting<16>(0x00);
  m.seed = SecretBytes(counting_bytes(32, 0x20));
  const Bytes body = encode_request(Request(m), EnvelopeForm::kGoFull);
  const Bytes frame = make_frame(body);
  CHECK(frame.size() == 592);
  CHECK(to_hex(Bytes(frame.begin(), frame.begin() + 5)) == "0000024cb5");
  auto decoded = decode_request(body);
  REQUIRE(decoded.ok());
  CHECK(std::get<NewKeypair>(*decoded).seed == m.seed);
}

TEST_CASE("spec 11.3: NewKeypair reply, Go form, 1246 bytes byte for byte") {
  NewKeypairReply r;
  r.query_id = counting<16>(0x00);
  r.write_cap = SecretBytes(spec_write_cap());
  r.read_cap = spec_read_cap();
  r.first_message_index = spec_index();
  const Bytes frame = make_frame(encode_response(Response(r), EnvelopeForm::kGoFull));
  CHECK(frame.size() == 1246);
  CHECK(to_hex(frame) == to_hex(golden("new_keypair_reply.go.hex")));

  auto decoded = decode_response(golden_body("new_keypair_reply.go.hex"));
  REQUIRE(decoded.ok());
  const auto& d = std::get<NewKeypairReply>(*decoded);
  CHECK(d.query_id == r.query_id);
  CHECK(d.write_cap == r.write_cap);
  CHECK(d.read_cap == r.read_cap);
  CHECK(d.first_message_index == r.first_message_index);
  CHECK(d.error_code == 0);
  CHECK(encode_response(*decoded, EnvelopeForm::kGoFull) == golden_body("new_keypair_reply.go.hex"));
}
