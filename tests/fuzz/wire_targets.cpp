// Targets for the bytes a daemon sends or relays: frames, every request / reply / event, and
// the PKI document inside new_pki_document_event.
#include <algorithm>

#include "cbor_oracle.hpp"
#include "cbor_value.hpp"
#include "fuzz_targets.hpp"
#include "kpthin/codec.hpp"
#include "kpthin/frame.hpp"
#include "kpthin/pki.hpp"

namespace kpthin::fuzz {
namespace {

// decode(encode(x)) must succeed and encode back to the same bytes, in both envelope forms.
template <typename Decode, typename Encode>
void check_round_trip(const Decode& decode, const Encode& encode, ByteView input) {
  auto first = decode(input);
  if (!first) return;
  for (EnvelopeForm form : {EnvelopeForm::kMinimal, EnvelopeForm::kGoFull}) {
    Bytes encoded = encode(*first, form);
    auto again = decode(view(encoded));
    expect(again.ok(), "re-encoded message does not decode: " + again.status().message());
    expect(encode(*again, form) == encoded, "re-encoded message changes on a second round trip");
  }
}

}  // namespace

// Bytes arrive in pieces of sizes taken from the first byte; every body that comes out must be
// exactly what the prefix announced, and the stream must not be misread after a split.
int frame(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t piece = 1 + data[0] % 16;
  ByteView input(data + 1, size - 1);
  FrameDecoder decoder;
  Bytes reframed;
  bool failed = false;
  for (std::size_t pos = 0; pos < input.size() && !failed;) {
    std::size_t n = std::min(piece, input.size() - pos);
    decoder.feed(input.subspan(pos, n));
    pos += n;
    for (;;) {
      auto body = decoder.next();
      if (!body) {
        failed = true;
        break;
      }
      if (!*body) break;
      expect((*body)->size() <= kMaxFrameSize && !(*body)->empty(), "frame body of a forbidden size");
      Bytes f = make_frame(view(**body));
      reframed.insert(reframed.end(), f.begin(), f.end());
    }
  }
  if (!failed) {
    expect(reframed.size() + decoder.buffered() == input.size(), "frame decoder lost or invented bytes");
    expect(std::equal(reframed.begin(), reframed.end(), input.begin()), "re-framed bodies differ from the input");
  }
  return 0;
}

int request(const std::uint8_t* data, std::size_t size) {
  check_round_trip([](ByteView b) { return decode_request(b); },
                   [](const Request& r, EnvelopeForm f) { return encode_request(r, f); }, ByteView(data, size));
  return 0;
}

// Replies and events: everything the daemon sends.
int response(const std::uint8_t* data, std::size_t size) {
  check_round_trip([](ByteView b) { return decode_response(b); },
                   [](const Response& r, EnvelopeForm f) { return encode_response(r, f); }, ByteView(data, size));
  return 0;
}

// libkpthin's CBOR reader against the libcbor-based one it replaced (cbor_oracle.hpp): the same
// verdict, the same error message, the same tree.
int cbor(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  auto mine = cbor::decode(input);
  auto reference = decode_with_libcbor(input);
  expect(mine.ok() == reference.ok(), std::string("CBOR verdicts differ: ") +
                                          (mine.ok() ? "accepted, libcbor: " + reference.status().message()
                                                     : "refused (" + mine.status().message() + "), libcbor accepts"));
  if (!mine.ok()) {
    expect(mine.status().message() == reference.status().message(),
           "CBOR errors differ: " + mine.status().message() + " / libcbor: " + reference.status().message());
    return 0;
  }
  cbor::Writer a;
  a.value(*mine);
  cbor::Writer b;
  b.value(*reference);
  expect(a.data() == b.data(), "CBOR trees differ from libcbor's");
  return 0;
}

int pki(const std::uint8_t* data, std::size_t size) {
  auto document = parse_pki_document(ByteView(data, size));
  if (!document) return 0;
  auto all = document->all_services();
  for (const auto& service : all) {
    expect(!document->services(service.name).empty(), "a listed service is not found by its name");
  }
  return 0;
}

}  // namespace kpthin::fuzz
