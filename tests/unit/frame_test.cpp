// Length-prefixed framing (spec §1.3).
#include <doctest/doctest.h>

#include "kpthin/errors.hpp"
#include "kpthin/frame.hpp"
#include "wire_test_util.hpp"

using namespace kpthin;
using namespace kpthin::test;

TEST_CASE("frame: big-endian length prefix") {
  CHECK(to_hex(make_frame(unhex("a0"))) == "00000001a0");
  const Bytes body(0x010203, 0x5a);
  const Bytes f = make_frame(body);
  CHECK(f.size() == body.size() + 4);
  CHECK(to_hex(Bytes(f.begin(), f.begin() + 4)) == "00010203");
  CHECK(kMaxFrameSize == 41943040u);
}

TEST_CASE("frame: decoder yields whole bodies, across arbitrary splits and back to back") {
  FrameDecoder d;
  auto empty = d.next();
  REQUIRE(empty.ok());
  CHECK(!empty->has_value());

  const Bytes stream = concat({make_frame(unhex("a0")), make_frame(counting_bytes(300, 1)), make_frame(unhex("f6f6"))});
  d.feed(ByteView(stream.data(), 3));  // not even a whole prefix
  CHECK(!d.next()->has_value());
  d.feed(ByteView(stream.data() + 3, 10));
  auto first = d.next();
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK(**first == unhex("a0"));
  CHECK(!d.next()->has_value());  // second frame incomplete
  d.feed(ByteView(stream.data() + 13, stream.size() - 13));
  auto second = d.next();
  REQUIRE(second->has_value());
  CHECK(**second == counting_bytes(300, 1));
  auto third = d.next();
  REQUIRE(third->has_value());
  CHECK(**third == unhex("f6f6"));
  CHECK(!d.next()->has_value());
  CHECK(d.buffered() == 0);
}

TEST_CASE("frame: a body of exactly 40 MiB is accepted") {
  Bytes body(kMaxFrameSize, 0);
  body[0] = 0xa0;
  const Bytes f = make_frame(body);
  FrameDecoder d;
  d.feed(f);
  auto r = d.next();
  REQUIRE(r.ok());
  REQUIRE(r->has_value());
  CHECK((*r)->size() == kMaxFrameSize);
}

TEST_CASE("frame: zero and oversize prefixes are sticky errors") {
  FrameDecoder d;
  d.feed(unhex("02800001"));
  auto r = d.next();
  REQUIRE(!r.ok());
  CHECK(r.status().code() == make_error_code(local_errc::malformed_frame));
  CHECK(r.status().message().find("41943041") != std::string::npos);
  CHECK(!d.next().ok());

  FrameDecoder z;
  z.feed(concat({unhex("00000000"), make_frame(unhex("a0"))}));
  CHECK(!z.next().ok());
  CHECK(!z.next().ok());
}
