// Byte helpers: hex, base64, SecretBytes semantics.
#include <doctest/doctest.h>

#include <cstring>

#include "kpthin/bytes.hpp"
#include "wire_test_util.hpp"

using namespace kpthin;
using namespace kpthin::test;

TEST_CASE("bytes: hex round trip and rejection of bad input") {
  CHECK(to_hex(unhex("00ff10ab")) == "00ff10ab");
  Bytes out{1, 2, 3};
  CHECK(from_hex("", out));
  CHECK(out.empty());
  CHECK(from_hex("DEADbeef", out));
  CHECK(out == Bytes{0xde, 0xad, 0xbe, 0xef});
  const Bytes before = out;
  CHECK(!from_hex("abc", out));   // odd length
  CHECK(!from_hex("zz", out));    // not hex
  CHECK(!from_hex("0x00", out));  // no prefixes
  CHECK(out == before);           // failures leave the output alone
}

TEST_CASE("bytes: base64 matches RFC 4648 vectors, tolerates surrounding whitespace only") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    const Bytes p(plain, plain + std::strlen(plain));
    CHECK(to_base64(p) == encoded);
    Bytes decoded;
    CHECK(from_base64(encoded, decoded));
    CHECK(decoded == p);
  }
  Bytes out;
  CHECK(from_base64("  Zm9vYmFy\n", out));
  CHECK(std::string(out.begin(), out.end()) == "foobar");
  CHECK(!from_base64("Zm9v YmFy", out));  // inner whitespace
  CHECK(!from_base64("Zm9vYmFy!", out));
  CHECK(!from_base64("Zm9vYg", out));     // missing padding
  CHECK(!from_base64("Zm9v_-==", out));   // URL-safe alphabet
  const Bytes all = counting_bytes(256, 0);
  Bytes back;
  CHECK(from_base64(to_base64(all), back));
  CHECK(back == all);
}

TEST_CASE("bytes: SecretBytes copies, moves, compares and clears") {
  SecretBytes a(unhex("0102030405"));
  CHECK(a.size() == 5);
  SecretBytes b = a;
  CHECK(a == b);
  SecretBytes c(unhex("0102030406"));
  CHECK(!(a == c));
  CHECK(!(a == SecretBytes(unhex("01"))));
  SecretBytes d = std::move(b);
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is defined as empty
  CHECK(d == a);
  Bytes raw = unhex("aabb");
  SecretBytes e(std::move(raw));
  CHECK(raw.empty());
  CHECK(to_hex(e.reveal()) == "aabb");
  e = a;
  CHECK(e == a);
  e.clear();
  CHECK(e.empty());
  CHECK(SecretBytes() == SecretBytes());
}

TEST_CASE("bytes: wipe zeroes memory") {
  Bytes data = filled(64, 0x5a);
  wipe(data.data(), data.size());
  CHECK(data == Bytes(64, 0));
  wipe(nullptr, 0);  // allowed
}
