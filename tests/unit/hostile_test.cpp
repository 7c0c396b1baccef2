// Hostile input: every decoder must return an error (never crash, hang or over-allocate) on
// truncated, mistyped, oversized, deeply nested and random bytes. Run under ASan+UBSan too.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "cbor_value.hpp"
#include "kpthin/codec.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/frame.hpp"
#include "kpthin/pki.hpp"
#include "wire_test_util.hpp"

using namespace kpthin;
using namespace kpthin::test;

namespace {

struct GoldenBody {
  std::string name;
  bool request;
  Bytes body;
};

std::vector<GoldenBody> all_golden_bodies() {
  std::vector<GoldenBody> out;
  for (const auto& entry : std::filesystem::directory_iterator(KPTHIN_GOLDEN_DIR)) {
    const std::string name = entry.path().filename().string();
    const bool request = name.rfind("req_", 0) == 0;
    const bool response = name.rfind("resp_", 0) == 0;
    if (!request && !response) continue;
    out.push_back({name, request, golden_body(name)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

bool decodes(bool request, ByteView body) {
  return request ? decode_request(body).ok() : decode_response(body).ok();
}

Status decode_status(bool request, ByteView body) {
  return request ? decode_request(body).status() : decode_response(body).status();
}

// One value of each CBOR kind, used to replace fields of the wrong kind.
std::vector<cbor::Value> one_of_each_kind() {
  std::vector<cbor::Value> out;
  auto add = [&](cbor::Kind kind) -> cbor::Value& {
    out.emplace_back();
    out.back().kind = kind;
    return out.back();
  };
  add(cbor::Kind::kUnsigned).number = 1;
  add(cbor::Kind::kNegative).number = 0;
  add(cbor::Kind::kBytes).data = Bytes{0};
  add(cbor::Kind::kText).data = Bytes{'x'};
  add(cbor::Kind::kArray);
  add(cbor::Kind::kMap);
  add(cbor::Kind::kBool).boolean = true;
  add(cbor::Kind::kFloat).real = 1.5;
  return out;
}

// Fields whose Go type has a fixed size (arrays, bacap caps and indices).
const std::set<std::string> kFixedFields = {
    "query_id", "client_instance_token", "id", "surbid", "destination_id_hash", "envelope_hash",
    "courier_identity_hash", "write_cap_hash", "read_cap", "write_cap", "message_box_index", "dest_write_cap",
    "dest_start_index", "next_message_box_index", "first_message_index", "next_dest_index", "app_id",
    "instance_token", "message_id", "identity_key_hash", "start_index"};

// The single non-null message body of a decoded envelope.
cbor::Value& message_body(cbor::Value& root) {
  for (std::size_t i = 1; i < root.items.size(); i += 2) {
    if (!root.items[i].is_null()) return root.items[i];
  }
  FAIL("no message body");
  return root;
}

Bytes reencode(const cbor::Value& v) {
  cbor::Writer w;
  w.value(v);
  return w.take();
}

}  // namespace

TEST_CASE("hostile: every truncation of every golden frame is an error") {
  const auto goldens = all_golden_bodies();
  REQUIRE(goldens.size() == 2 * (std::variant_size_v<Request> + std::variant_size_v<Response>));
  std::size_t cases = 0;
  for (const auto& g : goldens) {
    CAPTURE(g.name);
    REQUIRE(decodes(g.request, g.body));
    for (std::size_t n = 0; n < g.body.size(); ++n) {
      const Status s = decode_status(g.request, ByteView(g.body.data(), n));
      CHECK_MESSAGE(!s.ok(), "prefix of " << n << " bytes accepted");
      CHECK(s.code() == make_error_code(local_errc::malformed_message));
      ++cases;
    }
    // The frame decoder waits for the rest instead of failing.
    const Bytes frame = make_frame(g.body);
    FrameDecoder decoder;
    decoder.feed(ByteView(frame.data(), frame.size() - 1));
    auto partial = decoder.next();
    REQUIRE(partial.ok());
    CHECK(!partial->has_value());
  }
  MESSAGE(cases << " truncations checked");
}

TEST_CASE("hostile: every field of every message rejects values of the wrong kind") {
  const auto replacements = one_of_each_kind();
  std::size_t cases = 0;
  for (const auto& g : all_golden_bodies()) {
    if (g.name.find(".min.hex") == std::string::npos) continue;
    auto root = cbor::decode(g.body);
    REQUIRE(root.ok());
    cbor::Value& body = message_body(*root);
    for (std::size_t f = 0; f + 1 < body.items.size(); f += 2) {
      const std::string field(body.items[f].text());
      const cbor::Value original = body.items[f + 1];
      if (original.is_null()) continue;
      for (const cbor::Value& wrong : replacements) {
        if (wrong.kind == original.kind) continue;
        body.items[f + 1] = wrong;
        CAPTURE(g.name);
        CAPTURE(field);
        CAPTURE(cbor::kind_name(wrong.kind));
        const Status s = decode_status(g.request, reencode(*root));
        CHECK(!s.ok());
        CHECK(s.context().find("." + field) != std::string::npos);
        ++cases;
      }
      // Fixed-size byte strings: one byte short and one byte long.
      if (original.kind == cbor::Kind::kBytes && kFixedFields.count(field) != 0 &&
          !(field == "message_box_index" && g.name.find("start_resending_encrypted_message") != std::string::npos)) {
        for (long delta : {-1L, 1L}) {
          cbor::Value changed = original;
          changed.data.resize(static_cast<std::size_t>(static_cast<long>(original.data.size()) + delta));
          body.items[f + 1] = changed;
          CAPTURE(g.name);
          CAPTURE(field);
          const Status s = decode_status(g.request, reencode(*root));
          CHECK(!s.ok());
          CHECK(s.context().find(field + ": expected " + std::to_string(original.data.size()) + " bytes") !=
                std::string::npos);
          ++cases;
        }
      }
      body.items[f + 1] = original;
    }
    CHECK(decodes(g.request, reencode(*root)));  // restored: still valid
  }
  MESSAGE(cases << " wrong-kind and wrong-length fields checked");
  CHECK(cases > 600);
}

TEST_CASE("hostile: nested fields (geometries, destinations, authorities) reject wrong kinds") {
  for (const auto& [file, request] :
       {std::pair{"resp_connection_status_event.min.hex", false},
        std::pair{"req_create_courier_envelopes_from_multi_payload.min.hex", true},
        std::pair{"resp_get_directory_authorities_reply.min.hex", false}}) {
    auto root = cbor::decode(golden_body(file));
    REQUIRE(root.ok());
    cbor::Value& body = message_body(*root);
    std::vector<cbor::Value*> inner_maps;
    for (std::size_t f = 1; f < body.items.size(); f += 2) {
      cbor::Value& v = body.items[f];
      if (v.kind == cbor::Kind::kMap) inner_maps.push_back(&v);
      if (v.kind == cbor::Kind::kArray) {
        for (cbor::Value& e : v.items) {
          if (e.kind == cbor::Kind::kMap) inner_maps.push_back(&e);
        }
      }
    }
    REQUIRE(!inner_maps.empty());
    for (cbor::Value* m : inner_maps) {
      for (std::size_t f = 0; f + 1 < m->items.size(); f += 2) {
        const cbor::Value original = m->items[f + 1];
        cbor::Value wrong;
        wrong.kind = original.kind == cbor::Kind::kBool ? cbor::Kind::kFloat : cbor::Kind::kBool;
        m->items[f + 1] = wrong;
        const Status s = decode_status(request, reencode(*root));
        CAPTURE(file);
        CAPTURE(m->items[f].text());
        CHECK(!s.ok());
        CHECK(s.context().find(std::string(m->items[f].text())) != std::string::npos);
        m->items[f + 1] = original;
      }
    }
  }
}

TEST_CASE("hostile: framing rejects zero and oversize lengths, stickily, before allocating") {
  {
    FrameDecoder d;
    d.feed(unhex("02800001"));  // 40 MiB + 1
    auto r = d.next();
    REQUIRE(!r.ok());
    CHECK(r.status().code() == make_error_code(local_errc::malformed_frame));
    CHECK(d.buffered() == 4);
    d.feed(make_frame(unhex("a0")));  // still failed: the stream cannot be resynchronised
    CHECK(!d.next().ok());
  }
  {
    FrameDecoder d;
    d.feed(unhex("ffffffff"));
    CHECK(!d.next().ok());
  }
  {
    FrameDecoder d;
    d.feed(unhex("00000000a0"));
    auto r = d.next();
    REQUIRE(!r.ok());
    CHECK(r.status().message().find("zero-length") != std::string::npos);
  }
  {
    FrameDecoder d;  // exactly the limit is allowed; it just waits for the body
    d.feed(unhex("02800000"));
    auto r = d.next();
    REQUIRE(r.ok());
    CHECK(!r->has_value());
  }
}

TEST_CASE("hostile: deep nesting is refused (1000 levels of arrays, maps, indefinite items)") {
  auto nested = [](const std::string& open, const std::string& inner, const std::string& close) {
    std::string hex;
    for (int i = 0; i < 1000; ++i) hex += open;
    hex += inner;
    for (int i = 0; i < 1000; ++i) hex += close;
    return unhex(hex);
  };
  for (const Bytes& input : {nested("81", "00", ""), nested("a16161", "00", ""), nested("9f", "", "ff"),
                             nested("bf6161", "00", "ff")}) {
    auto v = cbor::decode(input);
    REQUIRE(!v.ok());
    CHECK(v.status().message().find("nesting deeper than 32") != std::string::npos);
    CHECK(!decode_request(input).ok());
    CHECK(!decode_response(input).ok());
    CHECK(!parse_pki_document(input).ok());
  }
  // 32 levels are fine, 33 are not.
  std::string deep;
  for (int i = 0; i < 31; ++i) deep += "81";
  CHECK(cbor::decode(unhex(deep + "80")).ok());
  deep += "81";
  CHECK(!cbor::decode(unhex(deep + "80")).ok());
  // Depth is nesting, not a count of containers: forty indefinite arrays side by side, each
  // closed by a break, are two levels deep.
  std::string side_by_side = "9f";
  for (int i = 0; i < 40; ++i) side_by_side += "9fff";
  CHECK(cbor::decode(unhex(side_by_side + "ff")).ok());
}

TEST_CASE("hostile: huge declared lengths in tiny buffers") {
  for (const char* hex :
       {"5bffffffffffffffff", "5bfffffffffffffff7", "5b7fffffffffffffff00", "7bffffffffffffffff", "7bfffffffffffffff600",
        "9bffffffffffffffff", "9b000000000000000200", "bbffffffffffffffff", "bb7fffffffffffffff", "9a7fffffff",
        "ba7fffffff0000", "5a0010000000", "590100aa", "99ffff00", "a1 6b6e65775f6b6579706169 72 bbffffffffffffffff",
        "a16b6e65775f6b657970616972a16473656564 5bffffffffffffffff"}) {
    std::string clean;
    for (const char* p = hex; *p; ++p) {
      if (*p != ' ') clean.push_back(*p);
    }
    CAPTURE(clean);
    const Bytes input = unhex(clean);
    CHECK(!cbor::decode(input).ok());
    CHECK(!decode_request(input).ok());
    CHECK(!decode_response(input).ok());
  }
  // Element counts above Go's per-container limit, even when the bytes are there.
  Bytes big = unhex("9a00030000");  // array of 196608 elements
  big.resize(big.size() + 196608, 0x00);
  auto v = cbor::decode(big);
  REQUIRE(!v.ok());
  CHECK(v.status().message().find("exceeds the limit") != std::string::npos);
  Bytes indefinite = unhex("9f");
  indefinite.resize(1 + 140000, 0x00);
  indefinite.push_back(0xff);
  CHECK(!cbor::decode(indefinite).ok());
}

TEST_CASE("hostile: tags, trailing bytes, reserved and unassigned simple values") {
  for (const char* hex : {"c0a0", "d818a0", "a0a0", "a000", "1c", "1f", "3f", "df", "f0", "f800", "f820", "ff",
                          "5f01ff", "5f4101ff00", "5f6161ff", "bf00ff", "7f4161ff", "5f5f4100ffff", "7f80ff",
                          "61ff", "62c0af", "63eda080"}) {
    CAPTURE(hex);
    CHECK(!cbor::decode(unhex(hex)).ok());
  }
  CHECK(cbor::decode(unhex("5f4101ff")).ok());  // an indefinite byte string on its own is fine
  CHECK(cbor::decode(unhex("f97c00")).ok());    // half-float infinity
}

TEST_CASE("cbor: half-precision floats decode exactly, subnormals and extremes included") {
  const struct {
    const char* hex;
    double value;
  } cases[] = {{"f90000", 0.0},           {"f90001", 0x1p-24},      {"f903ff", 1023 * 0x1p-24},
               {"f90400", 0x1p-14},       {"f93400", 0.25},         {"f93c00", 1.0},
               {"f93e00", 1.5},           {"f97bff", 65504.0},      {"f9c400", -4.0},
               {"f98001", -0x1p-24},      {"f97c00", INFINITY},     {"f9fc00", -INFINITY}};
  for (const auto& c : cases) {
    CAPTURE(c.hex);
    auto v = cbor::decode(unhex(c.hex));
    REQUIRE(v.ok());
    REQUIRE(v->kind == cbor::Kind::kFloat);
    CHECK(v->real == c.value);
  }
  auto nan = cbor::decode(unhex("f97e00"));
  REQUIRE(nan.ok());
  CHECK(std::isnan(nan->real));
}

TEST_CASE("hostile: random bytes never crash the decoders (deterministic PRNG)") {
  std::mt19937_64 rng(0x6b707468696eULL);
  // Heads are drawn often so the input reaches deeper into the decoder.
  const Bytes heads = unhex("a0a1a2b8bfbf8081829f9fff404158ff5f606178187ff4f5f6f7f9fafb001718191a1b203839c0");
  std::size_t accepted = 0;
  for (int i = 0; i < 30000; ++i) {
    const std::size_t length = rng() % 96;
    Bytes input(length);
    for (auto& b : input) b = (rng() % 3 == 0) ? static_cast<std::uint8_t>(rng()) : heads[rng() % heads.size()];
    auto v = cbor::decode(input);
    if (v.ok()) {
      ++accepted;
      auto again = cbor::decode(reencode(*v));
      CHECK(again.ok());
    }
    auto req = decode_request(input);
    if (req.ok()) CHECK(decode_request(encode_request(*req)).ok());
    auto resp = decode_response(input);
    if (resp.ok()) CHECK(decode_response(encode_response(*resp)).ok());
    (void)parse_pki_document(input);
  }
  MESSAGE(accepted << " of 30000 random inputs were well-formed CBOR");
}

TEST_CASE("hostile: mutated golden frames decode or fail cleanly; accepted ones round-trip") {
  const auto goldens = all_golden_bodies();
  std::mt19937_64 rng(42);
  std::size_t accepted = 0;
  for (int i = 0; i < 30000; ++i) {
    const GoldenBody& g = goldens[rng() % goldens.size()];
    Bytes input = g.body;
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      switch (rng() % 5) {
        case 0:  // flip a bit
          input[rng() % input.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
          break;
        case 1:  // replace a byte
          input[rng() % input.size()] = static_cast<std::uint8_t>(rng());
          break;
        case 2:  // insert a byte
          input.insert(input.begin() + static_cast<std::ptrdiff_t>(rng() % input.size()), static_cast<std::uint8_t>(rng()));
          break;
        case 3:  // delete a byte
          if (input.size() > 1) input.erase(input.begin() + static_cast<std::ptrdiff_t>(rng() % input.size()));
          break;
        default:  // set a length byte to something huge
          input[rng() % input.size()] = static_cast<std::uint8_t>(0x5b + (rng() % 4) * 0x20);
          break;
      }
    }
    if (g.request) {
      auto r = decode_request(input);
      if (r.ok()) {
        ++accepted;
        const Bytes once = encode_request(*r, EnvelopeForm::kGoFull);
        auto again = decode_request(once);
        REQUIRE(again.ok());
        CHECK(encode_request(*again, EnvelopeForm::kGoFull) == once);
      }
    } else {
      auto r = decode_response(input);
      if (r.ok()) {
        ++accepted;
        const Bytes once = encode_response(*r, EnvelopeForm::kGoFull);
        auto again = decode_response(once);
        REQUIRE(again.ok());
        CHECK(encode_response(*again, EnvelopeForm::kGoFull) == once);
      }
    }
  }
  MESSAGE(accepted << " of 30000 mutated frames were still valid messages");
}

TEST_CASE("hostile: a frame stream fed one byte at a time, then garbage") {
  const auto goldens = all_golden_bodies();
  Bytes stream;
  for (const auto& g : goldens) {
    const Bytes f = make_frame(g.body);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  FrameDecoder d;
  std::size_t frames = 0;
  for (std::uint8_t b : stream) {
    d.feed(ByteView(&b, 1));
    for (;;) {
      auto r = d.next();
      REQUIRE(r.ok());
      if (!r->has_value()) break;
      CHECK(**r == goldens[frames].body);
      ++frames;
    }
  }
  CHECK(frames == goldens.size());
  CHECK(d.buffered() == 0);
}
