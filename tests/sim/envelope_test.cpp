// Unit tests of the simulator's building blocks: channel keys, envelopes, copy streams, the box
// store and the CBOR writer.
#include <doctest/doctest.h>

#include "box_store.hpp"
#include "cbor_writer.hpp"
#include "channel_keys.hpp"
#include "envelope.hpp"

using namespace kpsim;
using kpthin::Bytes;

TEST_CASE("channel keys: next index is a function of the index; box ids agree between caps") {
  const Bytes seed(32, 9);
  const ChannelKeys keys = derive_channel(seed);
  const auto first = BoxIndex::parse(keys.first_index);
  REQUIRE(first);
  CHECK(first->serialize() == keys.first_index);
  CHECK(first->next().serialize() == BoxIndex::parse(keys.first_index)->next().serialize());
  CHECK(first->next().counter == first->counter + 1);
  CHECK(first->next().encryption_key != first->encryption_key);
  const auto writer_key = write_cap_public_key(keys.write_cap);
  const auto reader_key = read_cap_public_key(keys.read_cap);
  REQUIRE(writer_key);
  REQUIRE(reader_key);
  CHECK(box_id(*writer_key, *first) == box_id(*reader_key, *first));
  CHECK(box_id(*writer_key, *first) != box_id(*writer_key, first->next()));
  CHECK_FALSE(BoxIndex::parse(Bytes(103)));
}

TEST_CASE("payload sealing is deterministic and reversible") {
  const ChannelKeys keys = derive_channel(Bytes(32, 1));
  const auto index = *BoxIndex::parse(keys.first_index);
  const BoxId box = box_id(*write_cap_public_key(keys.write_cap), index);
  const Bytes plain{'a', 'b', 'c'};
  const Bytes sealed = seal_payload(plain, index, box);
  CHECK(sealed != plain);
  CHECK(sealed == seal_payload(plain, index, box));
  CHECK(open_payload(sealed, index, box) == plain);
}

TEST_CASE("envelopes: padded, parsed back, tied to their descriptor") {
  BoxId box{};
  box.fill(3);
  const Bytes sealed{1, 2, 3, 4};
  const EncryptedEnvelope e = make_envelope(EnvelopeKind::kWrite, box, sealed, 99, 2000);
  CHECK(e.ciphertext.size() == 2000);
  CHECK(e.hash == hash256(e.ciphertext));
  const auto parsed = parse_envelope(e.ciphertext);
  REQUIRE(parsed);
  CHECK(parsed->box == box);
  CHECK(parsed->sealed == sealed);
  CHECK(descriptor_sender_tag(e.descriptor) == parsed->sender_tag);
  const EncryptedEnvelope other = make_envelope(EnvelopeKind::kWrite, box, sealed, 99, 2000);
  CHECK(other.hash != e.hash);
  CHECK_FALSE(parse_envelope(Bytes(10, 0)));
  CHECK_FALSE(descriptor_sender_tag(Bytes{0xa0}));
}

TEST_CASE("copy stream: elements fit a box, records survive chunking and continuation") {
  const std::size_t max = 1553;
  CopyStreamEncoder encoder(max);
  encoder.set_start(true);
  const Bytes big(4000, 0x11), small(10, 0x22);
  encoder.add_record(big);
  const Bytes residual = encoder.residual();
  auto first_part = encoder.take_elements();
  CHECK(first_part.size() == 2);  // 4004 bytes: two full chunks out, the rest buffered

  CopyStreamEncoder continued(max);
  CHECK(residual.size() == 4004 - 2 * (max - 5));  // the unsent bytes, nothing more (as kpclientd)
  continued.restore(residual);
  continued.add_record(small);
  continued.flush(true);
  auto second_part = continued.take_elements();
  REQUIRE_FALSE(second_part.empty());
  CHECK((first_part.front()[0] & kElementStart) != 0);
  CHECK((second_part.back()[0] & kElementFinal) != 0);

  CopyStreamDecoder decoder;
  for (const auto& e : first_part) {
    CHECK(e.size() <= max);
    CHECK(decoder.add_element(e));
  }
  CHECK_FALSE(decoder.finished());
  for (const auto& e : second_part) CHECK(decoder.add_element(e));
  REQUIRE(decoder.finished());
  const auto records = decoder.records();
  REQUIRE(records);
  REQUIRE(records->size() == 2);
  CHECK((*records)[0] == big);
  CHECK((*records)[1] == small);
}

TEST_CASE("copy stream: flushing an empty encoder emits nothing, Final or not (kpclientd's Flush)") {
  CopyStreamEncoder encoder(1553);
  encoder.set_start(true);
  encoder.flush(true);
  CHECK(encoder.take_elements().empty());
  encoder.flush(false);
  CHECK(encoder.take_elements().empty());
}

TEST_CASE("box store: write-once, idempotent rewrite, tombstones replace") {
  BoxStore store;
  BoxId id{};
  CHECK(store.put(id, {false, {1}}) == WriteOutcome::kStored);
  CHECK(store.put(id, {false, {1}}) == WriteOutcome::kIdentical);
  CHECK(store.put(id, {false, {2}}) == WriteOutcome::kAlreadyExists);
  CHECK(store.find(id)->sealed == Bytes{1});
  CHECK(store.put(id, {true, {}}) == WriteOutcome::kStored);
  CHECK(store.put(id, {false, {3}}) == WriteOutcome::kAlreadyExists);
  CHECK(store.find(id)->tombstone);
}

TEST_CASE("CBOR writer: shortest heads and floats") {
  CHECK(CborWriter().uint(23).take() == Bytes{0x17});
  CHECK(CborWriter().uint(24).take() == Bytes{0x18, 0x18});
  CHECK(CborWriter().uint(65536).take() == Bytes{0x1a, 0x00, 0x01, 0x00, 0x00});
  CHECK(CborWriter().float_shortest(0.5).take() == Bytes{0xf9, 0x38, 0x00});
  CHECK(CborWriter().float_shortest(0.0).take() == Bytes{0xf9, 0x00, 0x00});
  CHECK(CborWriter().float_shortest(100000.0).take() == Bytes{0xfa, 0x47, 0xc3, 0x50, 0x00});
  CHECK(CborWriter().float_shortest(0.3).take().front() == 0xfb);
  CHECK(CborWriter().float64(0.5).take().size() == 9);
}
