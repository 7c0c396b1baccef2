// Encoding of every request and response (spec §3, §4): the envelope around the fields that
// codec_message_fields.hpp lists in Go's order with Go's omitempty rules, so that the kGoFull
// form is byte-identical to what the Go client and daemon send.
#include <variant>

#include "codec_field_writer.hpp"
#include "codec_message_fields.hpp"
#include "kpthin/codec.hpp"
#include "message_keys.hpp"

namespace kpthin {

namespace {

using detail::FieldWriter;

// A rough upper bound of the bulk bytes of a message, so the output buffer grows at most once
// for large payloads.
std::size_t bulk_size(const auto& m) {
  std::size_t n = 0;
  if constexpr (requires { m.payload.size(); }) n += m.payload.size();
  if constexpr (requires { m.payload->size(); }) n += m.payload ? m.payload->size() : 0;
  if constexpr (requires { m.plaintext->size(); }) n += m.plaintext ? m.plaintext->size() : 0;
  if constexpr (requires { m.message_ciphertext.size(); }) n += m.message_ciphertext.size();
  if constexpr (requires { m.buffer->size(); }) n += m.buffer ? m.buffer->size() : 0;
  if constexpr (requires { m.destinations; }) {
    for (const auto& d : m.destinations) n += d.payload.size() + 512;
  }
  if constexpr (requires { m.envelopes; }) {
    if (m.envelopes) {
      for (const auto& e : *m.envelopes) n += e.size() + 5;
    }
  }
  return n;
}

// framed: with the length prefix of a frame in front, in the same buffer.
template <class Variant, std::size_t N>
Bytes encode_envelope(const Variant& message, const std::array<const char*, N>& keys, EnvelopeForm form,
                      bool framed = false) {
  const std::size_t bulk = std::visit([](const auto& m) { return bulk_size(m); }, message);
  FieldWriter f(bulk + (form == EnvelopeForm::kGoFull ? 1536 : 512));
  if (framed) f.writer().begin_frame();
  const std::size_t chosen = message.index();
  auto write_chosen = [&] {
    f.begin_map();
    std::visit([&](const auto& m) { detail::fields(f, m); }, message);
    f.end_map();
  };
  if (form == EnvelopeForm::kMinimal) {
    f.writer().map(1);
    f.writer().text(keys[chosen]);
    write_chosen();
  } else {
    f.writer().map(N);
    for (std::size_t i = 0; i < N; ++i) {
      f.writer().text(keys[i]);
      if (i == chosen) write_chosen();
      else f.writer().null();
    }
  }
  return framed ? f.take_framed() : f.take();
}

}  // namespace

Bytes encode_request(const Request& request, EnvelopeForm form) {
  return encode_envelope(request, detail::kRequestKeys, form);
}

Bytes encode_request_frame(const Request& request, EnvelopeForm form) {
  return encode_envelope(request, detail::kRequestKeys, form, /*framed=*/true);
}

Bytes encode_response(const Response& response, EnvelopeForm form) {
  return encode_envelope(response, detail::kResponseKeys, form);
}

}  // namespace kpthin
